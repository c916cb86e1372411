"""
A 2-D sweep as a heat map
=========================

The pairing experiment compiled once and re-run for every apical delay and amplitude of a grid
(Brian2's ``run_args``, no recompile), here in this process (``cluster='serial'``; ``'local:N'``
runs it on N Dask workers, ``'slurm'`` on a cluster). The result is an ``xarray.Dataset``.
"""

import matplotlib.pyplot as plt
from brian2 import second

from cortex_sim import PairingConfig, sweep_pairing

cfg = PairingConfig(trial_interval=1 * second, test_interval=0.5 * second, window_delays=(), pairing_counts=())
rows, info = sweep_pairing({"apical_delay": [0.0, 5.0, 10.0], "apical_amp": [0.8, 1.0, 1.2]}, cfg,
                           cluster="serial")
ratio = info["dataset"]["paired_epsp_ratio"]
print(ratio.round(3).to_pandas() if hasattr(ratio, "to_pandas") else ratio.values)
fig, ax = plt.subplots(figsize=(5, 4))
ratio.plot(ax=ax, x="apical_delay", y="apical_amp", cmap="viridis")
ax.set_title("paired EPSP ratio")
