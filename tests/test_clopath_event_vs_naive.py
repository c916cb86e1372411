"""Event-driven LTP (postsynaptic custom event, per-neuron traces) equals the naive per-synapse
continuous integration of the same rule (same discretisation): within 1e-4 relative on the
final weights of a 100-neuron network with Poisson input (same seed)."""

import numpy as np
import pytest
from brian2 import mV, ms, pA, second

from cortex_sim.devices import activate, run_network
from cortex_sim.networks import feedforward_clopath


def _run(formulation):
    activate("runtime", codegen_target="numpy")
    ff = feedforward_clopath(100, 50, duration=1 * second, drive=np.linspace(550, 750, 100) * pA,
                             rule="visual", psp=1 * mV, delay=1 * ms, p_connect=0.5, seed=7,
                             formulation=formulation)
    run_network(ff.net, 1 * second, device="runtime")
    return np.array(ff.synapses.w[:]), np.array(ff.synapses.i[:]), np.array(ff.synapses.j[:]), \
        np.bincount(np.asarray(ff.spikes.i[:]), minlength=100)


@pytest.mark.slow
def test_event_equals_naive():
    we, ie, je, ne = _run("event")
    wn, in_, jn, nn = _run("naive")
    assert np.array_equal(ie, in_) and np.array_equal(je, jn)
    assert np.array_equal(ne, nn)              # same spikes
    assert ne.sum() > 100                      # the network fires
    assert np.abs(we - 0.5).max() > 1e-3       # and the weights moved (both LTP and LTD)
    assert (we > 0.5).any() and (we < 0.5).any()
    rel = np.abs(we - wn) / np.abs(wn).clip(1e-12)
    assert rel.max() < 1e-4
