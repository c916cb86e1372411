"""The accumulator form loses no pending LTP, however long an input is silent.

A neuron clamped at -30 mV (above theta_plus: LTP all the time the presynaptic trace is non-zero)
gets two presynaptic spikes separated by a gap of 0.1, 1, 4, 10 or 60 s. Each spike's trace is
integrated to the end (the run goes on 0.5 s = 33 tau_x after the last spike, e^-33 ~ 5e-15), so
the exact result is twice the closed-form change per spike (Clopath et al. 2010; Artola et al. 1990 protocol):
dw = -A_LTD [u - theta_minus]+ + A_LTP [u - theta_plus]+ [u - theta_minus]+.
Before the fix the accumulator lost all pending LTP for gaps >= 4 s (G re-based by e^5 per
75 ms and clipped at 1e100). Tolerance: 1e-9 relative, event form and accumulator form alike.
"""

import numpy as np
import pytest
from brian2 import Network, mV, ms, second

from cortex_sim.devices import activate, run_network
from cortex_sim.inputs import scheduled_spikes
from cortex_sim.models import build_neuron_group, clamped_neuron
from cortex_sim.params import preset
from cortex_sim.plasticity.clopath import clopath_synapses, set_filtered_voltage
from cortex_sim.protocols.clamp import closed_form_dw

GAPS_S = (0.1, 1.0, 4.0, 10.0, 60.0)
U_CLAMP = -30.0  # mV


def _run(formulation):
    dt = 0.1 * ms
    rule = preset("clopath", "visual").with_(homeostasis="off", w_min=-1e3, w_max=1e3)
    activate("cpp")
    fast = formulation == "accumulator"
    post = build_neuron_group(clamped_neuron(-70.6 * mV), len(GAPS_S), name="sil_post", dt=dt,
                              plasticity=rule, accumulator=fast)
    post.u = U_CLAMP * mV
    if fast:  # the ring buffer starts at rest and has filled long before the first spike at 10 ms
        post.ubar_minus = post.ubar_plus = U_CLAMP * mV
    else:
        set_filtered_voltage(post, U_CLAMP * mV, 30)
    pre = scheduled_spikes([[0.01, 0.01 + g] for g in GAPS_S], name="sil_pre", dt=dt)
    syn = clopath_synapses(pre, post, rule, name="sil_syn", dt=dt, voltage="u", w0=0.0,
                           connect=(np.arange(len(GAPS_S)), np.arange(len(GAPS_S))), formulation=formulation)
    run_network(Network(post, pre, *syn.objects, name="sil_net"), (0.01 + max(GAPS_S) + 0.5) * second,
                device="cpp", project_name=f"silence_{formulation}")
    return syn.weights(), rule


@pytest.mark.standalone
@pytest.mark.parametrize("formulation", ["event", "accumulator"])
def test_two_spikes_after_silence_give_twice_the_closed_form(formulation):
    w, rule = _run(formulation)
    expected = 2 * float(closed_form_dw(rule, U_CLAMP))
    assert expected > 0.01                                  # LTP: the pending part is most of it
    np.testing.assert_allclose(w, expected, rtol=1e-9)      # for every gap, 0.1 s to 60 s
