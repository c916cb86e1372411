"""The forcing pulse of the spike-pair protocols switches at step boundaries, so it
delivers its whole charge pulse_amp * pulse_dur at any dt. Before, it was evaluated inside the RK4
sub-steps: a '1 ms' pulse delivered 0.883 ms of current at dt = 0.1 ms and none at dt = 1 ms.

A charge integrator (dq/dt = I_pulse) driven by the same pulse mechanism must hold exactly
15 nA x 1 ms per pulse (1e-12 relative) at dt = 1, 0.1 and 0.05 ms.
"""

import numpy as np
import pytest
from brian2 import Equations, Network, ms, nA, second

from cortex_sim.devices import activate, run_network
from cortex_sim.errors import ParameterError
from cortex_sim.models import NeuronModel
from cortex_sim.protocols.frequency import _forced_neurons, run_spike_pairs


@pytest.mark.parametrize("dt_ms", [1.0, 0.1, 0.05])
def test_pulse_delivers_full_charge(dt_ms):
    dt = dt_ms * ms
    activate("runtime", codegen_target="numpy")
    integrator = NeuronModel(name="charge", equations=Equations("dq/dt = I_pulse/amp : second  # charge"),
                             voltage="q", rest=0 * second, method="rk4")
    G, drv, kick = _forced_neurons(integrator, [[0.005], [0.005, 0.012]], dt, 15 * nA, 1 * ms)
    run_network(Network(G, drv, kick, name="q_net"), 20 * ms, device="runtime")
    # q in seconds: the integral of I_pulse/amp, i.e. 15e-9 x 1e-3 per pulse (one and two pulses)
    np.testing.assert_allclose(np.asarray(G.q[:]), [15e-9 * 1e-3, 2 * 15e-9 * 1e-3], rtol=1e-12)


@pytest.mark.codegen_independent
def test_pulse_must_be_whole_steps():
    with pytest.raises(ParameterError, match="pulse_dur"):
        run_spike_pairs([(20.0, 10.0)], pulse_dur=0.25 * ms, dt=0.1 * ms)
