"""Training the spiking learner: chunks of fixations streamed through the compiled network."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...devices import check_memory
from ...errors import ParameterError, check_choice, check_int
from .. import checkpoint as _checkpoint
from .config import SpikingConfig, spiking_preset
from .network import SpikingNetwork

__all__ = ["SpikingRule", "SPIKING_RULE_REGISTRY", "SpikingTrained", "train_spiking", "make_network", "input_rates"]

@dataclass(frozen=True)
class SpikingRule:
    """What a spiking learner is made of (the network and the trainer follow from it).

    ``kind``: 'burst' (two-compartment layers, Clopath basal synapses) or 'stdp' (the winner-take-all
    STDP network); ``learns``: whether training runs at all; ``apical``: the apical prediction from
    the previous fixation is on; ``broadcast``: 'saccade' (M = +1 same image, -1 after a saccade to
    another) or 'on' (M = +1 on every fixation shown: plain Clopath or STDP); ``preset``: None, or a
    preset suffix the rule trains with ('legacy': the first design's preset); ``traits``: the
    lecture's Table 1 columns.
    """

    name: str
    kind: str
    learns: bool
    apical: bool
    broadcast: str
    traits: tuple
    preset: str | None = None


#: the spiking learners by name; spiking-clapp-legacy is spiking-clapp on the first design's preset
SPIKING_RULE_REGISTRY = {r.name: r for r in (
    SpikingRule("spiking-clapp", "burst", True, True, "saccade", ("yes", "yes", "no")),
    SpikingRule("spiking-clopath", "burst", True, False, "on", ("yes", "yes", "no")),
    SpikingRule("spiking-random", "burst", False, False, "saccade", ("yes", "-", "-")),
    SpikingRule("stdp-wta", "stdp", True, False, "on", ("yes", "yes", "no")),
    SpikingRule("spiking-clapp-legacy", "burst", True, True, "saccade", ("yes", "yes", "no"), preset="legacy"),
)}
SPIKING_RULES = tuple(SPIKING_RULE_REGISTRY)
#: the hinge margin of the 'hinge' ablation (nA): learning off once the layer's mean apical current
#: at its events is this far on the right side (measured on digits, see benchmarks/RESULTS.md)
HINGE_ABLATION_NA = 0.02
#: ablations of spiking-clapp (run-time settings of the same project)
ABLATIONS = ("none", "broadcast-off", "shuffled-saccades", "no-apical", "hinge")


def rule_kind(rule):
    """The network kind of a rule: 'stdp' (stdp-wta) or 'burst' (the others)."""
    check_choice("rule", rule, SPIKING_RULES)
    return SPIKING_RULE_REGISTRY[rule].kind


def rule_config(rule, config):
    """The settings ``rule`` trains with: ``config``, or for spiking-clapp-legacy the first design's
    preset of the same data set (with the same epochs, training images and evaluation repeats)."""
    check_choice("rule", rule, SPIKING_RULES)
    suffix = SPIKING_RULE_REGISTRY[rule].preset
    if suffix is None or config.context == "sign":
        return config
    return spiking_preset(f"{config.dataset}-{suffix}", epochs=config.epochs, max_train_images=config.max_train_images,
                          eval_repeats=config.eval_repeats)


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


def input_rates(ds, config):
    """ON/OFF rates of every patch of every image, (n, rows, cols, 2 patch_size^2), Hz."""
    from ..data import patch_grid
    from ..fixations import on_off_rates

    patches = patch_grid(ds.images, config.patch_size, config.patch_stride)
    return on_off_rates(patches, config.rate_max_hz, config.contrast_gain)


def fixation_rates(patch_rates, config):
    """Rates of every fixation position: glimpses of ``config.glimpse`` patches (or the patches)."""
    from ..fixations import glimpse_rates

    return glimpse_rates(patch_rates, config.glimpse)


def make_network(rule, config, rates, *, plastic=True, device="cpp", report=None, compile_only=False,
                 compute_capability=None, record=False, generate_only=False):
    """The compiled network of ``rule`` for patch input rates ``rates`` (n, rows, cols, channels).

    ``plastic=False`` gives the frozen evaluation network. Refuses, before building, a network
    whose estimated memory (basal synapses and the n x n prediction weights,
    :func:`~cortex_sim.devices.check_memory`) cannot fit.
    """
    config = rule_config(rule, config)
    n_pre, synapses, neurons = int(rates.shape[-1]), 0, 0
    for li, (n, p) in enumerate(zip(config.neurons, config.p_connect), start=1):
        size = n * config.groups if li == 1 else n
        synapses += (n_pre * n * p * config.groups if li == 1 else n_pre * n * p) + 2 * size * size
        neurons += size
        n_pre = size
    check_memory("neurons", tuple(config.neurons), synapses, neurons)
    mean_rate = float(rates.sum(axis=-1).mean())
    return SpikingNetwork(config, rule_kind(rule), rates.shape[-1], mean_rate, plastic=plastic, device=device,
                          report=report, compile_only=compile_only, compute_capability=compute_capability,
                          record=record, generate_only=generate_only)


def same_structure(a, b):
    """Whether two configs build the same network (they may differ in epochs, training images and
    evaluation repeats)."""
    from dataclasses import asdict

    skip = ("epochs", "max_train_images", "eval_repeats")
    return {k: v for k, v in asdict(a).items() if k not in skip} == {k: v for k, v in asdict(b).items() if k not in skip}


def _shuffle_m(m, rng):
    used = m != 0
    out = m.copy()
    out[used] = rng.permutation(m[used])
    return out


def save_checkpoint(path, header, state):
    """Write a spiking training checkpoint (:mod:`cortex_sim.learning.checkpoint`, group ``s``)."""
    _checkpoint.save_checkpoint(path, header, {"s": state})


def load_checkpoint(path):
    """(header, state) of a checkpoint written by :func:`save_checkpoint`."""
    header, groups = _checkpoint.load_checkpoint(path, ("s",), what="cortex_sim spiking")
    return header, groups["s"]


def training_schedule(config, rates, order, rng, epoch):
    """The training chunks of one epoch for the config's schedule."""
    from ..fixations import swap_chunks, tour_chunks, training_chunks

    if config.schedule == "swap":
        return swap_chunks(rates, order, slots=config.slots, steps_ahead=config.steps_ahead, rng=rng, epoch=epoch,
                           fixations=config.fixations)
    if config.schedule == "walk":
        return training_chunks(rates, order, slots=config.slots, steps_ahead=config.steps_ahead, rng=rng, epoch=epoch,
                               fixations=config.fixations)
    return tour_chunks(rates, order, slots=config.slots, rng=rng, epoch=epoch, fixations=config.fixations)


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
        A plastic network already built for these settings (reused, e.g. across seeds).
    on_chunk : callable or None
        ``on_chunk(epoch, chunk_index, state, counts)`` after every chunk (its checkpoint written).

    Returns
    -------
    SpikingTrained, SpikingNetwork
    """
    from tqdm.auto import tqdm

    from ..fixations import spike_table

    check_choice("rule", rule, SPIKING_RULES)
    check_choice("ablation", ablation, ABLATIONS)
    if ablation != "none" and rule != "spiking-clapp":
        raise ParameterError(f"ablation: got {ablation!r} for rule {rule!r}; allowed: ablations of 'spiking-clapp' only")
    seed = check_int("seed", seed, low=0)
    config = rule_config(rule, config)
    config.grid(ds.shape)
    rates_all = input_rates(ds, config)
    rates = fixation_rates(rates_all[ds.train], config)
    if net is None:
        net = make_network(rule, config, rates_all, device=device, report=report)
    if not net.plastic or not same_structure(net.config, config):
        raise ParameterError("net: got a network built for other settings (or a frozen one); allowed: the plastic "
                             f"network of {rule!r} for these settings (make_network)")
    state = net.initial_state(seed)
    header = {"rule": rule, "seed": seed, "ablation": ablation, "config": json.loads(config.to_json()),
              "epoch": 0, "chunk": 0, "history": [], "train_s": 0.0, "n_images": len(rates)}
    start_epoch, start_chunk, resumed = 0, 0, None
    if resume and checkpoint is not None and Path(checkpoint).exists():
        saved, saved_state = load_checkpoint(checkpoint)
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
    spec = SPIKING_RULE_REGISTRY[rule]
    epochs = config.epochs if spec.learns else 0
    apical = spec.apical and ablation != "no-apical"
    margin = HINGE_ABLATION_NA if ablation == "hinge" else None
    for epoch in range(start_epoch, epochs):
        order = np.random.default_rng([seed, 1, epoch]).permutation(len(rates))[:n_use]
        chunks = training_schedule(config, rates, order, np.random.default_rng([seed, 2, epoch]), epoch)
        first = start_chunk if epoch == start_epoch else 0
        bar = tqdm(total=n_chunks, initial=first, desc=f"{rule} seed {seed} epoch {epoch + 1}/{epochs}",
                   disable=not progress, leave=False, unit="chunk")
        t_epoch = time.perf_counter()
        stats = {}
        for chunk in chunks:
            if chunk.index < first:
                continue
            m = chunk.modulation
            if spec.broadcast == "on":
                m = (chunk.image >= 0).astype(float)             # M = +1 on every fixation shown
            elif ablation == "broadcast-off":
                m = np.zeros_like(m)
            elif ablation == "shuffled-saccades":
                m = _shuffle_m(m, np.random.default_rng([seed, 3, epoch, chunk.index]))
            table = spike_table(chunk.rates, net.t_fix, config.dt_ms * 1e-3,
                                np.random.default_rng([seed, 4, epoch, chunk.index]), net.n_rows)
            state, counts, info = net.run_chunk(state, table, m, learn=True, apical=apical, margin=margin)
            state = net.share(state)
            if config.normalise and net.kind == "burst":
                state = net.normalise(state)
            chunk_stats(stats, counts, chunk.modulation, net.t_fix)
            header["train_s"] += info["wall_s"]
            header["epoch"], header["chunk"] = epoch, chunk.index + 1
            if chunk.index + 1 == n_chunks:
                header["epoch"], header["chunk"] = epoch + 1, 0
                header["history"].append({"epoch": epoch + 1, "seconds": time.perf_counter() - t_epoch,
                                          **{k: float(np.nanmean(v)) if v else None for k, v in stats.items()}})
            if checkpoint is not None:
                save_checkpoint(checkpoint, header, state)
            bar.update(1)
            bar.set_postfix(rate=f"{np.mean(stats['rate_hz'][-1:]):.1f} Hz")
            if on_chunk is not None:
                on_chunk(epoch, chunk.index, state, counts)
        bar.close()
    trained = SpikingTrained(rule, seed, config, state, header["history"], header["train_s"], ablation,
                             [net.compiled], resumed)
    return trained, net


def chunk_stats(stats, counts, modulation, t_fix):
    """Per chunk: layer 1's mean rate, and per layer the share of (neuron, fixation) entries with a
    burst (>= 2 spikes) in the positive (same image) and negative (after a saccade) fixations."""
    used = modulation != 0
    if not used.any():
        return
    stats.setdefault("rate_hz", []).append(float(counts[0][used].mean() / t_fix))
    for li, cnt in enumerate(counts, start=1):
        suffix = "" if li == 1 else f"_l{li}"
        for key, sel in (("burst_frac_pos", modulation > 0), ("burst_frac_neg", modulation < 0)):
            if sel.any():
                stats.setdefault(key + suffix, []).append(float((cnt[sel] >= 2).mean()))
