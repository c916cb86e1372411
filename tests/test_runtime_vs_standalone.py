"""Runtime and C++ standalone agree on a deterministic protocol (generated spike times, no random
numbers): identical spike counts, weights within 1e-6 relative. Also: the project cache
does not recompile an unchanged model."""

import numpy as np
import pytest
from brian2 import mV, ms, pA, second

from cortex_sim.devices import activate, run_network
from cortex_sim.networks import feedforward_clopath


def _run(device):
    activate(device, codegen_target="numpy")
    ff = feedforward_clopath(20, 30, duration=0.5 * second, drive=np.linspace(550, 750, 20) * pA,
                             rule="visual", psp=1 * mV, delay=1 * ms, seed=11, p_connect=0.8, name="rvs")
    info = run_network(ff.net, 0.5 * second, device=device, project_name="rvs")
    return (np.asarray(ff.synapses.w[:]), np.bincount(np.asarray(ff.spikes.i[:]), minlength=20), info)


@pytest.mark.standalone
def test_runtime_equals_cpp_and_cache_reuse():
    wr, nr, _ = _run("runtime")
    wc, nc, info1 = _run("cpp")
    assert nr.sum() > 20
    assert np.array_equal(nr, nc)
    np.testing.assert_allclose(wc, wr, rtol=1e-6)
    assert np.abs(wr - 0.5).max() > 1e-3
    # second run of the unchanged model: same project folder, no recompilation
    wc2, nc2, info2 = _run("cpp")
    assert info2.project_dir == info1.project_dir
    assert info2.compiled is False
    assert np.array_equal(wc2, wc) and np.array_equal(nc2, nc)
