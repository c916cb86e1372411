"""Spiking CLAPP: two-compartment neurons learn image representations with Clopath plasticity
gated by the saccade broadcast (Brian2, compiled once, streamed in chunks).

The network (per layer l = 1, 2, ...; SCIENCE.md §6 maps every CLAPP term to its spiking form):

- **Neurons**: the package's two-compartment burst neuron (Naud & Sprekeler 2018,
  :func:`cortex_sim.models.two_compartment`). We keep the published model rather than a cheaper
  one: measured, a 2-layer network of 64 + 64 of them with 32 input channels runs at several
  simulated seconds per wall second on one core, fast enough for digits and mnist5k epochs on
  2 cores (benchmarks/RESULTS.md), and its calcium plateau is what turns a basal spike plus apical
  input into a burst -- the mechanism this network is about.
- **Basal synapses** (feedforward, from the ON/OFF input channels or the layer below): delta PSPs on
  the soma, plastic with the package's Clopath binding in the accumulator form, every update
  multiplied by the broadcast M(t) (:class:`cortex_sim.plasticity.Broadcast`).
- **Apical dendrite**: the context. The spikes of the layer during the previous fixation, weighted
  by plastic prediction weights W_pred, give a constant apical current during the current one,
  ``I_pred_i = clip(sum_k W_pred_ik c_k, -I_max, I_max)`` (c_k: spikes of neuron k in the previous
  fixation; I_max below the level that fires a plateau alone, so a plateau needs a back-propagating
  spike as well). Where the prediction coincides with basal drive the neuron bursts, and the
  prolonged depolarisation is what Clopath LTP needs (the pairing experiment shows it): with M = +1
  (same image) the basal synapses of predicted, active neurons potentiate; with M = -1 (the
  fixation after a saccade) the same coincidence depresses them. This is CLAPP's
  ``dw_ij ~ y (W_pred c)_i rho'(a_i) x_j`` with the apical prediction acting through bursts.
- **Prediction weights**: at the end of every fixation,
  ``W_pred_ik += eta_pred M z_i c_k`` (z_i: spikes of neuron i in the fixation that ended), CLAPP's
  ``dW_pred ~ y z c^T``, clipped to +-W_pred_max (bounded in place of the hinge gate). With
  ``pred_weighting='clapp'`` the positive fixations of an image share a weight of 1 (-1 after a
  saccade, +1/(F - 1) on the F - 1 others: the mean over positive and over negative pairs, as in
  CLAPP's loss). Measured on digits it read out worse (layer 1, seeds 0/1: 69.7/58.1 % against
  70.6/67.5 % with plain M), so plain M is the default; with it about a third of the prediction
  weights end at +W_pred_max.
- **Inhibition**: every spike of a layer adds an inhibitory current to the other neurons of the layer
  (an interneuron pool reduced to its effect, decay tau_inh): a soft winner-take-all that keeps
  neurons from all learning the same feature.
- **Homeostasis**: an adaptive threshold per neuron, ``theta_h += d_theta`` at each spike, decaying
  with tau_theta (Diehl & Cook 2015), plus Clopath's own LTD homeostasis ('relative': A_LTD scales
  with the squared mean depolarisation).

The comparison networks are run-time settings of the same compiled project (no recompile):
``spiking-clopath`` is plain Clopath (M = +1 always, no apical context; the receptive-field
development of Clopath et al. 2010), ``spiking-random`` is the network untrained, and the ablations
set M = 0 (broadcast off), shuffle M within a chunk, or switch the apical context off. ``stdp-wta``
is a Diehl & Cook (2015)-style network of the same size (LIF neurons with adaptive thresholds, the
same lateral inhibition, pair STDP with weight normalisation), in a project of its own.

Training streams images through the compiled binary with Brian2's documented
``device.run(run_args=..., results_directory=...)``: each chunk of fixations is one run whose input
spike table, broadcast schedule and starting weights are run_args; the weights, prediction
weights and thresholds it ends with start the next chunk (membrane state restarts at rest between
chunks). A checkpoint (npz, no pickle) is written after every chunk; resuming gives bit-identical
weights because every chunk's input is drawn from (seed, epoch, chunk) only
(:mod:`cortex_sim.learning.fixations`).

Evaluation freezes everything (M = 0, no threshold or prediction plasticity, apical context off),
shows every patch of every image, and reads out per-neuron spike counts per fixation, pooled per
image as in the rate path.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .._files import atomic_path
from ..devices import check_completed, check_memory
from ..errors import ParameterError, check_choice, check_int, check_number

__all__ = ["SPIKING_RULES", "ABLATIONS", "SpikingConfig", "SPIKING_PRESETS", "spiking_preset",
           "SpikingNetwork", "train_spiking", "encode_spiking", "SpikingTrained", "make_network", "basal_index"]

#: the spiking learners; the first three share one compiled project
SPIKING_RULES = ("spiking-clapp", "spiking-clopath", "spiking-random", "stdp-wta")
#: ablations of spiking-clapp (run-time settings of the same project)
ABLATIONS = ("none", "broadcast-off", "shuffled-saccades", "no-apical")


@dataclass(frozen=True)
class SpikingConfig:
    """Settings of the spiking learner (defaults: the 'digits' preset).

    Attributes
    ----------
    dataset : str
    patch_size, patch_stride : int
        The patch grid (as the rate path: digits 4/2, mnist5k 10/9).
    steps_ahead : int
        Rows between consecutive fixations of an image.
    fixations : int
        Fixations per image during training (M = -1 for the first, +1 for the others).
    neurons : tuple of int
        Neurons per layer (at least 2 layers).
    t_fix_ms, dt_ms : float
        Fixation duration and time step (ms).
    method : str
        Integrator of the two-compartment neurons. The learner uses forward Euler at 0.2 ms: measured
        on the BAC protocol it gives the published behaviour exactly as RK4 at 0.1 ms does (1 / 0 / 3
        spikes for soma only / apical only / paired, plateau 32.0 ms against 32.0 ms;
        tests/test_bac_firing.py) at a fraction of the cost.
    rate_max_hz, contrast_gain : float
        ON/OFF input encoding (:func:`~cortex_sim.learning.fixations.on_off_rates`).
    slots : int
        Fixations per chunk (one run of the compiled binary; a multiple of the training fixations
        per image and of the patches per image).
    pred_weighting : {'plain', 'clapp'}
        How the broadcast weighs the prediction-weight updates (see the module docstring).
    normalise : bool
        Synaptic scaling: after every chunk each neuron's basal weights are scaled back to the sum
        they started with (burst networks; stdp-wta normalises after every fixation, as Diehl & Cook).
    epochs : int
    max_train_images : int or None
    drive_mV : float
        Mean somatic depolarisation (mV above rest, before inhibition) that the average input
        gives at the mean initial weight; sets each layer's PSP per unit weight.
    hidden_rate_hz : float
        The rate assumed for a layer's neurons when it sets the PSP of the layer above (measured
        about 8 Hz with the default inhibition).
    w_init : tuple (low, high)
        Uniform initial basal weights (in [0, 1], the Clopath bounds).
    p_connect : tuple of float
        Basal connection probability of each layer (drawn once from a fixed seed: part of the
        compiled structure); sparse connections make the layers' random starting features diverse.
    inh_pA, tau_inh_ms : float
        Lateral inhibition: current jump per spike of another neuron of the layer, and its decay.
    apical_max_nA : float
        Largest apical prediction current (a plateau alone needs about 0.6 nA).
    pred_init_nA, pred_max_nA, eta_pred_nA : float
        Initial range (+-), bound (+-) and learning rate (per spike pair) of W_pred, nA.
    lr : float
        Multiplies the Clopath amplitudes A_LTP and A_LTD (visual-cortex set).
    theta_jump_mV, tau_theta_s : float
        Adaptive threshold: jump per spike and decay.
    stdp_eta : float
        stdp-wta: learning rate of the pair STDP.
    """

    dataset: str = "digits"
    patch_size: int = 4
    patch_stride: int = 2
    steps_ahead: int = 1
    fixations: int = 3
    neurons: tuple = (64, 64)
    t_fix_ms: float = 100.0
    dt_ms: float = 0.2
    method: str = "euler"
    rate_max_hz: float = 150.0
    contrast_gain: float = 2.0
    slots: int = 72
    epochs: int = 2
    max_train_images: int | None = None
    drive_mV: float = 60.0
    hidden_rate_hz: float = 8.0
    w_init: tuple = (0.0, 1.0)
    p_connect: tuple = (1.0, 0.25)
    inh_pA: float = 300.0
    tau_inh_ms: float = 10.0
    apical_max_nA: float = 0.45
    pred_init_nA: float = 0.0
    pred_max_nA: float = 0.1
    eta_pred_nA: float = 0.002
    lr: float = 0.2
    theta_jump_mV: float = 0.05
    tau_theta_s: float = 5.0
    stdp_eta: float = 0.01
    normalise: bool = True
    pred_weighting: str = "plain"

    def __post_init__(self):
        from .data import DATASETS

        check_choice("dataset", self.dataset, DATASETS)
        check_int("patch_size", self.patch_size, low=2)
        check_int("patch_stride", self.patch_stride, low=1)
        check_int("steps_ahead", self.steps_ahead, low=1)
        check_int("fixations", self.fixations, low=2)
        if len(self.neurons) < 2:
            raise ParameterError(f"neurons: got {tuple(self.neurons)}; allowed: at least 2 layers, e.g. (64, 64)")
        for n in self.neurons:
            check_int("neurons", n, low=2, high=100000)
        check_number("dt_ms", self.dt_ms, low=0.001, high=1.0)
        check_choice("method", self.method, ("euler", "rk4", "rk2", "heun"))
        check_number("t_fix_ms", self.t_fix_ms, low=0, low_open=True, high=10000)
        if self.t_fix_ms < 10 * self.dt_ms or abs(self.t_fix_ms / self.dt_ms - round(self.t_fix_ms / self.dt_ms)) > 1e-6:
            raise ParameterError(
                f"t_fix_ms: got {self.t_fix_ms} at dt = {self.dt_ms} ms; allowed: a whole number of time steps, "
                f"at least 10 ({10 * self.dt_ms:g} ms; fixations of 50-100 ms are typical)")
        check_number("rate_max_hz", self.rate_max_hz, low=0, low_open=True, high=1000 / self.dt_ms)
        check_number("contrast_gain", self.contrast_gain, low=0, low_open=True)
        check_int("slots", self.slots, low=2)
        check_int("epochs", self.epochs, low=1)
        if self.max_train_images is not None:
            check_int("max_train_images", self.max_train_images, low=1)
        check_number("drive_mV", self.drive_mV, low=0, low_open=True, high=200)
        check_number("hidden_rate_hz", self.hidden_rate_hz, low=0, low_open=True, high=1000)
        lo, hi = self.w_init
        check_number("w_init", lo, low=0, high=1)
        check_number("w_init", hi, low=lo, high=1)
        if len(self.p_connect) != len(self.neurons):
            raise ParameterError(f"p_connect: got {tuple(self.p_connect)}; allowed: one probability per layer "
                                 f"({len(self.neurons)} layers)")
        for p in self.p_connect:
            check_number("p_connect", p, low=0, low_open=True, high=1)
        check_number("inh_pA", self.inh_pA, low=0)
        check_number("tau_inh_ms", self.tau_inh_ms, low=0, low_open=True)
        check_number("apical_max_nA", self.apical_max_nA, low=0, high=5)
        for name in ("pred_init_nA", "pred_max_nA", "eta_pred_nA", "theta_jump_mV", "stdp_eta"):
            check_number(name, getattr(self, name), low=0)
        check_number("lr", self.lr, low=0)
        check_number("tau_theta_s", self.tau_theta_s, low=0, low_open=True)
        check_choice("pred_weighting", self.pred_weighting, ("plain", "clapp"))

    def grid(self, image_shape):
        """(rows, cols) of the patch grid."""
        from .data import grid_shape

        rows, cols = grid_shape(image_shape, self.patch_size, self.patch_stride)
        if (self.fixations - 1) * self.steps_ahead >= rows:
            raise ParameterError(f"fixations: got {self.fixations} fixations {self.steps_ahead} row(s) apart on a "
                                 f"{rows}-row patch grid; allowed: (fixations - 1) x steps_ahead < {rows}")
        if self.slots % (rows * cols) or self.slots % self.fixations:
            raise ParameterError(f"slots: got {self.slots}; allowed: a multiple of the {rows * cols} patches "
                                 f"per image and of the {self.fixations} fixations per image")
        return rows, cols

    def to_json(self):
        return json.dumps(asdict(self), sort_keys=True)


SPIKING_PRESETS = {
    "digits": SpikingConfig(),
    "mnist5k": SpikingConfig(dataset="mnist5k", patch_size=10, patch_stride=9, steps_ahead=1, neurons=(100, 100),
                             epochs=1),
}


def spiking_preset(name, **overrides):
    """A spiking preset by data set name ('digits', 'mnist5k'), with optional field overrides."""
    check_choice("spiking preset", name, SPIKING_PRESETS)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(SPIKING_PRESETS[name], **overrides)


def _kind(rule):
    check_choice("rule", rule, SPIKING_RULES)
    return "stdp" if rule == "stdp-wta" else "burst"


# ---------------------------------------------------------------------------------------------
# The network


@dataclass
class _Layer:
    group: object
    basal: object          # ClopathSynapses / AccumulatorSynapses, or the STDP Synapses
    pred: object = None    # prediction synapses (burst kind)
    inh: object = None
    spikes: object = None


class SpikingNetwork:
    """The compiled spiking learner: build once, run chunk after chunk with run_args.

    Parameters
    ----------
    config : SpikingConfig
    kind : {'burst', 'stdp'}
        Two-compartment Clopath/CLAPP network or the stdp-wta network.
    n_inputs : int
        ON/OFF input channels (2 patch_size^2).
    mean_input_rate_hz : float
        Mean total rate of the input channels over training fixations (sets the layer-1 PSP).
    device : {'cpp', 'cuda'}
    compile_only : bool, compute_capability : float
        For the CUDA device without a GPU.
    record : bool
        Also record the input spikes and the somatic and apical voltage of one layer-1 neuron
        (:meth:`record`; a project of its own).
    generate_only : bool
        Write the project's sources without compiling them (for code-generation tests).
    """

    def __init__(self, config: SpikingConfig, kind: str, n_inputs: int, mean_input_rate_hz: float, *,
                 device="cpp", compile_only=False, compute_capability=None, report=None, record=False,
                 generate_only=False):
        from brian2 import Network, SpikeMonitor, second

        from ..devices import activate

        check_choice("kind", kind, ("burst", "stdp"))
        check_choice("device", device, ("cpp", "cuda"))
        self.config, self.kind, self.n_inputs, self.device = config, kind, n_inputs, device
        self.report = report
        activate(device, compile_only=compile_only or generate_only, compute_capability=compute_capability)
        c = config
        self.t_fix = c.t_fix_ms * 1e-3
        self.duration = c.slots * self.t_fix
        self.n_rows = _rows(c)
        self._build_input()
        self.layers = []
        pre, pre_rate = self.inp, mean_input_rate_hz
        self._index = {}
        for li, n in enumerate(c.neurons, start=1):
            last = li == len(c.neurons)
            layer = (self._burst_layer if kind == "burst" else self._stdp_layer)(li, n, pre, pre_rate, last)
            layer.spikes = SpikeMonitor(layer.group, name=f"sl{li}_spikes")
            self.layers.append(layer)
            pre, pre_rate = layer.group, n * c.hidden_rate_hz
        objs = [self.inp]
        for L in self.layers:
            objs += [L.group, L.spikes, *(L.basal.objects if hasattr(L.basal, "objects") else [L.basal])]
            objs += [x for x in (L.pred, L.inh) if x is not None]
        self.recorder = None
        if record:
            from brian2 import StateMonitor

            from ..devices import stable_clock

            self.input_spikes = SpikeMonitor(self.inp, name="sl_input_spikes")
            self.recorder = StateMonitor(self.layers[0].group, ["v_s", "v_d"] if kind == "burst" else ["v"],
                                         record=[0], name="sl_record", clock=stable_clock(0.5e-3 * second, "sl_rec"))
            objs += [self.input_spikes, self.recorder]
        self.net = Network(*objs, name="spiking_learner")
        self.net.run(self.duration * second)
        self.project, self.compiled, self.compile_s = self._build(compile_only or generate_only, generate_only)

    # -- building blocks ----------------------------------------------------------------------
    def _build_input(self):
        from brian2 import NeuronGroup, TimedArray, second

        from ..devices import shared_clock
        from ..models.base import PRESYNAPTIC_TRACE_EQS

        from .fixations import NEVER_S

        dt = self.config.dt_ms * 1e-3
        self.table = TimedArray(np.full((self.n_rows, self.n_inputs), NEVER_S) * second, dt=1 * second,
                                name="sl_input_table")
        eqs = "t_next : second  # time of the next input spike\nk_spike : 1  # spikes emitted so far\n"
        self.inp = NeuronGroup(self.n_inputs, eqs + PRESYNAPTIC_TRACE_EQS, threshold="t >= t_next - 0.5*dt",
                               reset="k_spike += 1\nt_next = sl_table(k_spike*second, i)",
                               namespace={"sl_table": self.table}, name="sl_input", method="exact",
                               clock=shared_clock(dt * second))
        self.inp.t_next = NEVER_S * second
        self.inp.tau_xbar = 15e-3 * second
        self.broadcast_values = np.zeros(self.config.slots)
        from ..plasticity import Broadcast

        self.broadcast = Broadcast(self.broadcast_values, self.t_fix * second, name="sl_broadcast")
        self.M = self.broadcast.timed_array()
        # the prediction weights learn from the same schedule with CLAPP's weighting: the mean over
        # the positive pairs and the mean over the negative pairs (Illing et al. 2021), i.e. the
        # F - 1 positive fixations of an image share a weight of 1, the negative one has -1
        self.M_pred = Broadcast(np.zeros(self.config.slots), self.t_fix * second, name="sl_broadcast_pred").timed_array()

    def _fix_clock(self):
        from brian2 import second

        from ..devices import stable_clock

        if not hasattr(self, "_fclock"):
            self._fclock = stable_clock(self.t_fix * second, "sl_fixation_clock")
        return self._fclock

    def _connect(self, li, n_pre, n_post):
        self._index[li] = basal_index(self.config, li, n_pre, n_post)
        return self._index[li]

    def _psp(self, pre_rate_hz, tau_ms, p_connect=1.0):
        """PSP per unit weight (mV) so that the mean input at the mean initial weight depolarises the
        soma by drive_mV (delta synapses: rate x jump x tau)."""
        w_mean = float(np.mean(self.config.w_init))
        return self.config.drive_mV / max(pre_rate_hz * p_connect * tau_ms * 1e-3 * w_mean, 1e-9)

    def _rule(self):
        from brian2 import mV

        from ..params import preset

        r = preset("clopath", "visual")
        return r.with_(A_LTP=r.A_LTP * self.config.lr, A_LTD=r.A_LTD * self.config.lr, homeostasis="relative",
                       u_ref_squared=60 * mV**2)

    def _burst_layer(self, li, n, pre, pre_rate, last):
        from brian2 import Synapses, mV, ms, nA, pA, second

        from ..devices import shared_clock
        from ..models import build_neuron_group, two_compartment
        from ..plasticity.clopath import clopath_synapses

        c = self.config
        dt = c.dt_ms * ms
        model = two_compartment("naud2018", dt=dt, soma_current="-I_inh", dend_current="I_pred", method=c.method)
        model = replace(model, threshold="v_s > v_T + theta_h",
                        reset=model.reset + "\ncount += 1\ntheta_h += d_theta")
        extra = (
            "dI_inh/dt = -I_inh/tau_inh : amp  # lateral inhibition from the other neurons of the layer\n"
            "I_pred : amp  # apical prediction current during this fixation\n"
            "A_next : amp  # prediction gathered from this fixation's spikes (apical input of the next)\n"
            "count : 1  # spikes in this fixation\n"
            "c_prev : 1  # spikes in the previous fixation (the context)\n"
            "dtheta_h/dt = -theta_decay*theta_h : volt  # homeostatic threshold offset\n"
            "theta_decay : hertz (shared)  # 1/tau_theta while learning, 0 when frozen\n"
            "d_theta : volt (shared)  # threshold jump per spike (0: frozen)\n"
            "apical_on : 1 (shared)  # 1: the context reaches the apical dendrite\n")
        rule = self._rule()
        G = build_neuron_group(model, n, name=f"sl{li}", dt=dt, plasticity=rule, accumulator=True,
                               presynaptic_trace=not last, extra_equations=extra,
                               namespace={"tau_inh": c.tau_inh_ms * ms},
                               delay_impl="register" if self.device == "cuda" else None)
        G.theta_decay = 1 / (c.tau_theta_s * second)
        G.d_theta = c.theta_jump_mV * mV
        G.apical_on = 1
        basal = clopath_synapses(pre, G, rule, name=f"sl{li}_basal", dt=dt, voltage="v_s",
                                 input_gate=model.input_gate,
                                 psp_scale=self._psp(pre_rate, 16.0, c.p_connect[li - 1]) * mV,
                                 w0=0.5, broadcast=self.broadcast, formulation="accumulator",
                                 connect=self._connect(li, len(pre), n))
        inh = Synapses(G, G, "J_inh : amp (shared, constant)  # inhibitory current per spike",
                       on_pre="I_inh_post += J_inh", name=f"sl{li}_inh", clock=shared_clock(dt))
        inh.connect(condition="i != j")
        inh.J_inh = c.inh_pA * pA
        pred = Synapses(G, G, "W_pred : amp  # prediction weight (context k -> apical of i)\n"
                              "eta_pred : amp (shared)  # learning rate per spike pair\n"
                              "W_pred_max : amp (shared, constant)  # bound",
                        on_pre="A_next_post += W_pred", name=f"sl{li}_pred", clock=shared_clock(dt),
                        namespace={"sl_Mpred": self.M_pred, "t_fix": self.t_fix * second})
        pred.connect()
        pred.W_pred_max = c.pred_max_nA * nA
        pred.eta_pred = c.eta_pred_nA * nA
        fix = self._fix_clock()
        # end of a fixation (start of the next): CLAPP's dW_pred ~ y z c^T ...
        pred.run_regularly("W_pred = clip(W_pred + eta_pred*sl_Mpred(t - 0.5*t_fix)*count_post*c_prev_pre, "
                           "-W_pred_max, W_pred_max)", clock=fix, when="start", order=0, name=f"sl{li}_pred_learn")
        # ... then the context of the fixation that ended becomes the apical input of the next one
        G.namespace["I_apical_max"] = c.apical_max_nA * nA
        G.run_regularly("I_pred = apical_on*clip(A_next, -I_apical_max, I_apical_max)\nc_prev = count\n"
                        "count = 0\nA_next = 0*amp", clock=fix, when="start", order=1, name=f"sl{li}_fixation")
        return _Layer(G, basal, pred, inh)

    def _stdp_layer(self, li, n, pre, pre_rate, last):
        from brian2 import NeuronGroup, Synapses, mV, ms, pA, pF, second

        from ..devices import shared_clock

        c = self.config
        dt = c.dt_ms * ms
        eqs = ("dv/dt = (E_L - v)/tau_m - I_inh/C_m : volt (unless refractory)  # LIF membrane\n"
               "dI_inh/dt = -I_inh/tau_inh : amp  # lateral inhibition\n"
               "dtheta_h/dt = -theta_decay*theta_h : volt  # adaptive threshold (Diehl & Cook 2015)\n"
               "theta_decay : hertz (shared)\n"
               "d_theta : volt (shared)\n"
               "count : 1  # spikes in this fixation\n"
               "w_sum : 1  # sum of the input weights (for the normalisation)\n")
        ns = {"E_L": -70 * mV, "tau_m": 16 * ms, "C_m": 370 * pF, "tau_inh": c.tau_inh_ms * ms,
              "V_th": -50 * mV, "V_reset": -60 * mV}
        G = NeuronGroup(n, eqs, threshold="v > V_th + theta_h", reset="v = V_reset\ntheta_h += d_theta\ncount += 1",
                        refractory=2 * ms, method="exact", namespace=ns, name=f"sl{li}", clock=shared_clock(dt))
        G.v = -70 * mV
        G.theta_decay = 1 / (c.tau_theta_s * second)
        G.d_theta = c.theta_jump_mV * mV
        psp = self._psp(pre_rate, 16.0, c.p_connect[li - 1]) * mV
        # pair STDP (nearest-neighbour-free, all-to-all traces), soft bounds, broadcast-gated (0 freezes)
        S = Synapses(pre, G, "w : 1  # weight in [0, 1]\n"
                             "dapre/dt = -apre/(20*ms) : 1 (event-driven)\n"
                             "dapost/dt = -apost/(20*ms) : 1 (event-driven)\n"
                             "eta : 1 (shared)  # learning rate (0: frozen)",
                     on_pre="v_post += psp*w\napre += 1\n"
                            "w_new = clip(w - eta*sl_M(t)*0.5*apost*w, 0, 1)\nw_sum_post += w_new - w\nw = w_new",
                     on_post="apost += 1\n"
                             "w_new = clip(w + eta*sl_M(t)*(apre - 0.2)*(1 - w), 0, 1)\nw_sum_post += w_new - w\nw = w_new",
                     namespace={"psp": psp, "sl_M": self.M}, name=f"sl{li}_basal", clock=shared_clock(dt))
        S.connect(i=self._connect(li, len(pre), n)[0], j=self._index[li][1])
        S.eta = c.stdp_eta
        S.w = 0.5
        fix = self._fix_clock()
        S.namespace["w_norm"] = float(np.mean(c.w_init)) * len(pre) * c.p_connect[li - 1]
        # Diehl & Cook's normalisation: each neuron's input weights sum to a constant, after every fixation
        S.run_regularly("w = clip(w*w_norm/w_sum_post, 0, 1)", clock=fix, when="start", order=0,
                        name=f"sl{li}_normalise")
        G.namespace["w_norm"] = S.namespace["w_norm"]
        G.run_regularly("count = 0\nw_sum = w_norm", clock=fix, when="start", order=1, name=f"sl{li}_fixation")
        inh = Synapses(G, G, "J_inh : amp (shared, constant)", on_pre="I_inh_post += J_inh", name=f"sl{li}_inh",
                       clock=shared_clock(dt))
        inh.connect(condition="i != j")
        inh.J_inh = c.inh_pA * pA
        return _Layer(G, S, None, inh)

    def _build(self, compile_only, generate_only=False):
        """Generate and compile the project in the shared cache (one process at a time; make
        rebuilds nothing when the sources are unchanged), then give this process a run folder of
        its own: hard links to the binary and its static arrays, so that parallel processes never
        share (or delete) each other's run_args files."""
        import fcntl

        import brian2

        from ..devices import build_project, cache_root, network_fingerprint, private_run_folder

        dev = brian2.get_device()
        project = cache_root() / self.device / f"spiking_{self.kind}-{network_fingerprint(self.net)}"
        project.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with open(project / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            compiled, _ = build_project(dev, project, compile=not generate_only, report=self.report,
                                        device=self.device)
            if compile_only:
                return project, compiled, time.perf_counter() - t0
            self.work = private_run_folder(project)
        return project, compiled, time.perf_counter() - t0

    def close(self):
        """Remove this process's run folder."""
        shutil.rmtree(getattr(self, "work", ""), ignore_errors=True)

    # -- running --------------------------------------------------------------------------------
    def initial_state(self, seed):
        """Initial weights and thresholds drawn from ``seed`` (dict of float arrays)."""
        rng = np.random.default_rng([seed, 0])
        c = self.config
        state = {}
        for li, n in enumerate(c.neurons, start=1):
            state[f"w{li}"] = rng.uniform(*c.w_init, size=len(self._index[li][0]))
            state[f"wsum{li}"] = np.bincount(self._index[li][1], weights=state[f"w{li}"], minlength=n)
            state[f"theta{li}"] = np.zeros(n)
            if self.kind == "burst":
                state[f"W_pred{li}"] = rng.uniform(-c.pred_init_nA, c.pred_init_nA, size=n * n) * 1e-9
                state[f"ubarbar{li}"] = np.full(n, np.sqrt(60.0) * 1e-3)
        return state

    def run_chunk(self, state, table, modulation, *, learn=True, apical=True, run_dir="run"):
        """Run one chunk; return (new state, per-layer spike counts (slots, n), info).

        ``modulation`` is the broadcast M per slot; ``learn=False`` freezes every plasticity
        (evaluation), ``apical=False`` switches the context off.
        """
        import brian2
        from brian2 import amp, mV, nA, second, volt

        c = self.config
        dev = brian2.get_device()
        args = {self.table: table * second, self.inp.t_next: table[0] * second,
                self.M: np.asarray(modulation, float) * (1 if learn else 0)}
        if self.kind == "burst":
            m = np.asarray(modulation, float) * (1 if learn else 0)
            if c.pred_weighting == "clapp":
                m = np.where(m > 0, m / max(c.fixations - 1, 1), m)
            args[self.M_pred] = m
        for li, L in enumerate(self.layers, start=1):
            G = L.group
            args[G.theta_h] = state[f"theta{li}"] * volt
            args[G.theta_decay] = (1 / c.tau_theta_s if learn else 0.0) * brian2.Hz
            args[G.d_theta] = (c.theta_jump_mV if learn else 0.0) * mV
            if self.kind == "burst":
                S = L.basal.synapses
                args[S.w] = state[f"w{li}"]
                args[L.pred.W_pred] = state[f"W_pred{li}"] * amp
                args[L.pred.eta_pred] = (c.eta_pred_nA if learn else 0.0) * nA
                args[G.apical_on] = 1.0 if apical else 0.0
                args[G.ubarbar] = state[f"ubarbar{li}"] * volt
            else:
                args[L.basal.w] = state[f"w{li}"]
                args[L.basal.eta] = c.stdp_eta if learn else 0.0
                args[G.w_sum] = np.bincount(self._index[li][1], weights=state[f"w{li}"], minlength=len(G))
        t0 = time.perf_counter()
        dev.project_dir = str(self.work)   # run_args files go to this process's run folder
        dev.run(str(self.work), with_output=False, run_args=args, results_directory=os.path.join("results", run_dir))
        wall = time.perf_counter() - t0
        check_completed(dev, "the chunk run")
        new, counts = dict(state), []
        for li, L in enumerate(self.layers, start=1):
            G = L.group
            new[f"theta{li}"] = np.asarray(G.theta_h_[:], float)
            if self.kind == "burst":
                new[f"w{li}"] = L.basal.weights()
                new[f"W_pred{li}"] = np.asarray(L.pred.W_pred_[:], float)
                new[f"ubarbar{li}"] = np.asarray(G.ubarbar_[:], float)
            else:
                new[f"w{li}"] = np.asarray(L.basal.w[:], float)
            i = np.asarray(L.spikes.i[:])
            t = np.asarray(L.spikes.t_[:])
            slot = np.minimum((t / self.t_fix + 1e-9).astype(int), c.slots - 1)
            counts.append(np.bincount(slot * len(G) + i, minlength=c.slots * len(G)).reshape(c.slots, len(G)))
        self._cleanup(dev)
        return new, counts, {"wall_s": wall, "run_s": getattr(dev, "_last_run_time", wall)}

    def record(self, state, chunk, table, *, apical=True, learn=True, n_slots=None):
        """Run one chunk with the recording monitors; return the traces for
        :func:`cortex_sim.plotting.plot_spiking_run` (the first ``n_slots`` fixations)."""
        from brian2 import mV

        if self.recorder is None:
            raise ParameterError("record: this network was built without record=True")
        new, counts, _ = self.run_chunk(state, table, chunk.modulation, learn=learn, apical=apical)
        t_max = (n_slots or self.config.slots) * self.t_fix * 1e3
        sp1 = self.layers[0].spikes
        ti, ii = np.asarray(self.input_spikes.t_[:]) * 1e3, np.asarray(self.input_spikes.i[:])
        t1, i1 = np.asarray(sp1.t_[:]) * 1e3, np.asarray(sp1.i[:])
        burst = np.zeros(len(t1), bool)             # a spike within 16 ms of another of the same neuron
        for n in np.unique(i1):
            k = np.nonzero(i1 == n)[0]
            close = np.diff(t1[k]) < 16.0
            burst[k[1:][close]] = burst[k[:-1][close]] = True
        rec = self.recorder
        tv = np.asarray(rec.t_[:]) * 1e3
        keep = tv < t_max
        out = {"input_t_ms": ti[ti < t_max], "input_i": ii[ti < t_max], "l1_t_ms": t1[t1 < t_max],
               "l1_i": i1[t1 < t_max], "burst_t_ms": t1[burst & (t1 < t_max)], "burst_i": i1[burst & (t1 < t_max)],
               "m_t_ms": np.arange(self.config.slots + 1) * self.t_fix * 1e3,
               "m": np.append(chunk.modulation, chunk.modulation[-1]), "v_t_ms": tv[keep], "neuron": 0,
               "fixation_starts_ms": np.arange(0, t_max, self.t_fix * 1e3)}
        if self.kind == "burst":
            out["v_s_mV"] = np.asarray(rec.v_s[0] / mV)[keep]
            out["v_d_mV"] = np.asarray(rec.v_d[0] / mV)[keep]
        else:
            out["v_s_mV"] = out["v_d_mV"] = np.asarray(rec.v[0] / mV)[keep]
        sel = out["m_t_ms"] <= t_max
        out["m_t_ms"], out["m"] = out["m_t_ms"][sel], out["m"][sel]
        return out, new, counts

    def normalise(self, state):
        """Synaptic scaling: each neuron's basal weights scaled back to the total it started with
        (``wsum``; clipped to the bounds [0, 1]). A neuron whose total did not change is left as it is."""
        out = dict(state)
        for li, n in enumerate(self.config.neurons, start=1):
            _, j = self.synapse_index(li)
            w = state[f"w{li}"]
            total = np.bincount(j, weights=w, minlength=n)
            factor = state[f"wsum{li}"] / np.maximum(total, 1e-12)
            factor[np.abs(factor - 1) < 1e-12] = 1.0
            out[f"w{li}"] = np.clip(w * factor[j], 0.0, 1.0)
        return out

    def synapse_index(self, layer):
        """(pre, post) neuron of every basal synapse of ``layer`` (1-based), in weight order."""
        return self._index[layer]

    def _cleanup(self, dev):
        """Remove this run's argument files (one per distinct value; they would pile up)."""
        for name in list(getattr(dev, "run_args_arrays", [])):
            for path in (self.work / "static_arrays" / name, self.work / "static_arrays" / (name + ".lock")):
                if path.exists():
                    path.unlink()


def basal_index(config, layer, n_pre, n_post):
    """(pre, post) neuron of every basal synapse of ``layer`` (1-based), in weight order.

    All-to-all, or random with ``config.p_connect[layer - 1]`` drawn from a fixed seed (the
    structure, and so the compiled project, is the same in every run); every neuron gets at least
    one input.
    """
    p = config.p_connect[layer - 1]
    if p >= 1:
        i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    else:
        mask = np.random.default_rng([12345, layer]).random((n_pre, n_post)) < p
        mask[0, ~mask.any(axis=0)] = True
        i, j = np.nonzero(mask)
    return i.ravel().astype(np.int64), j.ravel().astype(np.int64)


def _rows(config):
    from .fixations import chunk_rows

    return chunk_rows(config.rate_max_hz, config.slots, config.t_fix_ms * 1e-3)


# ---------------------------------------------------------------------------------------------
# Training and evaluation


@dataclass
class SpikingTrained:
    """A trained spiking learner: its final state and the training record."""

    rule: str
    seed: int
    config: SpikingConfig
    state: dict
    history: list
    train_s: float
    ablation: str = "none"
    compiled: list = field(default_factory=list)   # True per project build that compiled
    resumed_from: tuple | None = None


def _input_rates(ds, config):
    from .data import patch_grid
    from .fixations import on_off_rates

    patches = patch_grid(ds.images, config.patch_size, config.patch_stride)
    return on_off_rates(patches, config.rate_max_hz, config.contrast_gain)


def _shuffle_m(m, rng):
    used = m != 0
    out = m.copy()
    out[used] = rng.permutation(m[used])
    return out


def _save(path, header, state):
    arrays = {f"s__{k}": v for k, v in state.items()}
    arrays["header"] = np.array(json.dumps(header))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def _load(path):
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            state = {k[3:]: z[k] for k in z.files if k.startswith("s__")}
    except (OSError, ValueError, KeyError) as exc:
        raise ParameterError(f"checkpoint: {str(path)!r} is not a readable cortex_sim spiking checkpoint ({exc})") from exc
    return header, state


def make_network(rule, config, rates, *, device="cpp", report=None, compile_only=False, compute_capability=None,
                 record=False, generate_only=False):
    """The compiled network of ``rule`` for input rates ``rates`` (n, rows, cols, channels).

    Refuses, before building, a network whose estimated memory (basal synapses and the n x n
    lateral prediction weights, :func:`~cortex_sim.devices.check_memory`) cannot fit.
    """
    n_pre, synapses = int(rates.shape[-1]), 0
    for n, p in zip(config.neurons, config.p_connect):
        synapses += n_pre * n * p + n * n
        n_pre = n
    check_memory("neurons", tuple(config.neurons), synapses, sum(config.neurons))
    mean_rate = float(rates.sum(axis=-1).mean())
    return SpikingNetwork(config, _kind(rule), rates.shape[-1], mean_rate, device=device, report=report,
                          compile_only=compile_only, compute_capability=compute_capability, record=record,
                          generate_only=generate_only)


def train_spiking(rule, ds, config: SpikingConfig, seed=0, *, ablation="none", checkpoint=None, resume=False,
                  progress=True, device="cpp", net=None, report=None, on_chunk=None):
    """Train the spiking learner ``rule`` on the training images of ``ds``.

    Parameters
    ----------
    rule : one of :data:`SPIKING_RULES`
    ds : cortex_sim.learning.data.Dataset
    ablation : one of :data:`ABLATIONS` (spiking-clapp only)
    checkpoint : path or None
        Written after every chunk; with ``resume`` the run continues from it (same settings).
    net : SpikingNetwork or None
        A network already built for these settings (reused, e.g. across seeds).
    on_chunk : callable or None
        ``on_chunk(epoch, chunk_index, state, counts)`` after every chunk (its checkpoint written).

    Returns
    -------
    SpikingTrained, SpikingNetwork
    """
    from tqdm.auto import tqdm

    from .fixations import spike_table, training_chunks

    check_choice("rule", rule, SPIKING_RULES)
    check_choice("ablation", ablation, ABLATIONS)
    if ablation != "none" and rule != "spiking-clapp":
        raise ParameterError(f"ablation: got {ablation!r} for rule {rule!r}; allowed: ablations of 'spiking-clapp' only")
    seed = check_int("seed", seed, low=0)
    rows, cols = config.grid(ds.shape)
    rates_all = _input_rates(ds, config)
    rates = rates_all[ds.train]
    if net is None:
        net = make_network(rule, config, rates_all, device=device, report=report)
    state = net.initial_state(seed)
    header = {"rule": rule, "seed": seed, "ablation": ablation, "config": json.loads(config.to_json()),
              "epoch": 0, "chunk": 0, "history": [], "train_s": 0.0, "n_images": len(rates)}
    start_epoch, start_chunk, resumed = 0, 0, None
    if resume and checkpoint is not None and Path(checkpoint).exists():
        saved, saved_state = _load(checkpoint)
        same = {**saved, "config": {**saved["config"], "epochs": config.epochs}}
        for key in ("rule", "seed", "ablation", "config", "n_images"):
            if same[key] != header[key]:
                raise ParameterError(f"resume: checkpoint {str(checkpoint)!r} has {key} = {saved[key]!r}, this run "
                                     f"{header[key]!r}; allowed: the same settings, or start again without --resume")
        state, header = saved_state, same
        start_epoch, start_chunk = saved["epoch"], saved["chunk"]
        resumed = (start_epoch, start_chunk)
    n_use = len(rates) if config.max_train_images is None else min(len(rates), config.max_train_images)
    per_chunk = config.slots // config.fixations
    n_chunks = -(-n_use // per_chunk)
    epochs = 0 if rule == "spiking-random" else config.epochs
    apical = rule == "spiking-clapp" and ablation != "no-apical"
    for epoch in range(start_epoch, epochs):
        order = np.random.default_rng([seed, 1, epoch]).permutation(len(rates))[:n_use]
        chunks = training_chunks(rates, order, slots=config.slots, steps_ahead=config.steps_ahead,
                                 rng=np.random.default_rng([seed, 2, epoch]), epoch=epoch,
                                 fixations=config.fixations)
        first = start_chunk if epoch == start_epoch else 0
        bar = tqdm(total=n_chunks, initial=first, desc=f"{rule} seed {seed} epoch {epoch + 1}/{epochs}",
                   disable=not progress, leave=False, unit="chunk")
        t_epoch = time.perf_counter()
        stats = {"rate_hz": [], "burst_frac_pos": [], "burst_frac_neg": []}
        for chunk in chunks:
            if chunk.index < first:
                continue
            m = chunk.modulation
            if rule in ("spiking-clopath", "stdp-wta"):
                m = (chunk.image >= 0).astype(float)             # M = +1 on every fixation shown
            elif ablation == "broadcast-off":
                m = np.zeros_like(m)
            elif ablation == "shuffled-saccades":
                m = _shuffle_m(m, np.random.default_rng([seed, 3, epoch, chunk.index]))
            table = spike_table(chunk.rates, net.t_fix, config.dt_ms * 1e-3,
                                np.random.default_rng([seed, 4, epoch, chunk.index]), net.n_rows)
            state, counts, info = net.run_chunk(state, table, m, learn=True, apical=apical)
            if config.normalise and net.kind == "burst":
                state = net.normalise(state)
            _chunk_stats(stats, counts[0], chunk.modulation, net.t_fix)
            header["train_s"] += info["wall_s"]
            header["epoch"], header["chunk"] = epoch, chunk.index + 1
            if chunk.index + 1 == n_chunks:
                header["epoch"], header["chunk"] = epoch + 1, 0
                header["history"].append({"epoch": epoch + 1, "seconds": time.perf_counter() - t_epoch,
                                          **{k: float(np.nanmean(v)) if v else None for k, v in stats.items()}})
            if checkpoint is not None:
                _save(checkpoint, header, state)
            bar.update(1)
            bar.set_postfix(rate=f"{np.mean(stats['rate_hz'][-1:]):.1f} Hz")
            if on_chunk is not None:
                on_chunk(epoch, chunk.index, state, counts)
        bar.close()
    trained = SpikingTrained(rule, seed, config, state, header["history"], header["train_s"], ablation,
                             [net.compiled], resumed)
    return trained, net


def _chunk_stats(stats, counts, modulation, t_fix):
    """Mean rate and burst share of layer 1 in the positive and negative fixations of a chunk."""
    used = modulation != 0
    if not used.any():
        return
    stats["rate_hz"].append(float(counts[used].mean() / t_fix))
    for key, sel in (("burst_frac_pos", modulation > 0), ("burst_frac_neg", modulation < 0)):
        if sel.any():
            stats[key].append(float((counts[sel] >= 2).mean()))


def encode_spiking(net, trained_state, ds, config, seed=0, *, progress=True):
    """Spike counts of every layer for every patch of every image, weights frozen.

    Returns
    -------
    list of ndarray, one per layer, shape (n_images, rows, cols, n_neurons)
    """
    from tqdm.auto import tqdm

    from .fixations import evaluation_chunks, spike_table

    rows, cols = config.grid(ds.shape)
    rates = _input_rates(ds, config)
    out = [np.zeros((len(rates), rows, cols, n)) for n in config.neurons]
    per = config.slots // (rows * cols)
    n_chunks = -(-len(rates) // per)
    for chunk in tqdm(evaluation_chunks(rates, slots=config.slots), total=n_chunks, disable=not progress,
                      leave=False, desc="spiking readout: encoding", unit="chunk"):
        table = spike_table(chunk.rates, net.t_fix, config.dt_ms * 1e-3,
                            np.random.default_rng([seed, 5, chunk.index]), net.n_rows)
        _, counts, _ = net.run_chunk(trained_state, table, chunk.modulation, learn=False, apical=False)
        used = chunk.image >= 0
        for layer, cnt in zip(out, counts):
            layer[chunk.image[used], chunk.position[used, 0], chunk.position[used, 1]] = cnt[used]
    return out


