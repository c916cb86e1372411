"""Broadcast gate: M = 0 leaves weights unchanged; M = -1 reverses the sign of each update
of M = +1. Without PSPs (plasticity only) the neuron's voltage does not depend on the weights, so the
reversal must be exact up to the rounding of w0 +- dw (1e-9 relative); bounds are far away."""

import numpy as np
import pytest
from brian2 import Hz, Network, SpikeMonitor, ms, pA, second

from cortex_sim.devices import activate, run_network
from cortex_sim.errors import ParameterError
from cortex_sim.inputs import scheduled_spikes
from cortex_sim.models import adex_clopath, build_neuron_group
from cortex_sim.networks import poisson_times
from cortex_sim.params import preset
from cortex_sim.plasticity import Broadcast, clopath_synapses


def _dw(broadcast, gate=None, duration=0.5 * second):
    dt = 0.1 * ms
    rule = preset("clopath", "visual").with_(w_min=-100.0, w_max=100.0)
    activate("runtime", codegen_target="numpy")
    model = adex_clopath("nest", dt=dt)
    post = build_neuron_group(model, 3, name="bg_post", dt=dt, plasticity=rule)
    post.I_e = [650, 700, 800] * pA
    pre = scheduled_spikes(poisson_times(10, 20 * Hz, 0.5 * second, dt, 5), name="bg_pre", dt=dt)
    syn = clopath_synapses(pre, post, rule, name="bg_syn", dt=dt, voltage="u", w0=0.5,
                           broadcast=broadcast, gate=gate)
    sm = SpikeMonitor(post, name="bg_spikes")
    run_network(Network(post, pre, *syn.objects, sm, name="bg_net"), duration, device="runtime")
    assert sm.num_spikes > 0
    return np.asarray(syn.synapses.w[:]) - 0.5


def test_zero_gate_freezes_weights():
    assert np.all(_dw(Broadcast.constant(0.0)) == 0)


def test_minus_one_reverses_every_update():
    plus = _dw(Broadcast.constant(1.0))
    minus = _dw(Broadcast.constant(-1.0))
    assert np.abs(plus).max() > 1e-3
    np.testing.assert_allclose(minus, -plus, rtol=1e-9, atol=1e-14)


def test_second_gate_multiplies():
    half = _dw(Broadcast.constant(1.0), gate=Broadcast.constant(0.5))
    np.testing.assert_allclose(half, 0.5 * _dw(Broadcast.constant(1.0)), rtol=1e-9, atol=1e-14)


def test_schedule_switching_off_stops_learning():
    """M = +1 for 250 ms then 0: the result equals a 250 ms run with M = +1."""
    sched = Broadcast.from_events([0 * ms, 250 * ms], [1.0, 0.0])
    np.testing.assert_allclose(_dw(sched), _dw(Broadcast.constant(1.0), duration=0.25 * second),
                               rtol=1e-9, atol=1e-14)


@pytest.mark.codegen_independent
def test_broadcast_schedule_values_and_errors():
    b = Broadcast.from_events([0 * ms, 100 * ms, 250 * ms], [1, -1, 0])
    assert [b.value_at(t) for t in (0 * ms, 99.9 * ms, 100 * ms, 300 * ms)] == [1, 1, -1, 0]
    assert np.array_equal(b.sample(4, 100 * ms), [1, -1, -1, 0])
    with pytest.raises(ParameterError, match="values"):
        Broadcast([1.0, float("nan")], 1 * ms)
    with pytest.raises(ParameterError, match="times"):
        Broadcast.from_events([10 * ms, 5 * ms], [1, 0])
