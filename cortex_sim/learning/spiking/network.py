"""The compiled networks of the spiking learner (Brian2, built once, run chunk after chunk).

:class:`SpikingNetwork` builds one of four networks and compiles it into a
:class:`~cortex_sim.compiled.CompiledProject`:

- ``kind='burst', plastic=True``: the training network of spiking-clapp and its peers (two-compartment
  neurons, Clopath accumulator basal synapses, prediction synapses, hinge-gate score per layer);
- ``kind='burst', plastic=False``: the same neurons and weights frozen, without Clopath traces,
  prediction synapses or threshold dynamics: the evaluation network (cheaper per simulated second);
- ``kind='stdp'``, plastic or frozen: the stdp-wta peer (LIF neurons, pair STDP).

Every chunk is one run of the compiled binary; its input spike table, broadcast schedule and
starting weights are run-time inputs, the weights it ends with and the spikes are read back.

What happens at the end of every fixation (the fixation clock, in this order, before the neurons
step; :meth:`SpikingNetwork._prediction` lists the exact schedule): (1) the layer's prediction
score ``acc = sum_i I_pred_i zc_i`` (zc: the fixation's counts, centred on their running means
with ``centre``) and spike total ``nsp = sum_i z_i`` are summed into a one-neuron score group;
(2) the hinge gate ``gate = [M acc / nsp < margin]``; (3) the basal eligibilities are applied,
``w += M gate e`` (``eligibility=True``); (4) the prediction weights learn,
``W_pred = clip(W_pred (1 - decay) + eta M_pred gate zc_i (c_k - cbar_k), -W_max, W_max)``; (5) the
apical current of the next fixation is set from this fixation's spikes,
``I_pred = clip(W_pred^T (c - cbar))`` with ``c = z / nsp`` (``context='normalised'``) or ``c = z``
(``'sign'``), in an apical group on the fixation clock (one summed variable per fixation: the
prediction costs n^2 per fixation, nothing per spike).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...errors import check_choice
from ...experiment import Built, CompiledExperiment
from .config import SpikingConfig

__all__ = ["SpikingNetwork"]

#: spikes closer than this to the neuron's previous spike belong to a burst (one event)
BURST_ISI_MS = 16.0


def event_counts(i, t, slots, t_fix, n, isi=BURST_ISI_MS * 1e-3):
    """Events per (slot, neuron) from spike indices ``i`` and times ``t`` (s) of one run: a spike
    is an event when the neuron's previous spike is at least ``isi`` earlier (the first always)."""
    i, t = np.asarray(i, np.int64), np.asarray(t, float)
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    new = np.ones(len(i), bool)
    same = i[1:] == i[:-1]
    new[1:] = ~same | (t[1:] - t[:-1] > isi)
    slot = (t / t_fix + 1e-9).astype(np.int64)
    keep = new & (slot < slots)
    return np.bincount(slot[keep] * n + i[keep], minlength=slots * n).reshape(slots, n)


def basal_index(config, layer, n_pre, n_post):
    """(pre, post) neuron of every basal synapse of ``layer`` (1-based), in weight order.

    Layer 1 is block-diagonal: group g (patch g of the glimpse) of ``n_post`` neurons sees the
    ``n_pre`` input channels of its patch; the synapses are stored group after group with the same
    pattern in every group (so that shared weights are a reshape). Above layer 1 ``n_pre`` is the
    whole layer below. All-to-all, or random with ``config.p_connect[layer - 1]`` drawn from a fixed
    seed (the structure, and so the compiled project, is the same in every run); every neuron gets
    at least one input.
    """
    p = config.p_connect[layer - 1]
    if p >= 1:
        i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
        i, j = i.ravel(), j.ravel()
    else:
        mask = np.random.default_rng([12345, layer]).random((n_pre, n_post)) < p
        mask[0, ~mask.any(axis=0)] = True
        i, j = np.nonzero(mask)
    i, j = i.astype(np.int64), j.astype(np.int64)
    if layer > 1 or config.groups == 1:
        return i, j
    g = np.repeat(np.arange(config.groups), len(i))
    return np.tile(i, config.groups) + g * n_pre, np.tile(j, config.groups) + g * n_post


def inhibition_index(size, group_size):
    """(i, j) of the lateral inhibition: every other neuron of the same group."""
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    keep = (i != j) & (i // group_size == j // group_size)
    return i[keep].astype(np.int64), j[keep].astype(np.int64)


@dataclass
class _Layer:
    group: object
    basal: object           # the basal Synapses
    pred: object = None     # prediction synapses (burst, plastic)
    score: object = None    # the layer's one-neuron score group (burst, plastic)
    spikes: object = None


class SpikingNetwork:
    """A compiled spiking-learner network: build once, run chunk after chunk.

    Parameters
    ----------
    config : SpikingConfig
    kind : {'burst', 'stdp'}
        Two-compartment Clopath/CLAPP network or the stdp-wta network.
    n_channels : int
        ON/OFF input channels per patch (2 patch_size^2); the input has ``config.groups`` times as many.
    mean_input_rate_hz : float
        Mean total rate of a patch's channels (sets the layer-1 PSP).
    plastic : bool
        False: the frozen evaluation network (``config.eval_slots`` fixations per chunk).
    device : {'cpp', 'cuda'}
    compile_only, compute_capability, generate_only
        For the CUDA device without a GPU and for code-generation tests.
    record : bool
        Also record the input spikes and the somatic and apical voltage of layer-1 neuron 0
        (:meth:`record`; a project of its own).
    """

    def __init__(self, config: SpikingConfig, kind: str, n_channels: int, mean_input_rate_hz: float, *, plastic=True,
                 device="cpp", compile_only=False, compute_capability=None, report=None, record=False,
                 generate_only=False):
        from ..fixations import chunk_rows

        check_choice("kind", kind, ("burst", "stdp"))
        check_choice("device", device, ("cpp", "cuda"))
        self.config, self.kind, self.plastic, self.device = config, kind, bool(plastic), device
        self.n_channels = int(n_channels)
        self.n_inputs = self.n_channels * config.groups
        c = config
        self.dt = c.dt_ms * 1e-3
        self.t_fix = c.t_fix_ms * 1e-3
        self.slots = c.slots if plastic else c.eval_slots
        self.steps_per_fix = int(round(c.t_fix_ms / c.dt_ms))
        # one step more than the fixations: the end-of-fixation updates of the last one run too
        self.duration = self.slots * self.t_fix + (self.dt if plastic else 0.0)
        self.n_rows = chunk_rows(c.rate_max_hz, self.slots, self.t_fix)
        self.recording = bool(record)
        name = f"spiking_{kind}" + ("" if plastic else "_eval") + ("_rec" if record else "")
        self.experiment = CompiledExperiment.for_learner(name, lambda: self._build(mean_input_rate_hz), device=device,
                                                         report=report, compile_only=compile_only,
                                                         generate_only=generate_only,
                                                         compute_capability=compute_capability)
        self.project = self.experiment.project
        self.compiled, self.compile_s = self.project.compiled, self.project.compile_s
        # the compiled project runs without them: release the Brian2 objects, so that networks built
        # later in this process get the same generated names (and reuse their cached projects)
        self.layers = [None] * len(self.layers)
        for attr in ("inp", "M", "M_pred", "broadcast", "_fclock"):
            self.__dict__.pop(attr, None)
        self._objects = self._inputs = self._outputs = None

    def _build(self, mean_input_rate_hz):
        """The network on the active device (called by the CompiledExperiment), its inputs and outputs."""
        from brian2 import Network, SpikeMonitor, second

        c, kind = self.config, self.kind
        self._index = {}
        self._objects = []
        self._inputs, self._outputs = {}, {}
        self._build_input()
        self.layers = []
        pre, pre_rate, n_pre = self.inp, mean_input_rate_hz, self.n_channels
        for li, n in enumerate(c.neurons, start=1):
            last = li == len(c.neurons)
            size = n * c.groups if li == 1 else n
            build = self._burst_layer if kind == "burst" else self._stdp_layer
            layer = build(li, size, n if li == 1 else size, pre, pre_rate, n_pre, last)
            layer.spikes = SpikeMonitor(layer.group, name=f"sl{li}_spikes")
            self._objects.append(layer.spikes)
            self._outputs[f"spikes_i{li}"] = layer.spikes.i
            self._outputs[f"spikes_t{li}"] = layer.spikes.t
            self.layers.append(layer)
            pre, pre_rate, n_pre = layer.group, size * c.hidden_rate_hz, size
        if self.recording:
            from brian2 import StateMonitor

            from ...devices import stable_clock

            inp_spikes = SpikeMonitor(self.inp, name="sl_input_spikes")
            rec = StateMonitor(self.layers[0].group, ["v_s", "v_d"] if kind == "burst" else ["v"], record=[0],
                               name="sl_record", clock=stable_clock(0.5e-3 * second, "sl_rec"))
            self._objects += [inp_spikes, rec]
            self._outputs.update(in_i=inp_spikes.i, in_t=inp_spikes.t, rec_t=rec.t)
            for v in rec.record_variables:
                self._outputs[f"rec_{v}"] = rec.variables[v]
        return Built(Network(*self._objects, name="spiking_learner"), self.duration * second, inputs=self._inputs,
                     outputs=self._outputs)

    # -- building blocks ----------------------------------------------------------------------
    def _build_input(self):
        from brian2 import NeuronGroup, TimedArray, second

        from ...devices import shared_clock
        from ...models.base import PRESYNAPTIC_TRACE_EQS
        from ...plasticity import Broadcast
        from ..fixations import NEVER_S

        table = TimedArray(np.full((self.n_rows, self.n_inputs), NEVER_S) * second, dt=1 * second, name="sl_input_table")
        eqs = "t_next : second  # time of the next input spike\nk_spike : 1  # spikes emitted so far\n"
        if self.plastic:
            eqs += PRESYNAPTIC_TRACE_EQS
        self.inp = NeuronGroup(self.n_inputs, eqs, threshold="t >= t_next - 0.5*dt",
                               reset="k_spike += 1\nt_next = sl_table(k_spike*second, i)",
                               namespace={"sl_table": table}, name="sl_input", method="exact",
                               clock=shared_clock(self.dt * second))
        self.inp.t_next = NEVER_S * second
        if self.plastic:
            self.inp.tau_xbar = 15e-3 * second
        self._objects.append(self.inp)
        self._inputs.update(table=table, t_next=self.inp.t_next)
        if self.plastic:
            # the broadcast M of each fixation (basal and score), and its weighting for W_pred
            self.broadcast = Broadcast(np.zeros(self.slots), self.t_fix * second, name="sl_broadcast")
            self.M = self.broadcast.timed_array()
            self._inputs["M"] = self.M
        if self.plastic and self.kind == "burst":
            self.M_pred = Broadcast(np.zeros(self.slots), self.t_fix * second, name="sl_broadcast_pred").timed_array()
            self._inputs["M_pred"] = self.M_pred

    def _fix_clock(self):
        from brian2 import second

        from ...devices import stable_clock

        if not hasattr(self, "_fclock"):
            self._fclock = stable_clock(self.t_fix * second, "sl_fixation_clock")
        return self._fclock

    def _psp(self, pre_rate_hz, tau_ms, p_connect=1.0):
        """PSP per unit weight (mV) so that the mean input at the mean initial weight depolarises the
        soma by drive_mV (delta synapses: rate x jump x tau)."""
        w_mean = float(np.mean(self.config.w_init))
        return self.config.drive_mV / max(pre_rate_hz * p_connect * tau_ms * 1e-3 * w_mean, 1e-9)

    def _reset(self, li, G, code):
        """``reset_state``: the neurons return to rest at the start of every fixation (after the
        end-of-fixation updates, before the first step)."""
        if self.config.reset_state:
            G.run_regularly(code, clock=self._fix_clock(), when="groups", order=-25, name=f"sl{li}_rest")

    def _rule(self):
        from brian2 import mV

        from ...params import preset

        r = preset("clopath", "visual")
        return r.with_(A_LTP=r.A_LTP * self.config.lr, A_LTD=r.A_LTD * self.config.lr, homeostasis="relative",
                       u_ref_squared=60 * mV**2)

    def _inhibition(self, li, G, group_size):
        from brian2 import Synapses, pA

        from ...devices import shared_clock

        inh = Synapses(G, G, "J_inh : amp (shared, constant)  # inhibitory current per spike",
                       on_pre="I_inh_post += J_inh", name=f"sl{li}_inh", clock=shared_clock(self.config.dt_ms * 1e-3 * _s()))
        inh.connect(i=inhibition_index(len(G), group_size)[0], j=inhibition_index(len(G), group_size)[1])
        inh.J_inh = self.config.inh_pA * pA
        self._objects.append(inh)
        return inh

    def _burst_layer(self, li, size, group_size, pre, pre_rate, n_pre, last):
        from brian2 import Synapses, mV, ms, second

        from ...devices import shared_clock
        from ...models import build_neuron_group, two_compartment
        from ...plasticity.clopath import clopath_synapses

        c = self.config
        dt = c.dt_ms * ms
        model = two_compartment("naud2018", dt=dt, soma_current="-I_inh",
                                dend_current="I_pred" if self.plastic else "0*amp", method=c.method)
        extra = "dI_inh/dt = -I_inh/tau_inh : amp  # lateral inhibition from the other neurons of the group\n"
        if self.plastic:
            # the prediction reads events (a burst counts once: Naud & Sprekeler 2018's multiplexing)
            # or every spike
            counted = "int(t - t_prev > burst_isi)" if c.code == "events" else "1"
            model = replace(model, threshold="v_s > v_T + theta_h",
                            reset=model.reset + f"\ncount += {counted}\nt_prev = t\ntheta_h += d_theta")
            extra += (
                "I_pred : amp (linked)  # apical prediction current during this fixation (the apical group's)\n"
                "count : 1  # events (or spikes) in this fixation\n"
                "t_prev : second  # time of the neuron's last spike\n"
                "c_hat : 1  # context: spikes in the previous fixation (normalised: over the layer's total)\n"
                "zbar : 1  # running mean of count over fixations\n"
                "cbar : 1  # running mean of c_hat over fixations\n"
                "mean_rate : 1 (shared)  # weight of a new fixation in the running means (0: frozen)\n"
                "dtheta_h/dt = -theta_decay*theta_h : volt  # homeostatic threshold offset\n"
                "theta_decay : hertz (shared)  # 1/tau_theta while learning, 0 when frozen\n"
                "d_theta : volt (shared)  # threshold jump per spike (0: frozen)\n"
                "gate : 1  # the layer's hinge gate of the fixation that ended\n"
                "gate_link : 1 (linked)  # the score group's gate\n"
                "n_layer : 1 (linked)  # the layer's spikes in the fixation that ended\n")
        else:
            model = replace(model, threshold="v_s > v_T + theta_h")
            extra += "theta_h : volt (constant)  # homeostatic threshold offset (frozen)\n"
        rule = self._rule()
        G = build_neuron_group(model, size, name=f"sl{li}", dt=dt, plasticity=rule if self.plastic else None,
                               accumulator=self.plastic, presynaptic_trace=self.plastic and not last,
                               extra_equations=extra, namespace={"tau_inh": c.tau_inh_ms * ms,
                                                                 "burst_isi": BURST_ISI_MS * ms},
                               delay_impl="register" if (self.device == "cuda" and self.plastic) else None)
        if self.plastic:
            G.t_prev = -1 * second
        self._objects.append(G)
        i, j = basal_index(c, li, n_pre, group_size)
        self._index[li] = (i, j)
        psp = self._psp(pre_rate, 16.0, c.p_connect[li - 1]) * mV
        self._inputs[f"theta{li}"] = G.theta_h
        self._reset(li, G, "v_s = E_L\nv_d = E_L\nw_s = 0*amp\nw_d = 0*amp\nv_T = V_T0\nI_inh = 0*amp")
        if not self.plastic:
            basal = Synapses(pre, G, "w : 1  # basal weight (frozen)", on_pre="v_s_post += psp*w*(1 - clamped_post)",
                             namespace={"psp": psp}, name=f"sl{li}_basal", clock=shared_clock(dt))
            basal.connect(i=i, j=j)
            self._objects.append(basal)
            self._inputs[f"w{li}"] = basal.w
            self._inhibition(li, G, group_size)
            return _Layer(G, basal)
        steps = self.steps_per_fix
        m = 1
        while steps % m or steps // m > 20 * 15e-3 / self.dt:   # re-base at fixation boundaries, <= 20 tau_x
            m += 1
        S = clopath_synapses(pre, G, rule, name=f"sl{li}_basal", dt=dt, voltage="v_s", input_gate=model.input_gate,
                             psp_scale=psp, w0=0.5, broadcast=None if c.eligibility else self.broadcast,
                             formulation="accumulator", connect=(i, j), rebase_steps=steps // m,
                             eligibility=c.eligibility)
        self._objects += S.objects
        G.theta_decay = 1 / (c.tau_theta_s * second)
        G.d_theta = c.theta_jump_mV * mV
        self._inhibition(li, G, group_size)
        self._inputs.update({f"theta_decay{li}": G.theta_decay, f"d_theta{li}": G.d_theta, f"w{li}": S.synapses.w,
                             f"ubarbar{li}": G.ubarbar, f"zbar{li}": G.zbar, f"cbar{li}": G.cbar,
                             f"mean_rate{li}": G.mean_rate})
        self._outputs.update({f"theta{li}": G.theta_h, f"w{li}": S.synapses.w, f"ubarbar{li}": G.ubarbar,
                              f"zbar{li}": G.zbar, f"cbar{li}": G.cbar})
        pred, score = self._prediction(li, G, S)
        return _Layer(G, S.synapses, pred, score)

    def _prediction(self, li, G, S):
        """Apical group, score group and hinge gate, eligibility application, prediction weights and
        the context. At every fixation boundary (fixation clock, 'groups' slot, in this order):

        -60  apical group: zc = count - centre zbar (this fixation's centred counts), z = count
        -51  score group: acc = sum_i I_pred_i zc_i, nsp = sum_i z_i (summed variables)
        -30  score group: gate = [M acc / nsp < margin]
        -29  layer and apical groups copy the gate
        -28  basal synapses: w = clip(w + M gate e), e = 0 (eligibility)
        -27  prediction synapses: W_pred = clip(W_pred (1 - decay) + eta M_pred gate zc (c_hat - centre cbar))
        -26  layer: running means (of the fixations that learn, and of their contexts), the new
             context c_hat = count (/ layer total), count = 0
        -25  layer: back to rest (``reset_state``)
        -24  apical group: ip = sum_k W_pred_ki (c_hat_k - centre cbar_k) (summed variable)
        -22  (``apical_gain_nA``) the layer's sum and sum of squares of ip (summed variables)
        -20  apical group: I_apical = apical_on clip(ip, -I_max, I_max), or with ``apical_gain_nA``
             apical_on clip(gain (ip - mean ip) / std ip, -I_max, I_max); the layer's I_pred (linked)
        then the neurons step with the new apical current.
        """
        from brian2 import NeuronGroup, Synapses, linked_var, nA, second

        c = self.config
        fix = self._fix_clock()
        n = len(G)
        ns = {"sl_M": self.M, "sl_Mpred": self.M_pred, "t_fix": self.t_fix * second, "I_apical_max": c.apical_max_nA * nA}
        idx, zero = np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        score = NeuronGroup(1, "acc : 1  # sum_i I_pred_i zc_i of the fixation (nA)\n"
                               "nsp : 1  # sum_i z_i: the layer's spikes in the fixation\n"
                               "gate : 1  # hinge gate: 1 while learning\n"
                               "margin : 1 (shared)  # hinge margin (nA; very large: no hinge)",
                            name=f"sl{li}_score", clock=fix, order=-50, namespace=ns)
        P = NeuronGroup(n, "ip : amp  # sum_k W_pred_ki (c_hat_k - centre cbar_k)\n"
                           "I_apical : amp  # apical current of this fixation\n"
                           "zc : 1  # centred count of the fixation that ended\n"
                           "z : 1  # count of the fixation that ended\n"
                           "g : 1  # gate of the fixation that ended\n"
                           "count_link : 1 (linked)\nzbar_link : 1 (linked)\ngate_link : 1 (linked)\n"
                           + ("mean_link : amp (linked)\nsq_link : amp**2 (linked)\n" if c.apical_gain_nA is not None else "") +
                           "apical_on : 1 (shared)  # 1: the context reaches the apical dendrite\n"
                           "centre : 1 (shared)  # 1: counts and context centred on their running means",
                        name=f"sl{li}_apical", clock=fix, order=-23, namespace=ns)
        P.count_link = linked_var(G, "count", index=idx)
        P.zbar_link = linked_var(G, "zbar", index=idx)
        P.gate_link = linked_var(score, "gate", index=zero)
        P.apical_on = 1
        P.run_regularly("zc = count_link - centre*zbar_link\nz = count_link", clock=fix, when="groups", order=-60,
                        name=f"sl{li}_centred")
        summed = Synapses(P, score, "acc_post = I_apical_pre/nA*zc_pre : 1 (summed)\nnsp_post = z_pre : 1 (summed)",
                          name=f"sl{li}_scorer", clock=fix)
        summed.connect()
        score.run_regularly("gate = int(sl_M(t - 0.5*t_fix)*acc/(nsp + 1e-9) < margin)", clock=fix, when="groups",
                            order=-30, name=f"sl{li}_hinge")
        G.gate_link = linked_var(score, "gate", index=zero)
        G.n_layer = linked_var(score, "nsp", index=zero)
        G.namespace.update(ns)
        G.run_regularly("gate = gate_link", clock=fix, when="groups", order=-29, name=f"sl{li}_gate")
        P.run_regularly("g = gate_link", clock=fix, when="groups", order=-29, name=f"sl{li}_apical_gate")
        if c.eligibility:
            S.synapses.namespace.update(ns)
            S.synapses.run_regularly("w = clip(w + sl_M(t - 0.5*t_fix)*gate_post*e_syn, w_min, w_max)\ne_syn = 0",
                                     clock=fix, when="groups", order=-28, name=f"sl{li}_apply")
        pred = Synapses(G, P, "W_pred : amp  # prediction weight (context k -> apical of i)\n"
                              "eta_pred : amp (shared)  # learning rate\n"
                              "decay_pred : 1 (shared)  # decay per learning fixation\n"
                              "W_pred_max : amp (shared, constant)  # bound\n"
                              "ip_post = W_pred*(c_hat_pre - centre_post*cbar_pre) : amp (summed)",
                        name=f"sl{li}_pred", clock=fix, namespace=ns)
        pred.connect()
        pred.W_pred_max = c.pred_max_nA * nA
        # end of a fixation: CLAPP's dW_pred ~ y z c^T (c: the context the fixation was predicted from)
        pred.run_regularly("W_pred = clip(W_pred*(1 - decay_pred) + eta_pred*sl_Mpred(t - 0.5*t_fix)*g_post*zc_post"
                           "*(c_hat_pre - centre_post*cbar_pre), -W_pred_max, W_pred_max)",
                           clock=fix, when="groups", order=-27, name=f"sl{li}_pred_learn")
        # ... then this fixation's spikes become the context (apical input) of the next one
        norm = "/(n_layer + int(n_layer < 0.5))" if c.context == "normalised" else ""
        # the running means follow the learning pairs only: zbar the fixations that learn (M != 0),
        # cbar the contexts they were predicted from
        G.run_regularly(f"zbar += mean_rate*abs(sl_M(t - 0.5*t_fix))*(count - zbar)\n"
                        f"cbar += mean_rate*abs(sl_M(t - 0.5*t_fix))*(c_hat - cbar)\nc_hat = count{norm}\n"
                        "count = 0", clock=fix, when="groups", order=-26, name=f"sl{li}_fixation")
        objs = [score, P, summed, pred]
        if c.apical_gain_nA is None:
            P.run_regularly("I_apical = apical_on*clip(ip, -I_apical_max, I_apical_max)", clock=fix, when="groups",
                            order=-20, name=f"sl{li}_apical_current")
        else:
            # divisive normalisation of the prediction across the layer: z-scored, std apical_gain
            N = NeuronGroup(1, "ip_sum : amp\nip_sq : amp**2", name=f"sl{li}_apical_norm", clock=fix, order=-21)
            stats = Synapses(P, N, "ip_sum_post = ip_pre : amp (summed)\nip_sq_post = ip_pre**2 : amp**2 (summed)",
                             name=f"sl{li}_apical_stats", clock=fix)
            stats.connect()
            P.mean_link = linked_var(N, "ip_sum", index=zero)
            P.sq_link = linked_var(N, "ip_sq", index=zero)
            P.namespace.update({"n_apical": float(n), "apical_gain": c.apical_gain_nA * nA})
            P.run_regularly("I_apical = apical_on*clip(apical_gain*(ip - mean_link/n_apical)/sqrt(clip(sq_link/n_apical"
                            " - (mean_link/n_apical)**2, 1e-30*amp**2, 1*amp**2)), -I_apical_max, I_apical_max)",
                            clock=fix, when="groups", order=-20, name=f"sl{li}_apical_current")
            objs += [N, stats]
        G.I_pred = linked_var(P, "I_apical", index=idx)
        self._objects += objs
        self._inputs.update({f"W_pred{li}": pred.W_pred, f"eta_pred{li}": pred.eta_pred,
                             f"decay_pred{li}": pred.decay_pred, f"margin{li}": score.margin,
                             f"apical_on{li}": P.apical_on, f"centre{li}": P.centre})
        self._outputs[f"W_pred{li}"] = pred.W_pred
        self._outputs[f"I_apical{li}"] = P.I_apical   # the apical current the run ends with (tests)
        return pred, score

    def _stdp_layer(self, li, size, group_size, pre, pre_rate, n_pre, last):
        from brian2 import NeuronGroup, Synapses, mV, ms, pF

        from ...devices import shared_clock

        c = self.config
        dt = c.dt_ms * ms
        eqs = ("dv/dt = (E_L - v)/tau_m - I_inh/C_m : volt (unless refractory)  # LIF membrane\n"
               "dI_inh/dt = -I_inh/tau_inh : amp  # lateral inhibition\n")
        if self.plastic:
            eqs += ("dtheta_h/dt = -theta_decay*theta_h : volt  # adaptive threshold (Diehl & Cook 2015)\n"
                    "theta_decay : hertz (shared)\nd_theta : volt (shared)\n"
                    "w_sum : 1  # sum of the input weights (for the normalisation)\n")
            reset = "v = V_reset\ntheta_h += d_theta"
        else:
            eqs += "theta_h : volt (constant)  # adaptive threshold offset (frozen)\n"
            reset = "v = V_reset"
        ns = {"E_L": -70 * mV, "tau_m": 16 * ms, "C_m": 370 * pF, "tau_inh": c.tau_inh_ms * ms,
              "V_th": -50 * mV, "V_reset": -60 * mV}
        G = NeuronGroup(size, eqs, threshold="v > V_th + theta_h", reset=reset, refractory=2 * ms, method="exact",
                        namespace=ns, name=f"sl{li}", clock=shared_clock(dt))
        G.v = -70 * mV
        self._objects.append(G)
        i, j = basal_index(c, li, n_pre, group_size)
        self._index[li] = (i, j)
        psp = self._psp(pre_rate, 16.0, c.p_connect[li - 1]) * mV
        self._inputs[f"theta{li}"] = G.theta_h
        self._inhibition(li, G, group_size)
        self._reset(li, G, "v = E_L\nI_inh = 0*amp")
        if not self.plastic:
            S = Synapses(pre, G, "w : 1  # basal weight (frozen)", on_pre="v_post += psp*w", namespace={"psp": psp},
                         name=f"sl{li}_basal", clock=shared_clock(dt))
            S.connect(i=i, j=j)
            self._objects.append(S)
            self._inputs[f"w{li}"] = S.w
            return _Layer(G, S)
        from brian2 import second

        G.theta_decay = 1 / (c.tau_theta_s * second)
        G.d_theta = c.theta_jump_mV * mV
        M = self.M
        # pair STDP (all-to-all traces), soft bounds, broadcast-gated (0 freezes)
        S = Synapses(pre, G, "w : 1  # weight in [0, 1]\n"
                             "dapre/dt = -apre/(20*ms) : 1 (event-driven)\n"
                             "dapost/dt = -apost/(20*ms) : 1 (event-driven)\n"
                             "eta : 1 (shared)  # learning rate (0: frozen)",
                     on_pre="v_post += psp*w\napre += 1\n"
                            "w_new = clip(w - eta*sl_M(t)*0.5*apost*w, 0, 1)\nw_sum_post += w_new - w\nw = w_new",
                     on_post="apost += 1\n"
                             "w_new = clip(w + eta*sl_M(t)*(apre - 0.2)*(1 - w), 0, 1)\nw_sum_post += w_new - w\nw = w_new",
                     namespace={"psp": psp, "sl_M": M}, name=f"sl{li}_basal", clock=shared_clock(dt))
        S.connect(i=i, j=j)
        S.eta = c.stdp_eta
        S.w = 0.5
        fix = self._fix_clock()
        S.namespace["w_norm"] = float(np.mean(c.w_init)) * (len(i) / size)
        # Diehl & Cook's normalisation: each neuron's input weights sum to a constant, after every fixation
        S.run_regularly("w = clip(w*w_norm/w_sum_post, 0, 1)", clock=fix, when="groups", order=-28,
                        name=f"sl{li}_normalise")
        G.namespace["w_norm"] = S.namespace["w_norm"]
        G.run_regularly("w_sum = w_norm", clock=fix, when="groups", order=-26, name=f"sl{li}_fixation")
        self._objects.append(S)
        self._inputs.update({f"theta_decay{li}": G.theta_decay, f"d_theta{li}": G.d_theta, f"w{li}": S.w,
                             f"eta{li}": S.eta, f"w_sum{li}": G.w_sum})
        self._outputs.update({f"theta{li}": G.theta_h, f"w{li}": S.w})
        return _Layer(G, S)

    # -- running --------------------------------------------------------------------------------
    def initial_state(self, seed):
        """Initial weights and thresholds drawn from ``seed`` (dict of float arrays). Layer 1's groups
        start from the same weights (shared)."""
        rng = np.random.default_rng([seed, 0])
        c = self.config
        state = {}
        for li, n in enumerate(c.neurons, start=1):
            size = n * c.groups if li == 1 else n
            n_syn = len(self._index[li][0])
            if li == 1 and c.share_weights and c.groups > 1:
                w = np.tile(rng.uniform(*c.w_init, size=n_syn // c.groups), c.groups)
            else:
                w = rng.uniform(*c.w_init, size=n_syn)
            state[f"w{li}"] = w
            state[f"wsum{li}"] = np.bincount(self._index[li][1], weights=w, minlength=size)
            state[f"theta{li}"] = np.zeros(size)
            if self.kind == "burst":
                state[f"W_pred{li}"] = rng.uniform(-c.pred_init_nA, c.pred_init_nA, size=size * size) * 1e-9
                state[f"ubarbar{li}"] = np.full(size, np.sqrt(60.0) * 1e-3)
                state[f"zbar{li}"] = np.zeros(size)
                state[f"cbar{li}"] = np.zeros(size)
        return state

    def layer_size(self, layer):
        """Neurons of ``layer`` (1-based; layer 1 counts every group)."""
        n = self.config.neurons[layer - 1]
        return n * self.config.groups if layer == 1 else n

    def run_chunk(self, state, table, modulation=None, *, learn=True, apical=True, margin=None, pred_decay=None):
        """Run one chunk; return (new state, per-layer spike counts (slots, n), info).

        ``modulation`` is the broadcast M per slot (plastic networks); ``learn=False`` freezes every
        plasticity, ``apical=False`` switches the context off; ``margin`` is the hinge margin (nA;
        None: the config's, no hinge if it has none); ``pred_decay`` overrides the config's.
        """
        c = self.config
        values = {"table": table, "t_next": table[0]}
        m = np.zeros(self.slots) if modulation is None else np.asarray(modulation, float) * (1.0 if learn else 0.0)
        if self.plastic:
            values["M"] = m
            if self.kind == "burst":
                mp = np.where(m > 0, m / max(c.fixations - 1, 1), m) if c.pred_weighting == "clapp" else m
                values["M_pred"] = mp
        margin = c.hinge_margin_nA if margin is None else margin
        for li in range(1, len(c.neurons) + 1):
            values[f"theta{li}"] = state[f"theta{li}"]
            values[f"w{li}"] = state[f"w{li}"]
            if not self.plastic:
                continue
            values[f"theta_decay{li}"] = 1 / c.tau_theta_s if learn else 0.0
            values[f"d_theta{li}"] = c.theta_jump_mV * 1e-3 if learn else 0.0
            if self.kind == "burst":
                values[f"W_pred{li}"] = state[f"W_pred{li}"]
                values[f"eta_pred{li}"] = c.eta_pred_nA * 1e-9 if learn else 0.0
                values[f"decay_pred{li}"] = (c.pred_decay if pred_decay is None else pred_decay) if learn else 0.0
                values[f"apical_on{li}"] = 1.0 if apical else 0.0
                values[f"centre{li}"] = 1.0 if c.centre else 0.0
                values[f"mean_rate{li}"] = 1.0 / c.mean_fixations if learn else 0.0
                values[f"zbar{li}"] = state[f"zbar{li}"]
                values[f"cbar{li}"] = state[f"cbar{li}"]
                values[f"ubarbar{li}"] = state[f"ubarbar{li}"]
                values[f"margin{li}"] = 1e9 if margin is None else float(margin)
            else:
                values[f"eta{li}"] = c.stdp_eta if learn else 0.0
                values[f"w_sum{li}"] = np.bincount(self._index[li][1], weights=state[f"w{li}"],
                                                   minlength=self.layer_size(li))
        out = self.experiment.run_raw(values, what="the spiking learner's chunk")
        wall = self.experiment.last_run_s
        new, counts, events = dict(state), [], []
        for li in range(1, len(c.neurons) + 1):
            if self.plastic:
                for key in (f"theta{li}", f"w{li}", f"W_pred{li}", f"ubarbar{li}", f"zbar{li}", f"cbar{li}"):
                    if key in out:
                        new[key] = out[key].astype(float)
            i, t = out[f"spikes_i{li}"], out[f"spikes_t{li}"]
            keep = t < self.slots * self.t_fix - 0.5 * self.dt
            slot = (t[keep] / self.t_fix + 1e-9).astype(np.int64)
            n = self.layer_size(li)
            counts.append(np.bincount(slot * n + i[keep], minlength=self.slots * n).reshape(self.slots, n))
            events.append(event_counts(i[keep], t[keep], self.slots, self.t_fix, n))
        self._last = out
        return new, counts, {"wall_s": wall, "run_s": getattr(self.project, "last_run_s", wall), "events": events}

    def record(self, state, chunk, table, *, apical=True, learn=True, n_slots=None):
        """Run one chunk with the recording monitors; return the traces for
        :func:`cortex_sim.plotting.plot_spiking_run` (the first ``n_slots`` fixations)."""
        from ...errors import ParameterError

        if not self.recording:
            raise ParameterError("record: this network was built without record=True")
        new, counts, _ = self.run_chunk(state, table, chunk.modulation, learn=learn, apical=apical)
        out = self._last
        t_max = (n_slots or self.slots) * self.t_fix * 1e3
        ti, ii = out["in_t"] * 1e3, out["in_i"]
        t1, i1 = out["spikes_t1"] * 1e3, out["spikes_i1"]
        burst = np.zeros(len(t1), bool)             # a spike within 16 ms of another of the same neuron
        for n in np.unique(i1):
            k = np.nonzero(i1 == n)[0]
            close = np.diff(t1[k]) < 16.0
            burst[k[1:][close]] = burst[k[:-1][close]] = True
        tv = out["rec_t"] * 1e3
        keep = tv < t_max
        res = {"input_t_ms": ti[ti < t_max], "input_i": ii[ti < t_max], "l1_t_ms": t1[t1 < t_max],
               "l1_i": i1[t1 < t_max], "burst_t_ms": t1[burst & (t1 < t_max)], "burst_i": i1[burst & (t1 < t_max)],
               "m_t_ms": np.arange(self.slots + 1) * self.t_fix * 1e3,
               "m": np.append(chunk.modulation, chunk.modulation[-1]), "v_t_ms": tv[keep], "neuron": 0,
               "fixation_starts_ms": np.arange(0, t_max, self.t_fix * 1e3)}
        if self.kind == "burst":
            res["v_s_mV"] = out["rec_v_s"][: len(tv)][keep] * 1e3
            res["v_d_mV"] = out["rec_v_d"][: len(tv)][keep] * 1e3
        else:
            res["v_s_mV"] = res["v_d_mV"] = out["rec_v"][: len(tv)][keep] * 1e3
        sel = res["m_t_ms"] <= t_max
        res["m_t_ms"], res["m"] = res["m_t_ms"][sel], res["m"][sel]
        return res, new, counts

    def share(self, state):
        """Layer 1's groups share their basal weights and thresholds: each set to the mean over the
        groups (a no-op with one group or ``share_weights=False``)."""
        c = self.config
        if c.groups == 1 or not c.share_weights:
            return state
        out = dict(state)
        for key, n in (("w1", len(self._index[1][0]) // c.groups), ("theta1", c.neurons[0]), ("wsum1", c.neurons[0]),
                       ("zbar1", c.neurons[0])):
            if key in state:
                x = np.asarray(state[key], float).reshape(c.groups, n)
                out[key] = np.tile(x.mean(axis=0), c.groups)
        return out

    def normalise(self, state):
        """Synaptic scaling: each neuron's basal weights scaled back to the total it started with
        (``wsum``; clipped to the bounds [0, 1]). A neuron whose total did not change is left as it is."""
        out = dict(state)
        for li in range(1, len(self.config.neurons) + 1):
            _, j = self.synapse_index(li)
            w = state[f"w{li}"]
            total = np.bincount(j, weights=w, minlength=self.layer_size(li))
            factor = state[f"wsum{li}"] / np.maximum(total, 1e-12)
            factor[np.abs(factor - 1) < 1e-12] = 1.0
            out[f"w{li}"] = np.clip(w * factor[j], 0.0, 1.0)
        return out

    def synapse_index(self, layer):
        """(pre, post) neuron of every basal synapse of ``layer`` (1-based), in weight order."""
        return self._index[layer]

    @property
    def work(self):
        return self.project.work

    def close(self):
        """Remove this process's run folder."""
        self.project.close()


def _s():
    from brian2 import second

    return second
