"""Ready-made plastic networks shared by tests, benchmarks and the CLI.

:func:`feedforward_clopath` builds N AdEx-Clopath neurons, each receiving all K presynaptic
Poisson trains through plastic Clopath synapses (delta synapses), plus a constant drive. The
Poisson trains are drawn in NumPy from ``seed`` and fed as scheduled spikes, so every device and
both formulations see exactly the same input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from brian2 import Equations, Hz, Network, SpikeMonitor, mV, ms, pA, second

from .errors import ParameterError, check_int, check_quantity
from .inputs import scheduled_spikes
from .models import adex_clopath, build_neuron_group
from .params import check_dt, preset
from .plasticity.accumulator import accumulator_synapses
from .plasticity.clopath import clopath_synapses

__all__ = ["feedforward_clopath", "FeedforwardNet"]


def poisson_times(n, rate, duration, dt, seed):
    """Spike times (s) of ``n`` Poisson trains on the ``dt`` grid (at most one spike per step)."""
    rng = np.random.default_rng(seed)
    n_steps = int(round(float(duration / dt)))
    p = float(rate * dt)
    if p > 1:
        raise ParameterError(f"rate: got {rate!s}; allowed: at most 1/dt")
    out = []
    for _ in range(n):
        steps = np.nonzero(rng.random(n_steps) < p)[0]
        out.append(steps * float(dt))
    return out


@dataclass
class FeedforwardNet:
    net: Network
    post: object
    pre: object
    synapses: object
    spikes: SpikeMonitor | None
    n_pre: int
    projection: object = None

    def spike_count(self) -> int:
        """Postsynaptic spikes of the run (from the monitor, or the per-neuron counter without one)."""
        if self.spikes is not None:
            return int(self.spikes.num_spikes)
        return int(np.sum(self.post.n_spikes[:]))

    def weights(self):
        """Final weights (the accumulator form applies its pending LTP)."""
        if hasattr(self.projection, "weights"):
            return self.projection.weights()
        return np.asarray(self.synapses.w[:])


def feedforward_clopath(n_post=100, n_pre=50, *, rate=10 * Hz, duration=1 * second, drive=500 * pA,
                        w0=0.5, psp=1 * mV, delay=1 * ms, dt=0.1 * ms, seed=1,
                        formulation="event", neuron="nest", rule="nest", p_connect=1.0, name="ff",
                        delay_impl=None, method="rk4_exact", precision="double", record_spikes=True):
    """N AdEx-Clopath neurons x K plastic Poisson inputs (all-to-all), built on the active device.

    Parameters
    ----------
    drive : Quantity, scalar or (n_post,)
        Constant current into each neuron (sets the postsynaptic rate).
    p_connect : float
        Connection probability (drawn in NumPy from ``seed``); 1 = all-to-all.
    psp : Quantity
        Voltage jump per unit weight (NEST's delta synapse: weight in mV).
    neuron, rule : str
        AdEx and Clopath presets ('nest' mirrors NEST 3.10 defaults).
    method, precision : str
        Integration method and precision of the neurons (:func:`cortex_sim.models.adex_clopath`).
    record_spikes : bool
        A SpikeMonitor on the neurons (False: a spike counter per neuron in the reset, one code
        object less per step, for benchmarks).
    """
    check_int("n_post", n_post, low=1)
    check_int("n_pre", n_pre, low=1)
    check_quantity("rate", rate, Hz, nonnegative=True)
    check_quantity("drive", drive if np.ndim(drive) == 0 else drive[0], pA)
    if not 0 < p_connect <= 1:
        raise ParameterError(f"p_connect: got {p_connect}; allowed: 0 < p_connect <= 1")
    params = preset("clopath", rule) if isinstance(rule, str) else rule
    model = adex_clopath(neuron, dt=dt, method=method, precision=precision)
    if not record_spikes:
        model = replace(model, equations=model.equations + Equations("n_spikes : 1  # spikes of the run"),
                        reset=model.reset + "\nn_spikes += 1")
    check_dt(dt, model.params, params)
    fast = formulation == "accumulator"
    post = build_neuron_group(model, n_post, name=f"{name}_post", dt=dt, plasticity=params,
                              accumulator=fast, delay_impl=delay_impl)
    post.I_e = drive
    pre = scheduled_spikes(poisson_times(n_pre, rate, duration, dt, seed), name=f"{name}_pre", dt=dt)
    connect = "all"
    if p_connect < 1:
        mask = np.random.default_rng(seed + 1).random((n_pre, n_post)) < p_connect
        connect = tuple(np.nonzero(mask))
    make = accumulator_synapses if fast else partial(clopath_synapses, formulation=formulation)
    syn = make(pre, post, params, name=f"{name}_syn", dt=dt, voltage=model.voltage,
               input_gate=model.input_gate, psp_scale=psp, w0=w0, delay=delay, connect=connect)
    sm = SpikeMonitor(post, name=f"{name}_spikes") if record_spikes else None
    net = Network(post, pre, *syn.objects, name=f"{name}_network")
    if sm is not None:
        net.add(sm)
    return FeedforwardNet(net, post, pre, syn.synapses, sm, n_pre, syn)
