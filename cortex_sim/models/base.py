"""A neuron model description and the one place where it becomes a Brian2 ``NeuronGroup``.

A :class:`NeuronModel` is pure data (equations, threshold, reset, events, namespace, initial
values). :func:`build_neuron_group` adds, on request, the postsynaptic Clopath traces
(:func:`cortex_sim.plasticity.clopath.post_trace_spec`) and the per-neuron presynaptic trace, so
that the same model serves as a plain neuron, a plastic target and a plastic source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from brian2 import Equations, NeuronGroup, ms
from brian2.units.fundamentalunits import Quantity

from ..devices import shared_clock
from ..errors import ParameterError, check_int

__all__ = ["NeuronModel", "build_neuron_group"]

#: Per-neuron presynaptic trace (one per neuron, not per synapse), decaying with tau_xbar, which
#: the Clopath projection sets from its tau_x; incremented by 1/tau_x at each spike arrival.
PRESYNAPTIC_TRACE_EQS = """
dxbar/dt = -xbar/tau_xbar : hertz  # presynaptic trace x_bar (per neuron)
tau_xbar : second (constant)       # its time constant (set from ClopathParams.tau_x)
"""


def substitute(eqs: Equations, **names) -> Equations:
    """``Equations.substitute`` that raises on names the equations do not contain.

    Brian2 silently ignores unknown names, which hides typos.
    """
    known = set(eqs.names) | set(eqs.identifiers)
    unknown = sorted(set(names) - known)
    if unknown:
        raise ParameterError(
            f"substitute: got unknown name(s) {unknown}; allowed: names used in the equations "
            f"({', '.join(sorted(known))})")
    return eqs.substitute(**names)


@dataclass
class NeuronModel:
    """Everything needed to build a group of neurons of one kind.

    Attributes
    ----------
    equations : Equations
        Model equations with units and a comment per line.
    voltage : str
        Name of the membrane potential that plasticity and synaptic input act on.
    rest : Quantity
        Resting potential, the reference for 'relative' homeostasis.
    input_gate : str
        Expression multiplying synaptic input on ``voltage`` (0 during the spike clamp).
    """

    name: str
    equations: Equations
    voltage: str
    rest: Quantity
    threshold: str | None = None
    reset: str | None = None
    refractory: object = False
    events: dict = field(default_factory=dict)
    event_code: dict = field(default_factory=dict)
    namespace: dict = field(default_factory=dict)
    init: dict = field(default_factory=dict)
    method: str = "rk4"
    input_gate: str = "1"
    params: object = None
    filtered_voltage: str | None = None  # voltage seen by the u_bar filters (default: voltage)
    spike_gate: str | None = None  # ANDed with the threshold (e.g. no spike while clamped)


def spike_clamp_spec(voltage, v_clamp_name, v_reset_name, t_clamp, dt, extra_reset="", extra_unclamp=""):
    """Threshold-free part of a 'clamp the spike, then reset' mechanism shared by the models.

    At a spike the voltage is set to ``v_clamp`` and held for ``t_clamp``; at the last clamped
    step an ``unclamp`` event sets it to ``v_reset``. This is NEST's ``aeif_psc_delta_clopath``
    schedule: the voltage reads V_clamp at the end of the spike step and the following
    t_clamp/dt - 1 steps, and V_reset one step later.

    The model's equations hold ``clamped : 1`` and ``t_spike : second`` and multiply the
    derivatives frozen during the clamp by ``(1 - clamped)``; the returned ``gate`` is its
    ``spike_gate`` (ANDed with the threshold by :func:`build_neuron_group`). Brian2's
    refractoriness would do the same, but it adds a ``char`` ``not_refractory`` and a float ->
    int64 conversion to the state update, and with them GCC does not vectorise the neuron loop
    (AVX2 has no vector instruction for the conversion, and a char among doubles makes it process
    32 neurons at once, spilling its registers): measured on ``bench clopath``, the AdEx state
    update takes 0.70 s with them and 0.29 s without (benchmarks/RESULTS.md).

    ``extra_reset`` runs at the spike (threshold), ``extra_unclamp`` when the clamp ends.

    Returns
    -------
    reset : str, gate : str, events : dict, event_code : dict
    """
    n_clamp = int(round(float(t_clamp / dt)))
    gate = "clamped < 0.5"
    if n_clamp == 0:
        return f"{voltage} = {v_reset_name}\nt_spike = t\n{extra_reset}\n{extra_unclamp}", gate, {}, {}
    reset = f"{voltage} = {v_clamp_name}\nclamped = 1\nt_spike = t\n{extra_reset}"
    # n_clamp steps after the spike (half a step of margin; a float compare, no int64 conversion)
    events = {"unclamp": f"clamped > 0.5 and t - t_spike > {n_clamp - 0.5}*dt"}
    code = {"unclamp": f"{voltage} = {v_reset_name}\nclamped = 0\n{extra_unclamp}"}
    return reset, gate, events, code


def build_neuron_group(model: NeuronModel, N: int, *, name: str, dt, plasticity=None,
                       presynaptic_trace: bool = False, extra_equations: str = "",
                       namespace: dict | None = None, accumulator: bool = False,
                       delay_impl: str | None = None) -> NeuronGroup:
    """Create a ``NeuronGroup`` of ``N`` neurons of ``model``.

    Parameters
    ----------
    plasticity : ClopathParams or None
        If given, the group gets the postsynaptic Clopath traces (u_bar_minus, u_bar_plus, their
        eps-delayed copies, u_bar_bar) and the custom event ``ltp`` (u > theta_plus and delayed
        u_bar_plus > theta_minus), checked after the resets so that it sees the clamped spike.
    presynaptic_trace : bool
        If True, the group also carries the per-neuron presynaptic trace (it can be a plastic source).
    accumulator : bool
        If True (with ``plasticity``), the group carries the LTP accumulator of the fast form
        (:mod:`cortex_sim.plasticity.accumulator`) and reads the delayed u_bars from a ring buffer.
    delay_impl : {'register', 'ring'} or None
        How the eps delay of the u_bars is implemented; default 'ring' with ``accumulator``
        (C++ and NumPy targets), else 'register' (every target, CUDA included).
    extra_equations : str
        Additional equations, e.g. an injected current ``I_stim = ... : amp``.
    """
    from ..plasticity.clopath import post_trace_spec

    check_int("N", N, low=1)
    eqs = model.equations
    events = dict(model.events)
    ns = dict(model.namespace)
    ns.update(namespace or {})
    init = dict(model.init)
    register_code = None
    if plasticity is not None:
        spec = post_trace_spec(plasticity, model.voltage, model.rest, dt,
                               filtered_voltage=model.filtered_voltage,
                               delay_impl=delay_impl or ("ring" if accumulator else "register"),
                               n_neurons=N,
                               group_name=name)
        eqs = eqs + Equations(spec.equations)
        if accumulator:
            eqs = eqs + Equations("P_ltp : second  # LTP accumulator (accumulator form)")
        else:  # the accumulator form integrates LTP every step and needs no event
            events["ltp"] = spec.ltp_condition
        ns.update(spec.namespace)
        init.update(spec.init)
        register_code = spec.register_code
    if presynaptic_trace:
        eqs = eqs + Equations(PRESYNAPTIC_TRACE_EQS)
        init.update(tau_xbar=15 * ms)
    if extra_equations:
        eqs = eqs + Equations(extra_equations)
    threshold = model.threshold
    if threshold is not None and model.spike_gate:
        threshold = f"({threshold}) and ({model.spike_gate})"
    kwargs = dict(threshold=threshold, reset=model.reset, method=model.method,
                  namespace=ns, name=name, events=events or None, clock=shared_clock(dt))
    if model.refractory is not False:
        kwargs["refractory"] = model.refractory
    group = NeuronGroup(N, eqs, **kwargs)
    for ev, code in model.event_code.items():
        group.run_on_event(ev, code, when="resets", order=1)
    if plasticity is not None:
        # the LTP event must see the voltage after the spike reset/clamp of this step
        if "ltp" in group.thresholder:
            group.thresholder["ltp"].when = "after_resets"
            group.thresholder["ltp"].order = 10
        if register_code:
            group.run_regularly(register_code, when="end", order=100, name=f"{name}_ubar_delay")
    for var, value in init.items():
        setattr(group, var, value)
    return group
