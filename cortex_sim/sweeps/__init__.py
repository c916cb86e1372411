"""Sweeps and studies on Dask: the same command on a laptop (``LocalCluster``) and on a cluster
(an existing scheduler, SLURM or PBS through dask-jobqueue), a keyed result store that a re-run
resumes, and an ``xarray.Dataset`` of the results.

>>> from cortex_sim.sweeps import run_sweep
>>> res = run_sweep("pairing", {"apical_delay": [0, 5, 10]}, {"trial_interval_s": 1.0},
...                 cluster="local:2", store="cortex_sim_out/sweep/pairing")   # doctest: +SKIP
>>> res.dataset["paired_epsp_ratio"]   # doctest: +SKIP
"""

from . import jobs  # noqa: F401  (registers the jobs)
from .cluster import CLUSTER_KINDS, close_cluster, make_client, make_cluster, parse_cluster_options  # noqa: F401
from .engine import JOBS, Job, Param, SweepResult, protocol_job, run_sweep, to_dataset  # noqa: F401
from .store import point_key, read_store  # noqa: F401
from .pairing import sweep_pairing

__all__ = ["run_sweep", "protocol_job", "SweepResult", "Job", "Param", "make_client", "make_cluster",
           "close_cluster", "read_store", "to_dataset", "sweep_pairing"]
