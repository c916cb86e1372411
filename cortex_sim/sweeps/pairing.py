"""The pairing experiment swept over its run-time parameters: :func:`sweep_pairing`, the pairing
job of :func:`cortex_sim.sweeps.run_sweep` with the API of earlier versions (here, not in
:mod:`cortex_sim.protocols.pairing`, so that no protocol imports the sweep engine)."""

from __future__ import annotations

import os

from ..errors import JobFailedError, ParameterError, check_choice, check_int
from ..params import ClopathParams
from ..protocols.pairing import SWEEPABLE, PairingConfig
from .engine import run_sweep
from .store import read_store

__all__ = ["sweep_pairing"]


def sweep_pairing(grid: dict, config: PairingConfig | None = None, *, neuron="naud2018",
                  rule: ClopathParams | str = "visual", device: str = "cpp", processes: int = 2,
                  report=None, store=None, formulation: str = "event", force: bool = False,
                  client=None, cluster: str | None = None):
    """Compile the pairing experiment once per host and re-run it for every point of ``grid``.

    The pairing job of the sweep engine (:func:`cortex_sim.sweeps.run_sweep`), kept as the API of
    earlier versions: points run on Dask workers, each re-running the cached binary with Brian2's
    ``run_args`` in a run folder of its own.

    Parameters
    ----------
    grid : dict
        ``{name: [values, ...]}`` with names from :data:`SWEEPABLE` (values in ms / nA); the sweep
        runs the Cartesian product.
    processes : int
        Worker processes of the local cluster (``cluster='local:<processes>'``).
    store : path or None
        Result store folder: each finished point is written as it ends, and points already in it
        are not run again (an interrupted sweep resumes; each point is deterministic, so the rows
        are identical to an uninterrupted sweep). A store of another model (configuration, dt,
        neuron, rule, formulation, package version) is a ParameterError naming the differences.
    force : bool
        Discard the store's records and run every point.
    client, cluster
        A ``dask.distributed.Client`` to run on, or a cluster spec ('local:N', 'tcp://...',
        'slurm', 'pbs', 'serial'); see :mod:`cortex_sim.sweeps.cluster`.

    Returns
    -------
    rows : list of dict
        One tidy row per point: the parameters, the four epsp ratios, spikes per paired trial
        and the run's simulation time.
    info : dict
        ``ran``, ``skipped``, ``failed``, ``total_s``, ``run_s`` of each point (NaN where the
        record came from the store), ``dataset`` (xarray) and ``result`` (SweepResult).
    """
    check_choice("device", device, ("cpp",))
    check_int("processes", processes, low=1)
    if not grid:
        raise ParameterError("grid: got no parameters; allowed: " + ", ".join(SWEEPABLE))
    for name in grid:
        check_choice("sweep parameter", name, SWEEPABLE)
    options = {"config": config or PairingConfig(window_delays=(), pairing_counts=()), "neuron": neuron,
               "rule": rule, "formulation": formulation}
    before = set()
    if store is not None and not force:
        if os.path.isdir(os.path.join(store, "points")):
            before = set(read_store(store))
    res = run_sweep("pairing", grid, options, client=client, cluster=cluster or f"local:{processes}", store=store,
                    force=force, report=report, figure=store is not None)
    if res.errors:
        first = next(iter(res.errors.values()))
        raise JobFailedError(f"sweep_pairing: {len(res.errors)} of {res.points} points failed; the first: {first}")
    rows = [{**pt, **{k: v for k, v in rec.items() if k != "run_s"}} for pt, rec in zip(res.point_list, res.records)]
    run_s = [float("nan") if key in before or rec is None else rec.get("run_s", float("nan"))
             for key, rec in zip(res.keys, res.records)]
    return rows, {"ran": res.ran, "skipped": res.skipped, "failed": res.failed, "total_s": res.wall_s,
                  "run_s": run_s, "dataset": res.dataset, "result": res}
