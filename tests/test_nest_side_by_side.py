"""cortex_sim vs NEST 3.10 on the same spike-pairing protocol, weight after every group.

NEST: aeif_psc_delta_clopath + clopath_synapse (V_th_max = -30.4 mV), pre spikes via
spike_generator -> parrot_neuron, post spikes forced by a step_current_generator. cortex_sim: the
'nest' AdEx and Clopath presets (the latter integrates LTP with x_bar dt, NEST's convention), the
same step-exact 1 ms pulses. Agreement measured 2026-11-30: post spike times identical (up to NEST's
end-of-step time stamp, 0.1 ms); residual of the weight after every one of the 15 groups, as a
fraction of NEST's weight change (and absolute, w0 = 0.5):
- 20 Hz, +10 ms: 0.38 after group 1 (abs 0.0004, a change of 0.001) falling to 0.057 after group 15;
- 20 Hz, -10 ms: 0.0046 after every group;  50 Hz, -10 ms: 0.054;  10 Hz, +10 ms: 0.032.
(Before the LTP convention and the step-exact pulse: 0.39 -> 0.068, 0.0047, 0.067, 0.039.)
What remains: RK4 at 0.1 ms vs NEST's adaptive RKF45, and the PSP arriving 0.2 ms later in NEST
(its synaptic delay is dendritic for the rule; see cortex_sim/protocols/nest_reference.py).
Tolerance: 6 % of the change + 5e-4. The integrator rk4_exact (the default since 2026-12-07) and
mixed precision give the same residuals to three digits (largest |dw|/tolerance 0.826 for each;
rk2 1.26 and euler 1.55 fail it: benchmarks/RESULTS.md).
"""

import numpy as np
import pytest
from brian2 import mV, ms, nA

nest = pytest.importorskip("nest")

from cortex_sim.protocols.frequency import measure_latency, run_spike_pairs  # noqa: E402
from cortex_sim.protocols.nest_reference import nest_spike_pairs  # noqa: E402

CONDITIONS = [(20.0, 10.0), (20.0, -10.0), (50.0, -10.0), (10.0, 10.0)]


@pytest.mark.nest
@pytest.mark.standalone
@pytest.mark.slow
@pytest.mark.parametrize("precision", ["double", "mixed"])
def test_weights_after_every_group_match_nest(precision):
    n_groups = 15
    res = run_spike_pairs(CONDITIONS, n_groups=n_groups, neuron="nest", rule="nest", psp=1 * mV,
                          w0=0.5, record_weights=True, precision=precision)
    lat = float(measure_latency("nest", 15 * nA, 1 * ms, 0.1 * ms, precision=precision))
    for k, (rate, dtm) in enumerate(CONDITIONS):
        readout = res.group_ends_s[k] + 0.05
        w_ours = res.w_trace[k, np.searchsorted(res.w_t_s, readout)]
        period = 1.0 / rate
        starts = 0.5 + np.arange(n_groups) * (5 * period + 10.0)
        pairs = (starts[:, None] + period * np.arange(5)[None, :]).ravel()
        t_pre = pairs + max(0.0, -dtm) * 1e-3
        w_nest, post = nest_spike_pairs(t_pre, t_pre + dtm * 1e-3 - lat, pulse_amp_pA=15000.0,
                                        pulse_dur_ms=1.0, w0=0.5, readout_s=readout)
        ours_post = res.spike_times_s[k]
        assert len(post) == len(ours_post) == 5 * n_groups
        assert np.abs(post - ours_post - 1e-4).max() < 1e-9 + 1e-4   # same step (NEST stamps the end)
        tol = 0.06 * np.abs(w_nest - 0.5) + 5e-4
        assert np.all(np.abs(w_ours - w_nest) <= tol), (rate, dtm, w_ours - w_nest)
        assert abs(w_nest[-1] - 0.5) > 0.001                           # the comparison is not vacuous
