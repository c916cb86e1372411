"""
BAC firing
==========

A somatic pulse alone gives one spike, an apical pulse alone none, and the two together a burst
riding on a dendritic plateau (Larkum et al. 1999), in the two-compartment neuron of Naud &
Sprekeler (2018). Runs on Brian2's runtime device in a few seconds.
"""

from cortex_sim import run_bac
from cortex_sim.plotting import plot_bac

res = run_bac()                     # soma 1.9 nA for 5 ms, apical 1 nA, simultaneous
for condition, row in res.to_dict().items():
    print(f"{condition:12s} {row['n_spikes']} spikes, plateau {row['plateau_ms']:.1f} ms")
fig = plot_bac(res)
