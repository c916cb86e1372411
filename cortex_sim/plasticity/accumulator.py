"""Fast exact form of the Clopath rule: synapses are touched only at their own presynaptic spikes.

Between two presynaptic arrivals t_a < t_b of neuron i, the LTP of synapse i -> j is

    dw = xbar_i(t_a+) sum_{s in (t_a, t_b]} exp(-(s - t_a)/tau_x) L_j(s),
    L_j(s) = M(s) A_LTP [u_j - theta_plus]+ [ubar_plus_j(s - eps) - theta_minus]+ x_step

so one accumulator per *postsynaptic neuron*, ``P_j(t) = sum_{s <= t} exp(-(s - T)/tau_x) L_j(s)``,
is enough: at each arrival the synapse adds ``xbar_i exp((t - T)/tau_x) (P_j - G_ij)`` (xbar_i read
at t_b before its own increment) and stores ``G_ij = P_j``. The reference time T is re-based every
``rebase_tau`` time constants (the only periodic per-synapse work, a few times per 100 ms) so that
the exponentials stay inside double range. LTD is unchanged (one update per arrival).

Cost per step: one accumulator update per postsynaptic neuron and one trace decay per presynaptic
neuron; per arrival: one update per outgoing synapse. The cost no longer depends on how long the
neurons spend above theta_plus.

Bound semantics: w is clipped to [w_min, w_max] at each arrival (after the pending LTP and after
the LTD), not at every step. Without bounds being reached it equals the per-step rule exactly; the
LTP since the last arrival is pending until the next one (:meth:`AccumulatorSynapses.weights`
applies it at the end of a run).

The eps read-out delay uses a ring buffer (one write and one read per neuron and step) implemented
as a Brian2 function for the C++ and NumPy targets, instead of the shift register of the other
formulations (2 x eps/dt copies per neuron and step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Function, Synapses, ms, second

from ..devices import shared_clock, stable_clock
from ..errors import ParameterError, check_number
from ..params import ClopathParams
from .broadcast import Broadcast
from .clopath import ClopathSynapses, connect_and_schedule, presynaptic_trace_updater, trace_step_factor

__all__ = ["ring_delay_function", "accumulator_synapses", "AccumulatorSynapses"]


def ring_delay_function(name: str, n: int, n_delay: int, init: float, n_buffers: int = 2) -> Function:
    """A Brian2 function ``name(value, which, idx, step)`` implementing ``n_buffers`` ring buffers.

    At step ``step`` it stores ``value`` for neuron ``idx`` of buffer ``which`` and returns the value
    stored ``n_delay - 1`` steps earlier; called at the end of each step, the result is the value of
    ``n_delay`` steps before the *next* step, as the shift register gives.
    """
    size = n_buffers * n * n_delay
    buf = np.full((n_buffers, n, n_delay), float(init))

    def ring(value, which, idx, step):
        which = int(np.asarray(which).flat[0])
        step = int(np.asarray(step).flat[0])
        b = buf[which]
        b[idx, step % n_delay] = value
        return b[idx, (step + 1) % n_delay].copy()

    f = Function(ring, arg_units=[1, 1, 1, 1], return_unit=1,
                 arg_types=["float", "integer", "integer", "integer"], return_type="float",
                 stateless=False)
    cpp = f"""
    static double* _{name}_buf = 0;
    double {name}(double value, int which, int idx, int64_t step) {{
        if (!_{name}_buf) {{
            _{name}_buf = new double[{size}];
            for (int k = 0; k < {size}; k++) _{name}_buf[k] = {float(init)!r};
        }}
        double* b = _{name}_buf + ((size_t)which * {n} + (size_t)idx) * {n_delay};
        b[step % {n_delay}] = value;
        return b[(step + 1) % {n_delay}];
    }}
    """
    f.implementations.add_implementation("cpp", code=cpp, name=name)
    return f


@dataclass
class AccumulatorSynapses(ClopathSynapses):
    """Clopath projection in the accumulator form (see module docstring)."""

    pre: object = None
    post: object = None
    dt: object = None
    rebase_steps: int = 0

    def weights(self):
        """Final weights with the LTP pending since each synapse's last arrival applied."""
        S = self.synapses
        p = self.params
        tau = float(p.tau_x)
        dt = float(self.dt)
        t_end = float(self.post.t[:])
        step = int(round(t_end / dt)) - 1
        t_ref = (step // self.rebase_steps) * self.rebase_steps * dt
        i = np.asarray(S.i[:])
        j = np.asarray(S.j[:])
        xbar = np.asarray(self.pre.xbar[:])[i]
        P = np.asarray(self.post.P_ltp[:])[j]
        G = np.asarray(S.G_syn[:])
        w = np.asarray(S.w[:]) + xbar * np.exp((step * dt - t_ref) / tau) * (P - G)
        return np.clip(w, float(p.w_min), float(p.w_max))


def accumulator_synapses(pre, post, params: ClopathParams, *, name: str, dt, voltage: str,
                         input_gate: str = "1", psp_scale=None, connect="all", w0=0.5,
                         delay=0 * ms, broadcast: Broadcast | None = None,
                         gate: Broadcast | None = None, rebase_tau: float = 5.0) -> AccumulatorSynapses:
    """Connect ``pre`` to ``post`` with Clopath synapses in the accumulator form.

    ``post`` must be built with ``build_neuron_group(..., plasticity=params, accumulator=True)``.
    Arguments as :func:`cortex_sim.plasticity.clopath.clopath_synapses`.
    """
    if "P_ltp" not in post.variables:
        raise ParameterError(
            f"post: group {post.name!r} has no LTP accumulator; allowed: a group built with "
            "build_neuron_group(..., plasticity=params, accumulator=True)")
    if "xbar" not in pre.variables:
        raise ParameterError(f"pre: group {pre.name!r} has no presynaptic trace")
    check_number("rebase_tau", rebase_tau, low=0.5, high=20)
    broadcast = broadcast or Broadcast.constant(1.0)
    gate = gate or Broadcast.constant(1.0)
    K = max(1, int(round(rebase_tau * float(params.tau_x) / float(dt))))
    ns = params.namespace()
    ns.update({f"{name}_M": broadcast.timed_array(), f"{name}_G": gate.timed_array(),
               "x_step": trace_step_factor(params, dt) * second, "K_rebase": K,
               "big": 1e100 * second})
    mod = f"{name}_M(t)*{name}_G(t)"
    t_ref = "((timestep(t, dt)//K_rebase)*K_rebase*dt)"
    # per-neuron LTP accumulator, after the resets (the event formulation's LTP slot)
    post.namespace.update(ns)
    post.run_regularly(
        f"P_ltp += exp(-(t - {t_ref})/tau_x)*{mod}*A_LTP*int({voltage} > theta_plus)"
        f"*int(ubar_plus_eps > theta_minus)*({voltage} - theta_plus)*(ubar_plus_eps - theta_minus)*x_step",
        when="after_resets", order=10, name=f"{name}_accumulate", clock=shared_clock(dt))
    v = f"{voltage}_post"
    # pending LTP since the last arrival, then remember where the accumulator stands
    lump = (f"w = clip(w + xbar_pre*exp((t - {t_ref})/tau_x)*(P_ltp_post - G_syn), w_min, w_max)\n"
            "G_syn = P_ltp_post\n")
    on_pre = {"ltd": lump + (
        f"w = clip(w - {mod}*A_LTD_eff_post*int(ubar_minus_eps_post > theta_minus)"
        f"*(ubar_minus_eps_post - theta_minus), w_min, w_max)")}
    if psp_scale is not None:
        # the PSP must see the weight including the LTP of all earlier steps (as the per-step rule)
        ns["psp_scale"] = psp_scale
        on_pre["pre"] = lump + f"{v} += psp_scale*w*{input_gate.replace('clamped', 'clamped_post')}"
    S = Synapses(pre, post, "w : 1  # plastic weight\nG_syn : second  # P_ltp of the target at the last arrival",
                 on_pre=on_pre, namespace=ns, name=name, clock=shared_clock(dt),
                 delay={k: delay for k in on_pre})
    connect_and_schedule(S, connect, w0)
    # re-base the reference time T every K steps, at the start of the step (synapses, then neurons)
    rebase_clock = stable_clock(K * dt, f"{name}_rebase_clock")
    S.run_regularly("G_syn = clip((G_syn - P_ltp_post)*exp(K_rebase*dt_step/tau_x), -big, big)",
                    clock=rebase_clock, when="start", order=0, name=f"{name}_rebase_syn")
    S.namespace["dt_step"] = dt
    post.run_regularly("P_ltp = 0*second", clock=rebase_clock, when="start", order=1,
                       name=f"{name}_rebase_post")
    objects = [S, presynaptic_trace_updater(pre, params, name=f"{name}_xtrace", dt=dt, delay=delay)]
    return AccumulatorSynapses(S, objects, params, "accumulator", pre=pre, post=post, dt=dt,
                               rebase_steps=K)
