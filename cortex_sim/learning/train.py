"""Self-supervised training of the encoder, with per-epoch checkpoints and exact resume.

One epoch visits every training image once in a random order; each batch of images is cut into
patch grids, every patch is encoded, and the rule's weight updates (:mod:`.rules`) are applied with
Adam (Kingma & Ba 2015; the paper's optimiser). The random streams are derived from (seed, epoch)
only, so a run resumed from the checkpoint of epoch e continues to bit-identical weights.

Checkpoints are ``.npz`` files (no pickle) written atomically: the weights, Adam's moments and
step count, the loss history and a JSON header with the rule, seed and configuration.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import ParameterError, TrainingDiverged, check_choice, check_int, check_number
from . import checkpoint as _checkpoint
from .backend import array_module, to_device, to_host
from .data import DATASETS, clapp_pairs, grid_shape, patch_grid, random_crops, saccade_pairs
from .encoder import F32, Architecture, init_weights
from .rules import PUBLISHED_CLAPP, RULE_REGISTRY, RULES, init_rule_weights, rule_gradients

__all__ = ["LearnConfig", "learn_preset", "TrainedEncoder", "train_encoder"]


@dataclass(frozen=True)
class LearnConfig:
    """Settings of a representation-learning run (defaults: mnist5k).

    Attributes
    ----------
    dataset : str
    patch_size, patch_stride : int
        Patch side and grid step in pixels (mnist5k: 3 x 3 grid of 10 x 10 patches, stride 9).
    channels, pool_after : tuple of int
        Encoder architecture (see :class:`~cortex_sim.learning.encoder.Architecture`).
    steps_ahead : tuple of int
        Rows between context and target patches (one W_pred per entry) of clapp-s, dfa, pc, bp.
    offsets : tuple of int
        Rows ahead predicted by the published rules (clapp, clapp-fb): the official code's
        skip_step 1 and prediction_step 5 give 2..6; those that fit the patch grid are used.
    batch_size : int
        Images per batch (negatives come from the other images of the batch).
    n_negatives : int
        Negative (saccade) targets per context patch.
    lr : float
        Adam step size.
    epochs : int
    max_train_images : int or None
        Use at most this many training images per epoch (None: all).
    pc_steps, pc_rate, pc_beta : int, float, float
        Relaxation steps, step size and output nudge of predictive coding.
    crop, flip : int or None, bool
        Train on a random ``crop`` x ``crop`` crop of each image, mirrored left-right at random
        when ``flip`` (the official STL-10 augmentation; None: the whole image).
    normalise : (mean, std) or None
        Pixels become (x - mean) / std before the encoder, in training and in the readouts (the
        official STL-10 grayscale values 0.4120 and 0.2570).
    """

    dataset: str = "mnist5k"
    patch_size: int = 10
    patch_stride: int = 9
    channels: tuple = (32, 64, 128, 256)
    pool_after: tuple = (2, 4)
    steps_ahead: tuple = (1, 2)
    offsets: tuple = (2, 3, 4, 5, 6)
    batch_size: int = 32
    n_negatives: int = 4
    lr: float = 3e-4
    epochs: int = 8
    max_train_images: int | None = None
    pc_steps: int = 4
    pc_rate: float = 0.2
    pc_beta: float = 0.1
    crop: int | None = None
    flip: bool = False
    normalise: tuple | None = None

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        check_int("patch_size", self.patch_size, low=2)
        check_int("patch_stride", self.patch_stride, low=1)
        check_int("batch_size", self.batch_size, low=2)
        check_int("n_negatives", self.n_negatives, low=1, high=self.batch_size - 1)
        check_int("epochs", self.epochs, low=1)
        check_number("lr", self.lr, low=0, low_open=True)
        check_int("pc_steps", self.pc_steps, low=1)
        check_number("pc_rate", self.pc_rate, low=0, low_open=True, high=1)
        check_number("pc_beta", self.pc_beta, low=0, low_open=True)
        if self.max_train_images is not None:
            check_int("max_train_images", self.max_train_images, low=self.batch_size)
        for k in self.steps_ahead:
            check_int("steps_ahead", k, low=1)
        for k in self.offsets:
            check_int("offsets", k, low=1)
        if self.crop is not None:
            check_int("crop", self.crop, low=self.patch_size)
        if self.normalise is not None:
            if len(self.normalise) != 2:
                raise ParameterError(f"normalise: got {self.normalise!r}; allowed: (mean, std) or None")
            check_number("normalise std", self.normalise[1], low=0, low_open=True)
        self.architecture.output_size(self.patch_size)

    @property
    def architecture(self):
        return Architecture(tuple(self.channels), tuple(self.pool_after))

    def grid(self, image_shape):
        """(rows, cols) of the patch grid on images of ``image_shape``."""
        rows, cols = grid_shape(image_shape, self.patch_size, self.patch_stride)
        if rows <= max(self.steps_ahead):
            raise ParameterError(
                f"steps_ahead: got {self.steps_ahead} with a {rows}-row patch grid; allowed: < {rows}")
        if rows <= min(self.offsets):
            raise ParameterError(
                f"offsets: got {self.offsets} with a {rows}-row patch grid; allowed: at least one < {rows}")
        return rows, cols

    def training_shape(self, image_shape):
        """Shape of the images the encoder trains on: the crop, or the images themselves."""
        return (self.crop, self.crop) if self.crop is not None else tuple(image_shape)

    def prepare(self, images):
        """Normalised pixels (float32) as the encoder sees them."""
        if self.normalise is None:
            return images
        mean, std = self.normalise
        return ((images - np.float32(mean)) / np.float32(std)).astype(np.float32)

    def offsets_used(self, rows):
        """The offsets of the published rules that fit a grid of ``rows`` rows."""
        return tuple(k for k in self.offsets if k < rows)

    def to_json(self):
        return json.dumps(asdict(self), sort_keys=True)


#: Named settings. 'stl10-paper' is the configuration of Illing et al. 2021 (VGG-6 of the official
#: code: 128-256-M-256-512-M-1024-M-1024-M, 16 x 16 patches with stride 8 on 64 x 64 grayscale crops,
#: Adam 2e-4, 300 epochs); see :func:`training_flops` for its cost on a CPU.
PRESETS = {
    "mnist5k": LearnConfig(),
    "digits": LearnConfig(dataset="digits", patch_size=4, patch_stride=2, channels=(16, 32, 64, 128),
                          pool_after=(2, 4), steps_ahead=(1,), epochs=8, batch_size=32),
    # the spiking learner's width on the same patches (for a side-by-side comparison): two layers, no pooling
    "digits-2layer": LearnConfig(dataset="digits", patch_size=4, patch_stride=2, channels=(64, 64), pool_after=(),
                                 steps_ahead=(1,), epochs=8, batch_size=32),
    "mnist5k-2layer": LearnConfig(channels=(100, 100), pool_after=()),
    # the official script: grayscale normalised with the train+unlabeled statistics, random 64-px
    # crops of the 96-px images with horizontal flips, trained on the unlabeled set
    "stl10-paper": LearnConfig(dataset="stl10", patch_size=16, patch_stride=8,
                               channels=(128, 256, 256, 512, 1024, 1024), pool_after=(2, 4, 5, 6),
                               steps_ahead=(2,), n_negatives=1, batch_size=32, lr=2e-4, epochs=300,
                               crop=64, flip=True, normalise=(0.4120, 0.2570)),
}


def learn_preset(name, **overrides):
    """A preset by name ('mnist5k', 'digits', 'stl10-paper'), with optional field overrides."""
    check_choice("preset", name, PRESETS)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(PRESETS[name], **overrides)


def training_flops(config, image_shape, n_images, rule="clapp"):
    """Multiply-adds x 2 of one training epoch (convolutions only), counting the work done.

    Forward and weight update each cost one convolution per layer; bp adds the input gradients of
    layers 2..L; pc adds, at relaxation step i, one forward and one input gradient of every layer the
    errors have reached (layers above L - i). Returns (flops_per_epoch, flops_per_patch_forward).
    """
    check_choice("rule", rule, RULES)
    arch = config.architecture
    rows, cols = config.grid(image_shape)
    side, c_in, per_layer = config.patch_size, arch.in_channels, []
    for layer, c_out in enumerate(arch.channels, start=1):
        per_layer.append(2 * side * side * 9 * c_in * c_out)
        if layer in arch.pool_after:
            side //= 2
        c_in = c_out
    fwd, top = sum(per_layer), len(per_layer) - 1
    below = RULE_REGISTRY[rule].below
    if not RULE_REGISTRY[rule].learns:
        work = 0
    elif below == "bp":
        work = 2 * fwd + sum(per_layer[1:])
    elif below == "pc":
        work = 2 * fwd + sum(2 * sum(per_layer[max(0, top - i) + 1:]) for i in range(config.pc_steps))
    else:
        work = 2 * fwd
    return work * rows * cols * n_images, fwd


@dataclass
class TrainedEncoder:
    """Result of :func:`train_encoder`: weights ready for :func:`~.encoder.encode_patches`."""

    rule: str
    seed: int
    config: LearnConfig
    weights: list
    history: list  # per epoch: {"epoch", "loss", "gate", "seconds"}
    train_s: float
    resumed_from: int = 0


class _Adam:
    """Adam on a dict of named float32 arrays (in place), on ``xp``'s device."""

    def __init__(self, lr, names_shapes, beta1=0.9, beta2=0.999, eps=1e-8, xp=np):
        self.lr, self.b1, self.b2, self.eps, self.xp = lr, beta1, beta2, eps, xp
        self.t = 0
        self.m = {k: xp.zeros(s, dtype=F32) for k, s in names_shapes.items()}
        self.v = {k: xp.zeros(s, dtype=F32) for k, s in names_shapes.items()}

    def step(self, params, grads):
        self.t += 1
        c1 = 1 - self.b1 ** self.t
        c2 = 1 - self.b2 ** self.t
        for name, g in grads.items():
            m, v = self.m[name], self.v[name]
            m *= F32(self.b1)
            m += F32(1 - self.b1) * g
            v *= F32(self.b2)
            v += F32(1 - self.b2) * g * g
            params[name] -= F32(self.lr / c1) * m / (self.xp.sqrt(v / F32(c2)) + F32(self.eps))


def _flat_params(weights, learned):
    params = {}
    for layer, (w, b) in enumerate(weights):
        params[f"enc{layer}_W"] = w
        params[f"enc{layer}_b"] = b
    params.update(learned)
    return params


def _save_checkpoint(path, header, params, adam):
    host = {g: {k: to_host(v) for k, v in named.items()} for g, named in (("p", params), ("m", adam.m), ("v", adam.v))}
    _checkpoint.save_checkpoint(path, header, host)


def load_checkpoint(path):
    """(header dict, params, adam m, adam v) from a checkpoint written by :func:`train_encoder`.

    The fixed random matrices of dfa are not stored: they follow from the seed.
    """
    header, parts = _checkpoint.load_checkpoint(path, "pmv")
    return header, parts["p"], parts["m"], parts["v"]


def _init_rng(seed):
    """The stream of a run's initial weights: the encoder's first, then the rule's own."""
    return np.random.default_rng([seed, 0])


def untrained_weights(config, seed):
    """The encoder weights :func:`train_encoder` starts from for ``seed`` (the untrained network
    that a trained one is compared with)."""
    return init_weights(config.architecture, _init_rng(check_int("seed", seed, low=0)))


def train_encoder(rule, images, config=None, seed=0, *, checkpoint=None, resume=False, progress=True,
                  backend="numpy"):
    """Train the encoder on ``images`` with ``rule``.

    Parameters
    ----------
    rule : str
        One of :data:`~cortex_sim.learning.rules.RULES`.
    images : ndarray, float32, shape (n, h, w)
        Training images (labels are never used).
    config : LearnConfig
    seed : int
        Seeds the initial weights and, with the epoch number, the order and the negatives.
    checkpoint : path, optional
        Written after every epoch.
    resume : bool
        Continue from ``checkpoint`` if it exists (its rule, seed and settings must match; ``epochs``
        may be larger, to train on). A checkpoint of more epochs than asked is used as it is.
    progress : bool
        Show a tqdm bar per epoch (on stderr).
    backend : {'numpy', 'cupy'}
        Where the encoder computes (:mod:`.backend`): NumPy on the CPU, or CuPy on a GPU (the same
        code; weights agree with NumPy's to float32 rounding). Checkpoints and the returned weights
        are NumPy arrays either way, so a run may resume on the other backend.
    """
    from tqdm.auto import tqdm

    from .data import check_images

    check_choice("rule", rule, RULES)
    xp = array_module(backend)
    config = config or LearnConfig()
    seed = check_int("seed", seed, low=0)
    images = check_images(images)
    rows, cols = config.grid(config.training_shape(images.shape[1:]))
    if len(images) < config.batch_size:
        raise ParameterError(f"images: got {len(images)} training images; allowed: at least batch_size = "
                             f"{config.batch_size}")
    arch = config.architecture
    published = rule in PUBLISHED_CLAPP
    n_steps = len(config.offsets_used(rows)) if published else len(config.steps_ahead)

    init_rng = _init_rng(seed)
    weights = init_weights(arch, init_rng)
    learned, fixed = init_rule_weights(rule, arch, n_steps, init_rng)
    weights, learned, fixed = to_device(weights, xp), to_device(learned, xp), to_device(fixed, xp)
    params = _flat_params(weights, learned)
    adam = _Adam(config.lr, {k: v.shape for k, v in params.items()}, xp=xp)
    header = {"rule": rule, "seed": seed, "config": json.loads(config.to_json()), "epoch": 0,
              "adam_t": 0, "history": [], "train_s": 0.0, "n_images": len(images)}
    start = 0
    if resume and checkpoint is not None and Path(checkpoint).exists():
        saved, p, m, v = load_checkpoint(checkpoint)
        same = {**saved, "config": {**saved["config"], "epochs": config.epochs}}  # more epochs: continue
        for key in ("rule", "seed", "config", "n_images"):
            if same[key] != header[key]:
                raise ParameterError(
                    f"resume: checkpoint {str(checkpoint)!r} has {key} = {saved[key]!r}, this run "
                    f"{header[key]!r}; allowed: the same settings, or start again without --resume")
        for k in params:  # in place: weights and learned share these arrays
            params[k][...] = xp.asarray(p[k])
        adam.m, adam.v, adam.t = to_device(m, xp), to_device(v, xp), saved["adam_t"]
        header = same
        start = min(saved["epoch"], config.epochs)

    n_use = len(images) if config.max_train_images is None else min(len(images), config.max_train_images)
    n_batches = n_use // config.batch_size
    for epoch in range(start, config.epochs if RULE_REGISTRY[rule].learns else 0):
        t0 = time.perf_counter()
        rng = np.random.default_rng([seed, 1, epoch])
        order = rng.permutation(len(images))[:n_batches * config.batch_size].reshape(n_batches, -1)
        losses, gates = [], []
        bar = tqdm(order, desc=f"{rule} seed {seed} epoch {epoch + 1}/{config.epochs}",
                   disable=not progress, leave=False, unit="batch")
        for idx in bar:
            batch = images[idx]
            if config.crop is not None:
                batch = random_crops(batch, config.crop, config.flip, rng)
            patches = patch_grid(config.prepare(batch), config.patch_size, config.patch_stride)
            x = xp.asarray(patches.reshape(-1, config.patch_size, config.patch_size, 1))
            pairs = to_device(make_pairs(rule, config, len(idx), rows, cols, rng), xp)
            with np.errstate(over="ignore", invalid="ignore"):   # divergence: one error after the epoch
                grads, stats = rule_gradients(rule, x, weights, learned, fixed, arch, pairs,
                                              config.pc_steps, config.pc_rate, config.pc_beta)
            flat = {}
            for key, g in grads.items():
                if isinstance(key, tuple):
                    flat[f"enc{key[1]}_W"], flat[f"enc{key[1]}_b"] = g
                else:
                    flat[key] = g
            adam.step(params, flat)
            losses.append(stats["loss"])
            gates.append(stats["gate"])
            finite = np.asarray(stats["loss"], dtype=float)
            finite = finite[np.isfinite(finite)]
            bar.set_postfix(loss=f"{finite.mean():.3f}" if finite.size else "nan")
        bad = [k for k, v in params.items() if not bool(xp.all(xp.isfinite(v)))]
        if bad:
            raise TrainingDiverged(f"training diverged in epoch {epoch + 1}: non-finite {bad[0]}; allowed: "
                                   f"a smaller lr (got {config.lr:g})")
        seconds = time.perf_counter() - t0
        header["history"].append({"epoch": epoch + 1, "seconds": seconds,
                                  "loss": _nanmean_cols(losses), "gate": _nanmean_cols(gates)})
        header["epoch"] = epoch + 1
        header["adam_t"] = adam.t
        header["train_s"] += seconds
        if checkpoint is not None:
            _save_checkpoint(checkpoint, header, params, adam)
    weights = [(to_host(w), to_host(b)) for w, b in weights]
    return TrainedEncoder(rule, seed, config, weights, header["history"], header["train_s"], start)


def make_pairs(rule, config, n_images, rows, cols, rng):
    """The context/target pairs of one batch for ``rule``: the published rules' one-sign-per-image
    pairs per offset (prediction and retrodiction drawn independently, as the official code's two
    loss modules do), or clapp-s's positive + negatives per location per step."""
    if rule in PUBLISHED_CLAPP:
        return [{"pred": clapp_pairs(n_images, rows, cols, k, rng), "retro": clapp_pairs(n_images, rows, cols, k, rng)}
                for k in config.offsets_used(rows)]
    return [saccade_pairs(n_images, rows, cols, k, rng, config.n_negatives) for k in config.steps_ahead]


def _nanmean_cols(rows):
    a = np.asarray(rows, dtype=float)
    with np.errstate(invalid="ignore"):
        out = [float(np.nanmean(col)) if np.any(np.isfinite(col)) else None for col in a.T]
    return out
