"""The NumPy kernel of the Clopath rule and its Brian2 binding agree on the same recorded traces.

Traces (u, delayed u_bar_minus / u_bar_plus, homeostatic A_LTD) are recorded from the Brian2 run
after the resets of every step; the kernel replays the rule on them. Tolerance 1e-9 relative
(float reordering only). Covers homeostasis, a non-trivial broadcast schedule and synaptic delay.
"""

import numpy as np
import pytest
from brian2 import SpikeMonitor, StateMonitor, mV, ms, pA, second

from cortex_sim.devices import activate, run_network
from cortex_sim.networks import feedforward_clopath
from cortex_sim.params import preset
from cortex_sim.plasticity import Broadcast, clopath_kernel


@pytest.mark.parametrize("homeostasis", ["off", "relative"])
def test_kernel_matches_binding(homeostasis):
    dt = 0.1 * ms
    duration = 0.6 * second
    rule = preset("clopath", "visual").with_(homeostasis=homeostasis)
    activate("runtime", codegen_target="numpy")
    ff = feedforward_clopath(4, 20, duration=duration, drive=np.array([600, 650, 700, 750]) * pA,
                             rule=rule, psp=1 * mV, delay=1 * ms, seed=3, p_connect=0.7)
    # replace the constant broadcast by a schedule: +1, then -1 after a "saccade", then 0.5
    sched = Broadcast.from_events([0 * ms, 200 * ms, 400 * ms], [1.0, -1.0, 0.5])
    ff.synapses.namespace["ff_syn_M"] = sched.timed_array()
    mon = StateMonitor(ff.post, ["u", "ubar_minus_eps", "ubar_plus_eps", "A_LTD_eff"], record=True,
                       when="after_resets", order=20, name="kmon")
    pre_mon = SpikeMonitor(ff.pre, name="kpre")
    ff.net.add(mon, pre_mon)
    run_network(ff.net, duration, device="runtime")
    n_steps = mon.u.shape[1]
    delay_steps = 10
    trains = pre_mon.spike_trains()
    arrivals = [np.round(np.asarray(trains[k] / dt)).astype(int) + delay_steps for k in range(20)]
    w = clopath_kernel(params=rule, dt=dt, w0=np.full(len(ff.synapses), 0.5),
                       pre_index=np.asarray(ff.synapses.i[:]), post_index=np.asarray(ff.synapses.j[:]),
                       arrival_steps=arrivals, u=np.asarray(mon.u[:]).T,
                       ubar_minus_eps=np.asarray(mon.ubar_minus_eps[:]).T,
                       ubar_plus_eps=np.asarray(mon.ubar_plus_eps[:]).T,
                       a_ltd=np.asarray(mon.A_LTD_eff[:]).T, modulation=sched.sample(n_steps, dt))
    wb = np.asarray(ff.synapses.w[:])
    assert ff.spikes.num_spikes > 10
    assert np.abs(wb - 0.5).max() > 1e-3
    np.testing.assert_allclose(w, wb, rtol=1e-9, atol=1e-12)
