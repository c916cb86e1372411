"""Clopath et al. (2010) voltage-based plasticity: NumPy kernel and Brian2 binding.

The rule (Clopath et al. 2010 Nat. Neurosci. 13:344), with ``eps`` the read-out delay of the filtered voltages::

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
contributes exactly 1 to the integral of xbar, as in continuous time; ``ltp_integration='dt'``
uses NEST's ``xbar(t_n) dt`` instead, see :mod:`.traces`); (2) LTD is applied for
each presynaptic spike arriving at step n; (3) at the end of the step the trace of the arriving
spikes is incremented by 1/tau_x and the eps-delay register is shifted. A spike arriving at step
n therefore potentiates from step n + 1 on, and LTD precedes nothing of its own trace, as in NEST's
``clopath_synapse``.

Cost follows events: LTD costs one update per presynaptic arrival; LTP runs only on the
postsynaptic custom event ``ltp`` (u > theta_plus ...), for the synapses of the neurons that
have it. Presynaptic traces are per neuron (clock-driven, exact decay), not per synapse.
"""

from __future__ import annotations

import numpy as np
from brian2 import Synapses, ms, second, volt

from ..devices import shared_clock
from ..errors import ParameterError, check_choice, check_quantity
from ..params import ClopathParams
from .accumulator import accumulator_synapses
from .broadcast import Broadcast
from .traces import (ClopathSynapses, connect_and_schedule, post_trace_spec, presynaptic_trace_updater,  # noqa: F401
                     set_filtered_voltage, trace_step_factor)  # noqa: F401

__all__ = ["clopath_synapses", "clopath_kernel"]

#: the three formulations of the same rule, identical to 1e-9 (tests): 'naive' (per-synapse trace,
#: LTP integrated every step), 'event' (LTP on a postsynaptic custom event) and 'accumulator'
#: (synapses touched only at their own arrivals; :mod:`cortex_sim.plasticity.accumulator`)
FORMULATIONS = ("naive", "event", "accumulator")


def clopath_synapses(pre, post, params: ClopathParams, *, name: str, dt, voltage: str,
                     input_gate: str = "1", psp_scale=None, connect="all", w0=0.5,
                     delay=0 * ms, broadcast: Broadcast | None = None, gate: Broadcast | None = None,
                     formulation: str = "event", **accumulator_options) -> ClopathSynapses:
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
    formulation : {'event', 'naive', 'accumulator'}
        'event': LTP on the postsynaptic custom event, LTD at presynaptic arrivals, per-neuron
        traces. 'naive': per-synapse trace and LTP integrated every step for every synapse (the
        reference; same discretisation). 'accumulator': the fast form
        (:func:`cortex_sim.plasticity.accumulator.accumulator_synapses`; ``post`` built with
        ``accumulator=True``).
    accumulator_options
        Options of the accumulator form only (``rebase_steps``, ``eligibility``; see
        :func:`cortex_sim.plasticity.accumulator.accumulator_synapses`).

    The presynaptic trace of ``pre`` is shared by every plastic projection from ``pre``
    (:func:`cortex_sim.plasticity.traces.presynaptic_trace_updater`).
    """
    check_choice("formulation", formulation, FORMULATIONS)
    if formulation == "accumulator":
        return accumulator_synapses(pre, post, params, name=name, dt=dt, voltage=voltage, input_gate=input_gate,
                                    psp_scale=psp_scale, connect=connect, w0=w0, delay=delay,
                                    broadcast=broadcast, gate=gate, **accumulator_options)
    if accumulator_options:
        raise ParameterError(f"accumulator_options: got {sorted(accumulator_options)} for formulation {formulation!r}; "
                             "allowed: only with formulation='accumulator'")
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
        objects.append(presynaptic_trace_updater(pre, params, name=f"{name}_xtrace", dt=dt, delay=delay))
    else:
        S.trace.when = "end"
        condition = f"int({v} > theta_plus)*int(ubar_plus_eps_post > theta_minus)"
        S.run_regularly(
            f"w = clip(w + {condition}*{ltp_amount.replace('XBAR', 'xbar_syn')}, w_min, w_max)",
            when="after_resets", order=11, name=f"{name}_ltp_naive")
    return ClopathSynapses(S, objects, params, formulation)


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
    xs = trace_step_factor(params, dt)
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
