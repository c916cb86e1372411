"""
Voltage clamp against the closed form
=====================================

Neurons clamped at voltages from -80 to 0 mV each receive one presynaptic spike; the weight change
of the Clopath rule is measured in one simulation and compared with the closed form of the rule
(LTD above theta_minus, LTP above theta_plus as well).
"""

import numpy as np

from cortex_sim import run_clamp
from cortex_sim.plotting import plot_clamp
from cortex_sim.protocols.clamp import closed_form_dw

res = run_clamp("visual", n_points=21)
expected = closed_form_dw(res.params, res.u_clamp_mV)
print(f"largest difference from the closed form: {np.max(np.abs(res.dw_per_spike - expected)):.1e}")
fig = plot_clamp([res])
