"""
The pairing experiment
======================

The Grewe-lab pairing experiment, shortened (trials every second instead of every 10 s, no
window or count conditions): a spike alone leaves the basal pathway unchanged, the same spike
paired with apical input becomes a burst and potentiates it. Runs as a cached C++ project (the
first run compiles it, about 20 s on two cores).
"""

from brian2 import second

from cortex_sim import PairingConfig, run_pairing
from cortex_sim.plotting import plot_pairing

cfg = PairingConfig(trial_interval=1 * second, test_interval=0.5 * second, window_delays=(), pairing_counts=())
res = run_pairing(cfg)
for name, c in res.conditions.items():
    print(f"{name:17s} EPSP after / before = {c['epsp_ratio']:.3f}")
fig = plot_pairing(res)
