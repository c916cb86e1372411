"""The accumulator form of the Clopath rule (synapses touched only at their own presynaptic
arrivals, per-neuron LTP accumulators, ring-buffer eps delay) equals the naive per-synapse
formulation: the tolerance is 1e-4 relative on the final weights; measured 2e-13 (float reordering).
Bound semantics: clipping at arrivals (see cortex_sim/plasticity/accumulator.py); the network
below stays inside the bounds, where both forms are the same rule."""

import numpy as np
import pytest
from brian2 import mV, ms, pA, second

from cortex_sim.devices import activate, run_network
from cortex_sim.networks import feedforward_clopath


def _run(formulation, device, duration):
    activate(device, codegen_target="numpy")
    ff = feedforward_clopath(40, 30, duration=duration, drive=np.linspace(550, 750, 40) * pA,
                             rule="visual", psp=1 * mV, delay=1 * ms, p_connect=0.6, seed=5,
                             formulation=formulation, name=f"acc_{formulation[:3]}")
    run_network(ff.net, duration, device=device, project_name=f"acc_test_{formulation}")
    return ff.weights(), np.bincount(np.asarray(ff.spikes.i[:]), minlength=40)


@pytest.mark.parametrize("device,duration", [("runtime", 0.4 * second),
                                             pytest.param("cpp", 2 * second, marks=pytest.mark.standalone)])
def test_accumulator_equals_naive(device, duration):
    """2 s in C++ crosses the re-basing of the reference time (every 5 tau_x = 75 ms) many times."""
    wa, na = _run("accumulator", device, duration)
    wn, nn = _run("naive", device, duration)
    assert np.array_equal(na, nn) and nn.sum() > 40
    assert np.abs(wn - 0.5).max() > 1e-3 and (wn > 0.5).any() and (wn < 0.5).any()
    np.testing.assert_allclose(wa, wn, rtol=1e-4)
    assert np.max(np.abs(wa - wn) / np.abs(wn)) < 1e-9      # what we actually reach


@pytest.mark.codegen_independent
def test_ring_buffer_delays_by_n_steps():
    from cortex_sim.plasticity.traces import ring_delay_function

    f = ring_delay_function("ring_test", 2, 3, init=-70.0)
    fn = f.pyfunc
    out = [fn(np.array([float(s), 10.0 * s]), 0, np.arange(2), s) for s in range(6)]
    # called at the end of step s, it returns the value of step s + 1 - 3 (init before the start)
    assert [o[0] for o in out] == [-70.0, -70.0, 0.0, 1.0, 2.0, 3.0]
    assert [o[1] for o in out] == [-70.0, -70.0, 0.0, 10.0, 20.0, 30.0]
