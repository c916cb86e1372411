"""
The STDP window
===============

Pre/post spike pairs at 20 Hz on the AdEx neuron with the Clopath rule: pre-before-post
potentiates, post-before-pre depresses (Sjöström et al. 2001). Every timing runs side by side in
one C++ simulation; three groups of five pairings keep it short.
"""

from cortex_sim import run_window
from cortex_sim.plotting import plot_window

res = run_window(delta_ts=(-10, -5, 5, 10), rate=20.0, n_groups=3)
for row in res.rows:
    print(f"delta t = {row['delta_t_ms']:+5.1f} ms: w / w0 = {row['w_ratio']:.3f}")
fig = plot_window(res)
