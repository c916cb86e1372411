"""Voltage clamp: simulated dw per presynaptic spike equals the closed form (Artola 1990 protocol).

Closed form (Clopath et al. 2010, Fig. 1; Artola et al. 1990 protocol): dw = -A_LTD [u-theta_minus]+ + A_LTP [u-theta_plus]+ [u-theta_minus]+.
Tolerance 1e-6 relative; where the closed form is 0 the simulated change must be < 1e-12.
"""

import numpy as np
import pytest
from brian2 import mV

from cortex_sim.params import preset
from cortex_sim.protocols.clamp import closed_form_dw, run_clamp


@pytest.mark.parametrize("method", ["euler", "rk4", "rk4_exact"])
@pytest.mark.parametrize("name", ["visual", "somatosensory", "hippocampal"])
def test_clamp_matches_closed_form(name, method):
    res = run_clamp(name, n_points=41, method=method)
    cf = closed_form_dw(res.params, res.u_clamp_mV)
    zero = cf == 0
    assert np.all(np.abs(res.dw_per_spike[zero]) < 1e-12)
    rel = np.abs(res.dw_per_spike[~zero] - cf[~zero]) / np.abs(cf[~zero])
    assert rel.max() < 1e-6
    # the three regimes are all present: no change, LTD, LTP
    assert (res.dw_per_spike < 0).any() and (res.dw_per_spike > 0).any() and zero.any()


@pytest.mark.parametrize("name,crossing_mV", [("visual", -43.55), ("hippocampal", -19.0)])
def test_ltp_threshold_voltage(name, crossing_mV):
    """LTD turns into LTP at theta_plus + A_LTD/A_LTP (Clopath et al. 2010 parameters: -43.55 mV visual, -19 mV hippocampal)."""
    p = preset("clopath", name)
    assert float(p.ltp_threshold_voltage / mV) == pytest.approx(crossing_mV, abs=1e-9)
    res = run_clamp(name, u_min=(crossing_mV - 1) * mV, u_max=(crossing_mV + 1) * mV, n_points=3)
    assert res.dw_per_spike[0] < 0 and abs(res.dw_per_spike[1]) < 1e-12 and res.dw_per_spike[2] > 0
