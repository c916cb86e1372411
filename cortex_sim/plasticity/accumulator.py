"""Fast exact form of the Clopath rule: synapses are touched only at their own presynaptic spikes.

Between two presynaptic arrivals t_a < t_b of neuron i, the LTP of synapse i -> j is

    dw = xbar_i(t_a+) sum_{s in (t_a, t_b]} exp(-(s - t_a)/tau_x) L_j(s),
    L_j(s) = M(s) A_LTP [u_j - theta_plus]+ [ubar_plus_j(s - eps) - theta_minus]+ x_step

so one accumulator per *postsynaptic neuron*, ``P_j(t) = sum_{s <= t} exp(-(s - T)/tau_x) L_j(s)``,
is enough: at each arrival the synapse adds ``xbar_i exp((t - T)/tau_x) (P_j - G_ij)`` (xbar_i read
at t_b before its own increment) and stores ``G_ij = P_j``. LTD is unchanged (one update per
arrival).

Re-basing. The reference time T moves forward every ``rebase_tau`` time constants (K steps), so
that ``exp((t - T)/tau_x)`` stays small. At a re-base every synapse *folds its pending LTP into
w* (the lump above, evaluated at the last step of the old frame) and restarts with ``G_ij = 0``
while the accumulators restart at ``P_j = 0``. Nothing is carried from frame to frame but w, so no
pending LTP is lost however long an input stays silent (an earlier version carried ``G_ij`` across
frames, multiplied by e^5 per re-base and clipped at 1e100: after about 4 s of presynaptic silence
all pending LTP was lost). The re-base is the only periodic per-synapse work, a few times per
100 ms.

One accumulator per postsynaptic group: several accumulator projections onto one group share
``P_j`` when they have the same rule parameters and broadcast gates (else a clear error).

Cost per step: one accumulator update per postsynaptic neuron and one trace decay per presynaptic
neuron; per arrival: one update per outgoing synapse. The cost no longer depends on how long the
neurons spend above theta_plus.

Eligibility (``eligibility=True``): every update above goes to a per-synapse eligibility ``e_syn``
instead of ``w`` (no bounds), and the PSP keeps using ``w``; the owner of the projection applies
``w = clip(w + factor e_syn, w_min, w_max)`` and clears ``e_syn`` when a third factor known only
later arrives (the spiking learner's broadcast and hinge gate at the end of a fixation). With
``rebase_steps`` equal to the fixation's steps the re-base folds the pending LTP into ``e_syn`` at
every fixation boundary, so nothing of a fixation is left out of its update.

Bound semantics: w is clipped to [w_min, w_max] at each arrival (after the pending LTP and after
the LTD) and at each re-base, not at every step. Without bounds being reached it equals the per-step rule exactly; the
LTP since the last arrival is pending until the next one (:meth:`AccumulatorSynapses.weights`
applies it at the end of a run).

The eps read-out delay uses a ring buffer (one write and one read per neuron and step) implemented
as a Brian2 function for the C++ and NumPy targets, instead of the shift register of the other
formulations (2 x eps/dt copies per neuron and step).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from brian2 import Synapses, ms, second

from ..devices import shared_clock, stable_clock
from ..errors import ParameterError, check_number
from ..params import ClopathParams
from .broadcast import Broadcast
from .traces import ClopathSynapses, connect_and_schedule, presynaptic_trace_updater, trace_step_factor

__all__ = ["accumulator_synapses", "AccumulatorSynapses"]


@dataclass
class AccumulatorSynapses(ClopathSynapses):
    """Clopath projection in the accumulator form (see module docstring)."""

    pre: object = None
    post: object = None
    dt: object = None
    rebase_steps: int = 0

    def final_outputs(self):
        """The variables :meth:`weights_from` needs, as outputs of a compiled run."""
        S = self.synapses
        return {"syn_i": S.variables["i"], "syn_j": S.variables["j"], "syn_w": S.variables["w"],
                "syn_G": S.variables["G_syn"], "pre_xbar": self.pre.variables["xbar"],
                "post_P_ltp": self.post.variables["P_ltp"]}

    def weights(self):
        """Final weights with the LTP pending since each synapse's last arrival applied."""
        raw = {k: np.asarray(v.get_value()) for k, v in self.final_outputs().items()}
        return self.weights_from(raw, float(self.post.t[:]))

    def weights_from(self, raw, t_end):
        """Final weights from the arrays of :meth:`final_outputs` at time ``t_end`` (s)."""
        p = self.params
        tau = float(p.tau_x)
        dt = float(self.dt)
        step = int(round(t_end / dt)) - 1
        t_ref = (step // self.rebase_steps) * self.rebase_steps * dt
        i = np.asarray(raw["syn_i"], dtype=int)
        j = np.asarray(raw["syn_j"], dtype=int)
        xbar = np.asarray(raw["pre_xbar"])[i]
        P = np.asarray(raw["post_P_ltp"])[j]
        w = np.asarray(raw["syn_w"]) + xbar * np.exp((step * dt - t_ref) / tau) * (P - np.asarray(raw["syn_G"]))
        return np.clip(w, float(p.w_min), float(p.w_max))


def accumulator_synapses(pre, post, params: ClopathParams, *, name: str, dt, voltage: str,
                         input_gate: str = "1", psp_scale=None, connect="all", w0=0.5,
                         delay=0 * ms, broadcast: Broadcast | None = None,
                         gate: Broadcast | None = None, rebase_tau: float = 5.0, rebase_steps: int | None = None,
                         eligibility: bool = False) -> AccumulatorSynapses:
    """Connect ``pre`` to ``post`` with Clopath synapses in the accumulator form.

    ``post`` must be built with ``build_neuron_group(..., plasticity=params, accumulator=True)``.
    Arguments as :func:`cortex_sim.plasticity.clopath.clopath_synapses`, and:

    rebase_tau : float
        Re-base period in units of tau_x (0.5 to 20).
    rebase_steps : int or None
        The re-base period in time steps (overrides ``rebase_tau``; at most 20 tau_x).
    eligibility : bool
        Updates go to ``e_syn`` instead of ``w`` (see the module docstring).
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
    if rebase_steps is not None:
        from ..errors import check_int

        K = check_int("rebase_steps", rebase_steps, low=1, high=int(20 * float(params.tau_x) / float(dt)))
    ns = params.namespace()
    ns.update({f"{name}_M": broadcast.timed_array(), f"{name}_G": gate.timed_array(),
               "x_step": trace_step_factor(params, dt) * second, "K_rebase": K, "dt_step": dt})
    mod = f"{name}_M(t)*{name}_G(t)"
    t_ref = "((timestep(t, dt)//K_rebase)*K_rebase*dt)"
    rebase_clock = stable_clock(K * dt, f"{name}_rebase_clock")
    _post_accumulator(post, params, broadcast, gate, K, dt, voltage, ns, mod, t_ref, name, rebase_clock)
    v = f"{voltage}_post"

    def add(amount):   # one update: into w (bounded), or into the eligibility
        return f"e_syn += {amount}" if eligibility else f"w = clip(w + {amount}, w_min, w_max)"

    # pending LTP since the last arrival, then remember where the accumulator stands
    lump = add(f"xbar_pre*exp((t - {t_ref})/tau_x)*(P_ltp_post - G_syn)") + "\nG_syn = P_ltp_post\n"
    on_pre = {"ltd": lump + add(f"-{mod}*A_LTD_eff_post*int(ubar_minus_eps_post > theta_minus)"
                                "*(ubar_minus_eps_post - theta_minus)")}
    if psp_scale is not None:
        # the PSP must see the weight including the LTP of all earlier steps (as the per-step rule)
        ns["psp_scale"] = psp_scale
        on_pre["pre"] = lump + f"{v} += psp_scale*w*{input_gate.replace('clamped', 'clamped_post')}"
    model = "w : 1  # plastic weight\nG_syn : second  # P_ltp of the target at the last arrival"
    if eligibility:
        model += "\ne_syn : 1  # Clopath change pending a later third factor (eligibility)"
    S = Synapses(pre, post, model, on_pre=on_pre, namespace=ns, name=name, clock=shared_clock(dt),
                 delay={k: delay for k in on_pre})
    connect_and_schedule(S, connect, w0)
    # re-base at the start of step mK: fold the LTP pending at the end of step mK - 1 (old frame,
    # t - T = (K - 1) dt; x_bar has not changed since that step's LTD) into w, restart G at 0;
    # then (order 1) the accumulators restart at 0. Nothing but w crosses the frame boundary.
    S.run_regularly(add("xbar_pre*exp((K_rebase - 1)*dt_step/tau_x)*(P_ltp_post - G_syn)") + "\nG_syn = 0*second",
                    clock=rebase_clock, when="start", order=0, name=f"{name}_rebase_syn")
    objects = [S, presynaptic_trace_updater(pre, params, name=f"{name}_xtrace", dt=dt, delay=delay)]
    return AccumulatorSynapses(S, objects, params, "accumulator", pre=pre, post=post, dt=dt,
                               rebase_steps=K)


_ACC_ATTR = "_cortex_ltp_accumulator"  # on the target group: the key of its one accumulator


def _post_accumulator(post, params, broadcast, gate, K, dt, voltage, ns, mod, t_ref, name, rebase_clock):
    """Create the per-neuron LTP accumulator P_ltp of ``post`` once; later projections share it."""
    key = (json.dumps(params.to_dict(), sort_keys=True), broadcast.values.tobytes(), float(broadcast.dt),
           gate.values.tobytes(), float(gate.dt), K, float(dt), voltage)
    existing = getattr(post, _ACC_ATTR, None)
    if existing is not None:
        if existing != key:
            raise ParameterError(
                f"post: group {post.name!r} already has an LTP accumulator for other rule parameters or "
                "broadcast gates; allowed: accumulator projections onto one group with the same rule and "
                "gates (use formulation='event' for a projection with its own rule or gate)")
        return
    # per-neuron LTP accumulator, after the resets (the event formulation's LTP slot)
    post.namespace.update(ns)
    post.run_regularly(
        f"P_ltp += exp(-(t - {t_ref})/tau_x)*{mod}*A_LTP*int({voltage} > theta_plus)"
        f"*int(ubar_plus_eps > theta_minus)*({voltage} - theta_plus)*(ubar_plus_eps - theta_minus)*x_step",
        when="after_resets", order=10, name=f"{name}_accumulate", clock=shared_clock(dt))
    post.run_regularly("P_ltp = 0*second", clock=rebase_clock, when="start", order=1,
                       name=f"{name}_rebase_post")
    setattr(post, _ACC_ATTR, key)
