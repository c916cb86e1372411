"""Settings of the spiking learner and its presets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace

from ...errors import ParameterError, check_choice, check_int, check_number

__all__ = ["SpikingConfig", "spiking_preset"]

#: how the previous fixation's spikes become the apical current (see the package docstring)
CONTEXTS = ("normalised", "sign")
#: fixation schedules (:mod:`cortex_sim.learning.fixations`)
SCHEDULES = ("swap", "walk", "tour")


@dataclass(frozen=True)
class SpikingConfig:
    """Settings of the spiking learner (defaults: the 'digits' preset).

    Attributes
    ----------
    dataset : str
    patch_size, patch_stride : int
        The patch grid (pixels).
    glimpse : (int, int)
        Patches seen at once in one fixation (rows, columns of a block of neighbouring patches).
        Layer 1 has one group of ``neurons[0]`` neurons per patch of the glimpse, with shared
        basal weights (``share_weights``); the layers above see all of layer 1, i.e. the whole
        glimpse. (1, 1): one patch per fixation (the first design).
    schedule : {'swap', 'tour', 'walk'}
        ``swap`` (default): ``fixations`` glimpses ``steps_ahead`` rows apart down one column of
        the grid of non-overlapping glimpses; at every move the image is swapped for another with
        probability 1/2 (M = -1: the saccade, CLAPP's negative pair) or kept (M = +1); the first
        fixation of an image has no context (M = 0). No pixel is shared between consecutive
        fixations, and position alone does not tell a positive pair from a negative one.
        ``tour``: distinct glimpse positions of one image, then a saccade to the next image
        (M = -1 on its first fixation); ``walk``: single patches ``steps_ahead`` rows apart down
        one column (the first design; needs ``glimpse = (1, 1)``).
    steps_ahead : int
        ``walk`` only: rows between consecutive fixations.
    fixations : int
        Fixations per image (or per swap sequence) during training.
    neurons : tuple of int
        Neurons per layer (at least 2 layers; layer 1: per patch of the glimpse).
    t_fix_ms, dt_ms : float
        Fixation duration and time step (ms).
    method : str
        Integrator of the two-compartment neurons. Forward Euler at 0.2 ms gives the published BAC
        behaviour exactly as RK4 at 0.1 ms does (1 / 0 / 3 spikes for soma only / apical only /
        paired, plateau 32.0 ms against 32.0 ms; tests/test_bac_firing.py) at a fraction of the cost.
    rate_max_hz, contrast_gain : float
        ON/OFF input encoding (:func:`~cortex_sim.learning.fixations.on_off_rates`).
    slots : int
        Fixations per training chunk (one run of the compiled binary; a multiple of the training
        fixations per image and of the fixation positions per image).
    eval_slots : int
        Fixations per chunk of the frozen evaluation network (larger chunks: fewer runs).
    eval_repeats : int
        R: presentations of every evaluation image with independent input spikes, counts summed
        (readout at R and at 1 both reported).
    context : {'normalised', 'sign'}
        ``normalised``: the apical current is ``I_pred = W_pred c / sum(c)`` (c: the layer's spike
        counts in the previous fixation, scaled to unit sum as EchoSpike's echo), a weighted mean
        of the prediction weights, graded; ``sign``: ``clip(W_pred c, -I_max, I_max)`` with raw
        counts (the first design; it saturates at the clip).
    code : {'events', 'spikes'}
        What the prediction (context, learning, score) counts: events, a burst counting once (the
        feedforward code of Naud & Sprekeler's multiplexing, which the apical input leaves mostly
        alone), or every spike (the first design: the apical input then inflates the very counts
        the prediction learns from).
    centre : bool
        Counts and context enter the prediction learning, the apical current and the score centred
        on their running means over fixations (a covariance rule: without it the learned W_pred is
        dominated by the mean activity and separates same-image from saccade pairs barely better
        than chance).
    mean_fixations : float
        Time constant of those running means, in fixations.
    pred_decay : float
        Decay of the prediction weights per learning fixation (``W_pred *= 1 - pred_decay``), which
        keeps them in range without reaching their bound.
    eligibility : bool
        Basal Clopath changes of a fixation are collected per synapse and applied at its end,
        multiplied by the broadcast M and the hinge gate; False: M multiplies them online (the
        first design; no hinge possible).
    hinge_margin_nA : float or None
        CLAPP's hinge as a second broadcast factor: at the end of a fixation the layer's prediction
        score ``s = sum_i I_pred_i z_i / sum_i z_i`` (nA; z: spike counts of the fixation) is
        compared with the margin; learning (basal and prediction) is off when ``M s >= margin``
        (the prediction was already right). None: no hinge.
    pred_weighting : {'plain', 'clapp'}
        How the broadcast weighs the prediction-weight updates: plain M, or CLAPP's mean over the
        positive and over the negative pairs (the F - 1 positive fixations share a weight of 1).
    normalise : bool
        Synaptic scaling: after every chunk each neuron's basal weights are scaled back to the sum
        they started with (stdp-wta normalises after every fixation, as Diehl & Cook).
    reset_state : bool
        At the start of every fixation the neurons' membrane, adaptation, dynamic threshold and
        inhibition return to rest (as EchoSpike resets between samples; saccadic suppression):
        without it, adaptation left by the previous fixation makes the fixation after a saccade
        (other neurons driven, unadapted) burst more than a second fixation of the same image.
    share_weights : bool
        Layer 1's groups (one per patch of the glimpse) share their basal weights and thresholds:
        averaged after every chunk (a convolution learned with local updates).
    epochs : int
    max_train_images : int or None
    drive_mV : float
        Mean somatic depolarisation (mV above rest, before inhibition) that the average input
        gives at the mean initial weight; sets each layer's PSP per unit weight.
    hidden_rate_hz : float
        The rate assumed for a layer's neurons when it sets the PSP of the layer above.
    w_init : tuple (low, high)
        Uniform initial basal weights (in [0, 1], the Clopath bounds).
    p_connect : tuple of float
        Basal connection probability of each layer (drawn once from a fixed seed: part of the
        compiled structure; layer 1's mask is the same for every group).
    inh_pA, tau_inh_ms : float
        Lateral inhibition within a layer (layer 1: within a group): current jump per spike of
        another neuron, and its decay.
    apical_max_nA : float
        Largest apical prediction current (a plateau alone needs about 0.6 nA).
    apical_gain_nA : float or None
        Divisive normalisation of the prediction across the layer: the apical current is
        ``gain (p_i - mean p) / std p`` (p = W_pred^T c), so its spread is set by the gain whatever the
        scale of W_pred (clipped at ``apical_max_nA``). None: ``p`` itself.
    pred_init_nA, pred_max_nA, eta_pred_nA : float
        Initial range (+-), bound (+-) and learning rate (per spike pair, or per spike and unit of
        normalised context) of W_pred, nA.
    lr : float
        Multiplies the Clopath amplitudes A_LTP and A_LTD (visual-cortex set).
    theta_jump_mV, tau_theta_s : float
        Adaptive threshold: jump per spike and decay.
    stdp_eta : float
        stdp-wta: learning rate of the pair STDP.
    """

    dataset: str = "digits"
    patch_size: int = 4
    patch_stride: int = 4
    glimpse: tuple = (1, 2)
    schedule: str = "swap"
    steps_ahead: int = 1
    fixations: int = 2
    neurons: tuple = (64, 128)
    t_fix_ms: float = 100.0
    dt_ms: float = 0.2
    method: str = "euler"
    rate_max_hz: float = 150.0
    contrast_gain: float = 2.0
    slots: int = 72
    eval_slots: int = 288
    eval_repeats: int = 5
    context: str = "normalised"
    code: str = "events"
    centre: bool = True
    mean_fixations: float = 100.0
    pred_decay: float = 0.001
    eligibility: bool = True
    hinge_margin_nA: float | None = None
    pred_weighting: str = "plain"
    normalise: bool = True
    share_weights: bool = True
    reset_state: bool = False
    epochs: int = 2
    max_train_images: int | None = None
    drive_mV: float = 60.0
    hidden_rate_hz: float = 8.0
    w_init: tuple = (0.0, 1.0)
    p_connect: tuple = (1.0, 0.25)
    inh_pA: float = 300.0
    tau_inh_ms: float = 10.0
    apical_max_nA: float = 0.45
    apical_gain_nA: float | None = 0.15
    pred_init_nA: float = 0.0
    pred_max_nA: float = 0.45
    eta_pred_nA: float = 2.0
    lr: float = 0.2
    theta_jump_mV: float = 0.05
    tau_theta_s: float = 5.0
    stdp_eta: float = 0.01

    def __post_init__(self):
        from ..data import DATASETS

        check_choice("dataset", self.dataset, DATASETS)
        check_int("patch_size", self.patch_size, low=2)
        check_int("patch_stride", self.patch_stride, low=1)
        if len(tuple(self.glimpse)) != 2:
            raise ParameterError(f"glimpse: got {self.glimpse!r}; allowed: (rows, cols) of patches, e.g. (2, 2)")
        for g in self.glimpse:
            check_int("glimpse", g, low=1, high=16)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("steps_ahead", self.steps_ahead, low=1)
        check_int("fixations", self.fixations, low=2)
        if len(self.neurons) < 2:
            raise ParameterError(f"neurons: got {tuple(self.neurons)}; allowed: at least 2 layers, e.g. (64, 64)")
        for n in self.neurons:
            check_int("neurons", n, low=2, high=100000)
        check_number("dt_ms", self.dt_ms, low=0.001, high=1.0)
        check_choice("method", self.method, ("euler", "rk4_exact", "rk4", "rk2", "heun"))
        check_number("t_fix_ms", self.t_fix_ms, low=0, low_open=True, high=10000)
        if self.t_fix_ms < 10 * self.dt_ms or abs(self.t_fix_ms / self.dt_ms - round(self.t_fix_ms / self.dt_ms)) > 1e-6:
            raise ParameterError(
                f"t_fix_ms: got {self.t_fix_ms} at dt = {self.dt_ms} ms; allowed: a whole number of time steps, "
                f"at least 10 ({10 * self.dt_ms:g} ms; fixations of 50-100 ms are typical)")
        check_number("rate_max_hz", self.rate_max_hz, low=0, low_open=True, high=1000 / self.dt_ms)
        check_number("contrast_gain", self.contrast_gain, low=0, low_open=True)
        check_int("slots", self.slots, low=2)
        check_int("eval_slots", self.eval_slots, low=1)
        check_int("eval_repeats", self.eval_repeats, low=1, high=100)
        check_choice("context", self.context, CONTEXTS)
        check_choice("code", self.code, ("events", "spikes"))
        check_number("pred_decay", self.pred_decay, low=0, high=1, high_open=True)
        check_number("mean_fixations", self.mean_fixations, low=1, high=1e7)
        if self.hinge_margin_nA is not None:
            check_number("hinge_margin_nA", self.hinge_margin_nA, low=-5, high=5)
            if not self.eligibility:
                raise ParameterError("hinge_margin_nA: got a margin without eligibility; allowed: a hinge gate only "
                                     "with eligibility=True (the gate is known at the end of a fixation)")
        check_choice("pred_weighting", self.pred_weighting, ("plain", "clapp"))
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
        check_number("inh_pA", self.inh_pA, low=0, high=1e5)
        check_number("tau_inh_ms", self.tau_inh_ms, low=0, low_open=True, high=1e4)
        check_number("apical_max_nA", self.apical_max_nA, low=0, high=5)
        if self.apical_gain_nA is not None:
            check_number("apical_gain_nA", self.apical_gain_nA, low=0, low_open=True, high=5)
        for name in ("pred_init_nA", "pred_max_nA"):
            check_number(name, getattr(self, name), low=0, high=5)
        check_number("eta_pred_nA", self.eta_pred_nA, low=0, high=1000)
        check_number("theta_jump_mV", self.theta_jump_mV, low=0, high=50)
        check_number("stdp_eta", self.stdp_eta, low=0, high=1)
        check_number("lr", self.lr, low=0, high=1000)
        check_number("tau_theta_s", self.tau_theta_s, low=0, low_open=True)

    @property
    def groups(self):
        """Patches per glimpse: the groups of layer 1."""
        return int(self.glimpse[0]) * int(self.glimpse[1])

    def grid(self, image_shape):
        """(rows, cols) of the patch grid; checks that the schedule fits it."""
        from ..data import grid_shape
        from ..fixations import glimpse_grid

        rows, cols = grid_shape(image_shape, self.patch_size, self.patch_stride)
        gr, gc = glimpse_grid((rows, cols), self.glimpse)
        if self.schedule in ("walk", "swap"):
            if (self.fixations - 1) * self.steps_ahead >= gr:
                raise ParameterError(f"fixations: got {self.fixations} fixations {self.steps_ahead} row(s) apart on a "
                                     f"{gr}-row grid of fixation positions; allowed: (fixations - 1) x steps_ahead < {gr}")
        else:
            if self.fixations > gr * gc:
                raise ParameterError(f"fixations: got {self.fixations} on a grid of {gr} x {gc} glimpse positions; "
                                     f"allowed: at most {gr * gc} (distinct positions)")
        per_image = self.positions((rows, cols))
        if self.slots % self.fixations:
            raise ParameterError(f"slots: got {self.slots}; allowed: a multiple of the {self.fixations} fixations "
                                 "per image")
        if self.slots % per_image or self.eval_slots % per_image:
            raise ParameterError(f"slots: got {self.slots} (eval_slots {self.eval_slots}); allowed: multiples of the "
                                 f"{per_image} fixation positions per image")
        return rows, cols

    def positions(self, patch_grid_shape):
        """Fixation positions per image in evaluation (glimpses tiling the grid, or every patch)."""
        rows, cols = patch_grid_shape
        return (rows // self.glimpse[0]) * (cols // self.glimpse[1])

    def to_json(self):
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, d):
        """A config from its JSON dict (lists back to tuples; fields it lacks take their defaults
        of the first design, the only one stored without them)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ParameterError(f"config: got unknown field(s) {unknown}; allowed: {', '.join(sorted(names))}")
        base = {k: getattr(LEGACY, k) for k in names - set(d)}
        return cls(**base, **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


#: the first design (landed 2026-11-30): single patches walking down a column, 3 fixations per
#: image, raw-count context through a clip, online broadcast, no hinge
LEGACY = SpikingConfig(patch_size=4, patch_stride=2, glimpse=(1, 1), schedule="walk", fixations=3, neurons=(64, 64),
                       context="sign", code="spikes", centre=False, pred_decay=0.0, reset_state=False, apical_gain_nA=None, eligibility=False, hinge_margin_nA=None,
                       share_weights=False, pred_max_nA=0.1, eta_pred_nA=0.002)

SPIKING_PRESETS = {
    "digits": SpikingConfig(),
    "mnist5k": SpikingConfig(dataset="mnist5k", patch_size=7, patch_stride=7, glimpse=(2, 2), neurons=(100, 200),
                             epochs=1),
    "digits-legacy": LEGACY,
    "mnist5k-legacy": replace(LEGACY, dataset="mnist5k", patch_size=10, patch_stride=9, neurons=(100, 100), epochs=1),
}


def spiking_preset(name, **overrides):
    """A spiking preset by name ('digits', 'mnist5k', or the first design: 'digits-legacy',
    'mnist5k-legacy'), with optional field overrides."""
    check_choice("spiking preset", name, SPIKING_PRESETS)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(SPIKING_PRESETS[name], **overrides)
