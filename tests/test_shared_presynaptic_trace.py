"""One presynaptic trace per source group: two plastic projections from one group give
each synapse exactly the closed-form change of one spike, as one projection does.

Before the fix each projection added its own trace updater, so x_bar grew by 2/tau_x per spike and
LTP doubled (measured 0.0937 instead of 0.0440 at -30 mV). Protocol: neurons clamped at -30 mV,
one presynaptic spike at 10 ms, 30 tau_x of LTP afterwards; closed form as in
test_clopath_voltage_clamp_closed_form.py; tolerance 1e-9 relative (the trace integral is exact).
"""

import numpy as np
import pytest
from brian2 import Network, mV, ms

from cortex_sim.devices import activate, run_network
from cortex_sim.errors import ParameterError
from cortex_sim.inputs import scheduled_spikes
from cortex_sim.models import build_neuron_group, clamped_neuron
from cortex_sim.params import preset
from cortex_sim.plasticity import Broadcast
from cortex_sim.plasticity.clopath import clopath_synapses, set_filtered_voltage
from cortex_sim.protocols.clamp import closed_form_dw

DT = 0.1 * ms
RULE = preset("clopath", "visual").with_(homeostasis="off", w_min=-1e3, w_max=1e3)


def _clamped(name, n, fast):
    post = build_neuron_group(clamped_neuron(-70.6 * mV), n, name=name, dt=DT, plasticity=RULE, accumulator=fast)
    post.u = -30 * mV
    if fast:
        post.ubar_minus = post.ubar_plus = -30 * mV
    else:
        set_filtered_voltage(post, -30 * mV, 30)
    return post


@pytest.mark.parametrize("formulation", ["event", "accumulator"])
def test_two_projections_from_one_source_each_get_the_closed_form(formulation):
    activate("runtime", codegen_target="numpy")
    fast = formulation == "accumulator"
    a, b = _clamped("tr_a", 2, fast), _clamped("tr_b", 1, fast)
    pre = scheduled_spikes([[0.01], [0.01]], name="tr_pre", dt=DT)
    # pre -> a (one-to-one), pre -> b (all-to-one), and a second projection pre -> a (same target)
    p1 = clopath_synapses(pre, a, RULE, name="tr_s1", dt=DT, voltage="u", w0=0.0, connect=([0, 1], [0, 1]),
                          formulation=formulation)
    p2 = clopath_synapses(pre, b, RULE, name="tr_s2", dt=DT, voltage="u", w0=0.0, formulation=formulation)
    p3 = clopath_synapses(pre, a, RULE, name="tr_s3", dt=DT, voltage="u", w0=0.0, connect=([1], [0]),
                          formulation=formulation)
    assert p1.objects[1] is p2.objects[1] is p3.objects[1]      # one trace updater for the source
    net = Network(a, b, pre, *p1.objects, *p2.objects, *p3.objects, name="tr_net")
    run_network(net, 10 * ms + 30 * RULE.tau_x, device="runtime")
    expected = float(closed_form_dw(RULE, -30.0))
    for p in (p1, p2, p3):
        np.testing.assert_allclose(p.weights(), expected, rtol=1e-9)


@pytest.mark.codegen_independent
def test_second_projection_with_other_tau_x_or_delay_is_refused():
    activate("runtime", codegen_target="numpy")
    post = _clamped("tr_c", 1, False)
    pre = scheduled_spikes([[0.01]], name="tr_pre2", dt=DT)
    clopath_synapses(pre, post, RULE, name="tr_s4", dt=DT, voltage="u")
    with pytest.raises(ParameterError, match="tau_x"):
        clopath_synapses(pre, post, RULE.with_(tau_x=30 * ms), name="tr_s5", dt=DT, voltage="u")
    with pytest.raises(ParameterError, match="delay"):
        clopath_synapses(pre, post, RULE, name="tr_s6", dt=DT, voltage="u", delay=1 * ms)


@pytest.mark.codegen_independent
def test_accumulator_target_refuses_a_second_gate():
    activate("runtime", codegen_target="numpy")
    post = _clamped("tr_d", 1, True)
    pre = scheduled_spikes([[0.01]], name="tr_pre3", dt=DT)
    clopath_synapses(pre, post, RULE, name="tr_s7", dt=DT, voltage="u", formulation="accumulator")
    with pytest.raises(ParameterError, match="accumulator"):
        clopath_synapses(pre, post, RULE, name="tr_s8", dt=DT, voltage="u", formulation="accumulator",
                         broadcast=Broadcast.constant(-1.0))
