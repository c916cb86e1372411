"""Clopath et al. (2010) voltage-based plasticity: NumPy kernel and Brian2 binding.

The rule (SCIENCE.md §2), with ``eps`` the read-out delay of the filtered voltages::

    dw/dt = -M A_LTD(ubarbar) X(t) [ubar_minus(t - eps) - theta_minus]+
            + M A_LTP xbar(t) [u - theta_plus]+ [ubar_plus(t - eps) - theta_minus]+
    tau_minus dubar_minus/dt = u - ubar_minus,  tau_plus dubar_plus/dt = u - ubar_plus
    tau_x dxbar/dt = -xbar, xbar += 1/tau_x at each presynaptic spike (arrival)
    A_LTD(ubarbar) = A_LTD ubarbar^2/u_ref^2 (homeostasis 'relative' or 'nest'), else A_LTD
    w_min <= w <= w_max (hard bounds, applied after every update)

M(t) is the broadcast gate (:mod:`cortex_sim.plasticity.broadcast`).

Discretisation (shared by the event-driven binding, the naive binding and the NumPy kernel):
within step n, after the neuron update and the spike reset/clamp, (1) LTP is applied if
u > theta_plus and the delayed ubar_plus > theta_minus, with the presynaptic trace integrated
exactly over the step, ``xbar(t_n) tau_x (exp(dt/tau_x) - 1)`` (so one presynaptic spike
contributes exactly 1 to the integral of xbar, as in continuous time); (2) LTD is applied for
each presynaptic spike arriving at step n; (3) at the end of the step the trace of the arriving
spikes is incremented by 1/tau_x and the eps-delay register is shifted. A spike arriving at step
n therefore potentiates from step n + 1 on, and LTD precedes nothing of its own trace, as in NEST's
``clopath_synapse``.

Cost follows events: LTD costs one update per presynaptic arrival; LTP runs only on the
postsynaptic custom event ``ltp`` (u > theta_plus ...), for the synapses of the neurons that
have it. Presynaptic traces are per neuron (clock-driven, exact decay), not per synapse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Synapses, mV, ms, second, volt

from ..errors import ParameterError, check_choice, check_quantity
from ..params import ClopathParams
from ..devices import shared_clock
from .broadcast import Broadcast

__all__ = ["post_trace_spec", "clopath_synapses", "clopath_kernel", "ClopathSynapses",
           "trace_step_factor", "FORMULATIONS", "set_filtered_voltage"]

FORMULATIONS = ("event", "naive")  # "accumulator": see cortex_sim.plasticity.accumulator


def trace_step_factor(params: ClopathParams, dt) -> float:
    """Exact integral of a unit-height exponential trace over one step, in seconds."""
    tau = float(params.tau_x)
    return tau * np.expm1(float(dt) / tau)


@dataclass
class TraceSpec:
    """Postsynaptic additions made by :func:`post_trace_spec`."""

    equations: str
    ltp_condition: str
    register_code: str | None
    namespace: dict
    init: dict
    n_delay: int


def post_trace_spec(params: ClopathParams, voltage: str, rest, dt, filtered_voltage=None,
                    delay_impl: str = "register", n_neurons: int = 1, group_name: str = "post") -> TraceSpec:
    """Equations of the postsynaptic traces for voltage ``voltage``.

    ``ubar_minus_eps`` and ``ubar_plus_eps`` are the filtered voltages read ``delay_u_bars``
    late, implemented as a shift register of ``round(delay_u_bars/dt)`` stages (NEST's ring
    buffer in Brian2 form, exact, works on every device).
    """
    check_quantity("dt", dt, ms, positive=True)
    check_choice("delay_impl", delay_impl, ("register", "ring"))
    fv = filtered_voltage or voltage
    ring = {}
    n = int(round(float(params.delay_u_bars / dt)))
    if abs(n * float(dt) - float(params.delay_u_bars)) > 1e-9 * float(dt) + 1e-12:
        raise ParameterError(
            f"ClopathParams.delay_u_bars: got {params.delay_u_bars!s}; allowed: a multiple of "
            f"dt ({dt!s})")
    lines = [
        f"dubar_minus/dt = ({fv} - ubar_minus)/tau_minus : volt  # low-passed voltage for LTD",
        f"dubar_plus/dt = ({fv} - ubar_plus)/tau_plus : volt     # low-passed voltage for LTP",
    ]
    init = dict(ubar_minus=rest, ubar_plus=rest)
    code = None
    if n == 0:
        lines += ["ubar_minus_eps = ubar_minus : volt  # no read-out delay",
                  "ubar_plus_eps = ubar_plus : volt    # no read-out delay"]
    elif delay_impl == "ring":
        from .accumulator import ring_delay_function

        fname = f"ring_{group_name}"
        lines += ["ubar_minus_eps : volt  # ubar_minus read eps late (ring buffer)",
                  "ubar_plus_eps : volt   # ubar_plus read eps late (ring buffer)"]
        init.update(ubar_minus_eps=rest, ubar_plus_eps=rest)
        code = (f"ubar_minus_eps = {fname}(ubar_minus/mV, 0, i, timestep(t, dt))*mV\n"
                f"ubar_plus_eps = {fname}(ubar_plus/mV, 1, i, timestep(t, dt))*mV")
        ring = {fname: ring_delay_function(fname, n_neurons, n, float(rest / mV)), "mV": mV}
    else:
        for k in range(1, n + 1):
            lines.append(f"ubm_{k} : volt  # ubar_minus {k} steps ago")
            lines.append(f"ubp_{k} : volt  # ubar_plus {k} steps ago")
            init[f"ubm_{k}"] = rest
            init[f"ubp_{k}"] = rest
        lines += [f"ubar_minus_eps = ubm_{n} : volt  # ubar_minus read eps late",
                  f"ubar_plus_eps = ubp_{n} : volt   # ubar_plus read eps late"]
        shifts = [f"ubm_{k} = ubm_{k - 1}\nubp_{k} = ubp_{k - 1}" for k in range(n, 1, -1)]
        code = "\n".join(shifts + ["ubm_1 = ubar_minus", "ubp_1 = ubar_plus"])
    if params.homeostasis == "off":
        lines.append("A_LTD_eff = A_LTD : 1/volt  # constant LTD amplitude")
    elif params.homeostasis == "relative":
        lines += ["dubarbar/dt = (ubar_minus - E_rest - ubarbar)/tau_ubarbar : volt  # mean depolarisation",
                  "A_LTD_eff = A_LTD*ubarbar**2/u_ref_squared : 1/volt  # homeostatic LTD amplitude"]
        init["ubarbar"] = np.sqrt(float(params.u_ref_squared)) * volt
    else:  # 'nest': NEST squares the absolute filtered voltage
        lines += ["dubarbar/dt = (ubar_minus - ubarbar)/tau_ubarbar : volt  # NEST u_bar_bar (absolute)",
                  "A_LTD_eff = A_LTD*ubarbar**2/u_ref_squared : 1/volt  # NEST's homeostatic A_LTD"]
        init["ubarbar"] = rest
    ns = params.namespace()
    ns["E_rest"] = rest
    ns.update(ring)
    return TraceSpec("\n".join(lines), f"{voltage} > theta_plus and ubar_plus_eps > theta_minus",
                     code, ns, init, n)


def set_filtered_voltage(group, value, n_delay):
    """Set ubar_minus, ubar_plus and their delay registers of ``group`` to ``value``."""
    group.ubar_minus = value
    group.ubar_plus = value
    for k in range(1, n_delay + 1):
        setattr(group, f"ubm_{k}", value)
        setattr(group, f"ubp_{k}", value)


@dataclass
class ClopathSynapses:
    """A plastic projection: the Synapses object and its helpers (add all of ``objects``)."""

    synapses: Synapses
    objects: list = field(default_factory=list)
    params: ClopathParams = None
    formulation: str = "event"


def clopath_synapses(pre, post, params: ClopathParams, *, name: str, dt, voltage: str,
                     input_gate: str = "1", psp_scale=None, connect="all", w0=0.5,
                     delay=0 * ms, broadcast: Broadcast | None = None, gate: Broadcast | None = None,
                     formulation: str = "event", trace_updater: bool = True) -> ClopathSynapses:
    """Connect ``pre`` to ``post`` with Clopath synapses.

    Parameters
    ----------
    pre : NeuronGroup
        Source with a per-neuron presynaptic trace (``presynaptic_trace=True`` or an input group).
    post : NeuronGroup
        Target built with ``plasticity=params`` (it carries the postsynaptic traces).
    voltage : str
        Postsynaptic voltage name (``u`` or ``v_s``); each spike adds ``psp_scale * w`` to it.
    input_gate : str
        Expression of the postsynaptic group multiplying the PSP (0 while the spike is clamped).
    psp_scale : Quantity (volt) or None
        PSP amplitude per unit weight; ``None`` adds no PSP (plasticity only).
    connect : str, dict or tuple(i, j)
        ``"all"``, a Brian2 condition string, or explicit index arrays ``(i, j)``.
    broadcast, gate : Broadcast or None
        Broadcast factor M(t) and an optional second gate; both multiply every update.
    formulation : {'event', 'naive'}
        'event': LTP on the postsynaptic custom event, LTD at presynaptic arrivals, per-neuron
        traces. 'naive': per-synapse trace and LTP integrated every step for every synapse (the
        reference; same discretisation).
    """
    check_choice("formulation", formulation, FORMULATIONS)
    check_quantity("delay", delay, ms, nonnegative=True)
    for var in ("ubar_minus_eps", "ubar_plus_eps", "A_LTD_eff"):
        if var not in post.variables:
            raise ParameterError(
                f"post: group {post.name!r} has no Clopath traces ({var}); allowed: a group built "
                "with build_neuron_group(..., plasticity=params)")
    if formulation == "event" and "xbar" not in pre.variables:
        raise ParameterError(
            f"pre: group {pre.name!r} has no presynaptic trace; allowed: an input group or a group "
            "built with presynaptic_trace=True")
    broadcast = broadcast or Broadcast.constant(1.0)
    gate = gate or Broadcast.constant(1.0)
    ns = params.namespace()
    ns.update({f"{name}_M": broadcast.timed_array(), f"{name}_G": gate.timed_array(),
               "x_step": trace_step_factor(params, dt) * second})
    mod = f"{name}_M(t)*{name}_G(t)"
    v = f"{voltage}_post"
    ltp_amount = (f"{mod}*A_LTP*XBAR*x_step*({v} - theta_plus)*(ubar_plus_eps_post - theta_minus)")
    ltd = (f"w = clip(w - {mod}*A_LTD_eff_post*int(ubar_minus_eps_post > theta_minus)"
           f"*(ubar_minus_eps_post - theta_minus), w_min, w_max)")
    on_pre = {"ltd": ltd}
    if psp_scale is not None:
        check_quantity("psp_scale", psp_scale, volt)
        ns["psp_scale"] = psp_scale
        on_pre["pre"] = f"{v} += psp_scale*w*{input_gate.replace('clamped', 'clamped_post')}"
    model = "w : 1  # plastic weight (dimensionless, within [w_min, w_max])"
    kwargs = dict(on_pre=on_pre, namespace=ns, name=name, clock=shared_clock(dt),
                  delay={k: delay for k in on_pre})
    if formulation == "event":
        kwargs.update(on_post={"ltp": f"w = clip(w + {ltp_amount.replace('XBAR', 'xbar_pre')}, w_min, w_max)"},
                      on_event={"ltp": "ltp", "ltd": "spike", **({"pre": "spike"} if psp_scale is not None else {})})
    else:
        model += "\ndxbar_syn/dt = -xbar_syn/tau_x : hertz (clock-driven)  # per-synapse trace"
        on_pre["trace"] = "xbar_syn += 1/tau_x"
        kwargs["delay"]["trace"] = delay
        kwargs["method"] = "exact"
    S = Synapses(pre, post, model, **kwargs)
    connect_and_schedule(S, connect, w0)
    objects = [S]
    if formulation == "event":
        S.ltp.when, S.ltp.order = "after_resets", 11
        if trace_updater:
            objects.append(presynaptic_trace_updater(pre, params, name=f"{name}_xtrace", dt=dt,
                                                     delay=delay))
    else:
        S.trace.when = "end"
        condition = f"int({v} > theta_plus)*int(ubar_plus_eps_post > theta_minus)"
        S.run_regularly(
            f"w = clip(w + {condition}*{ltp_amount.replace('XBAR', 'xbar_syn')}, w_min, w_max)",
            when="after_resets", order=11, name=f"{name}_ltp_naive")
    return ClopathSynapses(S, objects, params, formulation)


def connect_and_schedule(S, connect, w0):
    """Connect ``S`` ("all", a condition string or index arrays (i, j)), set w0, and run its LTD
    pathway after the resets (after the LTP of the same step)."""
    if isinstance(connect, tuple):
        S.connect(i=np.asarray(connect[0]), j=np.asarray(connect[1]))
    elif connect == "all":
        S.connect()
    else:
        S.connect(condition=connect)
    S.w = w0
    S.ltd.when, S.ltd.order = "after_resets", 12


def presynaptic_trace_updater(pre, params: ClopathParams, *, name: str, dt, delay=0 * ms):
    """One-to-one pathway that adds 1/tau_x to the per-neuron trace when a spike arrives, and
    sets the trace's decay to tau_x.

    It runs at the end of the arrival step (after LTP and LTD of that step).
    """
    pre.tau_xbar = params.tau_x
    S = Synapses(pre, pre, on_pre="xbar_post += 1/tau_x", delay=delay, namespace={"tau_x": params.tau_x}, name=name,
                 clock=shared_clock(dt))
    S.connect(j="i")
    S.pre.when = "end"
    return S


def clopath_kernel(*, params: ClopathParams, dt, w0, pre_index, post_index, arrival_steps,
                   u, ubar_minus_eps, ubar_plus_eps, a_ltd=None, modulation=None):
    """Pure NumPy Clopath rule on recorded postsynaptic traces (same discretisation as the binding).

    Parameters
    ----------
    params : ClopathParams
    dt : float or Quantity
        Time step (seconds if float).
    w0 : array (n_syn,)
        Initial weights.
    pre_index, post_index : int arrays (n_syn,)
        Presynaptic and postsynaptic neuron of each synapse.
    arrival_steps : list of int arrays
        For each presynaptic neuron, the steps at which its spikes arrive (spike step + delay).
    u, ubar_minus_eps, ubar_plus_eps : arrays (T, n_post), volts
        Postsynaptic voltage and delayed filtered voltages as seen after the resets of each step.
    a_ltd : array (T, n_post) or None
        LTD amplitude per step (1/volt); default the constant A_LTD.
    modulation : array (T,) or None
        Broadcast factor per step; default 1.

    Returns
    -------
    w : array (n_syn,)
        Final weights.
    """
    dt = float(dt)
    u = np.atleast_2d(np.asarray(u, float).T).T
    ubm = np.atleast_2d(np.asarray(ubar_minus_eps, float).T).T
    ubp = np.atleast_2d(np.asarray(ubar_plus_eps, float).T).T
    T = u.shape[0]
    for nm, arr in (("ubar_minus_eps", ubm), ("ubar_plus_eps", ubp)):
        if arr.shape != u.shape:
            raise ParameterError(f"{nm}: got shape {arr.shape}; allowed: the shape of u {u.shape}")
    th_m, th_p = float(params.theta_minus), float(params.theta_plus)
    A_LTP, tau_x = float(params.A_LTP), float(params.tau_x)
    a_ltd = np.full(u.shape, float(params.A_LTD)) if a_ltd is None else np.asarray(a_ltd, float).reshape(u.shape)
    mod = np.ones(T) if modulation is None else np.asarray(modulation, float)
    w_min, w_max = float(params.w_min), float(params.w_max)
    xs = tau_x * np.expm1(dt / tau_x)
    w = np.array(w0, dtype=float, copy=True)
    pre_index = np.asarray(pre_index)
    post_index = np.asarray(post_index)
    n_pre = len(arrival_steps)
    x_last = np.zeros(n_pre)
    n_last = np.zeros(n_pre)
    ltp_mask = (u > th_p) & (ubp > th_m)
    ltp_val = np.where(ltp_mask, A_LTP * (u - th_p) * (ubp - th_m) * xs, 0.0)
    ltd_val = a_ltd * np.clip(ubm - th_m, 0.0, None)
    arrivals = {}
    for k, steps in enumerate(arrival_steps):
        for s in np.asarray(steps, dtype=int):
            if 0 <= s < T:
                arrivals.setdefault(int(s), []).append(k)
    events = np.union1d(np.nonzero(ltp_mask.any(axis=1))[0], np.fromiter(arrivals, int, len(arrivals)))
    syn_by_pre = [np.nonzero(pre_index == k)[0] for k in range(n_pre)]
    for n in events:
        if ltp_mask[n].any():
            xbar = x_last[pre_index] * np.exp(-(n - n_last[pre_index]) * dt / tau_x)
            w = np.clip(w + mod[n] * xbar * ltp_val[n, post_index], w_min, w_max)
        ks = arrivals.get(int(n), [])
        for k in ks:
            s = syn_by_pre[k]
            w[s] = np.clip(w[s] - mod[n] * ltd_val[n, post_index[s]], w_min, w_max)
        for k in ks:
            x_last[k] = x_last[k] * np.exp(-(n - n_last[k]) * dt / tau_x) + 1.0 / tau_x
            n_last[k] = n
    return w
