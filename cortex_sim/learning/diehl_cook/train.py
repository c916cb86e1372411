"""Training and evaluating the Diehl & Cook network: images streamed through one compiled binary.

Every run of the binary shows ``config.slots`` images (a chunk). The driver keeps the authors'
re-presentation rule across chunks: an image whose excitatory layer fired fewer than
``min_spikes`` spikes is queued again with the intensity raised by 1 and shown at the start of the
next chunk (the authors show it again at once; here the images of the rest of the chunk come in
between, at most ``slots - 1`` of them). A chunk's intensities sum to at most
:data:`~.network.INTENSITY_BUDGET` per slot (the spike table's size); the images that do not fit
wait for the next chunk.

Evaluation runs the same binary with learning off (no STDP, thresholds frozen, no normalisation)
and the same re-presentation rule (as the authors' test mode). Labels are assigned to neurons from
the training images' responses (:func:`assign_labels`), a test image gets the class whose neurons
fire most on average (:func:`vote`); the package's linear readout is fitted on the same counts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import ParameterError, check_int
from .config import DiehlCookConfig
from .network import INTENSITY_BUDGET, DiehlCookNetwork

__all__ = ["DiehlCookTrained", "train_diehl_cook", "evaluate_diehl_cook", "assign_labels", "vote"]

N_CLASSES = 10


def image_rates(images, intensity=1.0):
    """Input rates (Hz) of images with values in [0, 1]: pixel (0-255) / 8 x intensity."""
    x = np.asarray(images, float).reshape(len(images), -1)
    return x * (255.0 / 8.0) * intensity


def balanced_subset(indices, labels, k):
    """A fixed random subset of ``k`` of ``indices`` with the classes as equal as possible (the
    data sets' indices are ordered by class, so a prefix would hold a few classes only)."""
    indices = np.asarray(indices)
    perm = indices[np.random.default_rng(0).permutation(len(indices))]
    y = np.asarray(labels)[perm]
    rank = np.zeros(len(perm), int)
    for c in np.unique(y):
        rank[y == c] = np.arange(np.sum(y == c))
    return np.sort(perm[np.argsort(rank, kind="stable")[:k]])


def assign_labels(counts, labels, n_classes=N_CLASSES):
    """The authors' label assignment: each neuron gets the class with the highest mean response
    (spikes per image of that class); a neuron that never fired gets -1 (no vote)."""
    counts, labels = np.asarray(counts, float), np.asarray(labels)
    if counts.ndim != 2 or len(counts) != len(labels):
        raise ParameterError(f"counts: got shape {counts.shape} for {len(labels)} labels; allowed: (n_images, n_neurons)")
    means = np.zeros((n_classes, counts.shape[1]))
    for k in range(n_classes):
        if np.any(labels == k):
            means[k] = counts[labels == k].mean(axis=0)
    assign = np.argmax(means, axis=0)
    assign[means.max(axis=0) <= 0] = -1
    return assign


def vote(counts, assign, n_classes=N_CLASSES):
    """Class of every image: the one whose assigned neurons fire most on average (the authors'
    ``get_recognized_number_ranking``; classes without neurons score 0, ties go to the lower class)."""
    counts, assign = np.asarray(counts, float), np.asarray(assign)
    scores = np.zeros((len(counts), n_classes))
    for k in range(n_classes):
        members = assign == k
        if members.any():
            scores[:, k] = counts[:, members].mean(axis=1)
    return np.argmax(scores, axis=1)


def voting_accuracy(train_counts, train_labels, test_counts, test_labels):
    """Voting accuracy on the test images with labels assigned from the training images."""
    assign = assign_labels(train_counts, train_labels)
    return float(np.mean(vote(test_counts, assign) == np.asarray(test_labels)))


@dataclass
class Stream:
    """Images in ``order`` (indices into ``rates``) shown chunk after chunk with the re-presentation
    rule. Its position (``next``, ``pending``, ``chunk``) is plain data, saved in checkpoints."""

    order: list
    next: int = 0
    pending: list = field(default_factory=list)   # [position in order, intensity]
    chunk: int = 0
    retries: int = 0
    capped: int = 0

    @property
    def done(self):
        return self.next >= len(self.order) and not self.pending

    def fill(self, config, slots):
        """The (position, intensity) of the next chunk's slots, within the intensity budget."""
        items, total = [], 0.0
        queue = list(self.pending)
        while len(items) < slots and (queue or self.next < len(self.order)):
            pos, inten = queue[0] if queue else (self.next, config.intensity)
            if items and total + inten > INTENSITY_BUDGET * slots:
                break
            items.append((pos, inten))
            total += inten
            if queue:
                queue.pop(0)
            else:
                self.next += 1
        self.pending = queue
        return items

    def to_dict(self):
        return {"next": self.next, "pending": self.pending, "chunk": self.chunk, "retries": self.retries,
                "capped": self.capped}


def present_chunk(net, state, rates, stream, config, *, learn, rng_key, counts_out):
    """Show the next chunk of ``stream`` (re-presentation rule included); ``counts_out[pos]`` gets
    the counts of every image at ``order[pos]`` that finished. Returns (state, images finished)."""
    items = stream.fill(config, net.slots)
    chunk_rates = np.zeros((net.slots, rates.shape[1]))
    for s, (pos, inten) in enumerate(items):
        chunk_rates[s] = rates[stream.order[pos]] * inten
    rng = np.random.default_rng([*rng_key, stream.chunk])
    state, counts, _ = net.run_chunk(state, chunk_rates, rng, learn=learn)
    stream.chunk += 1
    finished = 0
    for s, (pos, inten) in enumerate(items):
        if counts[s].sum() < config.min_spikes:
            if inten + 1 <= config.max_intensity:
                stream.pending.append([pos, inten + 1])
                stream.retries += 1
                continue
            stream.capped += 1
        counts_out[pos] = counts[s]
        finished += 1
    return state, finished


def present(net, state, rates, stream, config, *, learn, rng_key, counts_out, bar=None):
    """Run chunks of ``stream`` until every image has finished; returns the state."""
    while not stream.done:
        state, finished = present_chunk(net, state, rates, stream, config, learn=learn, rng_key=rng_key,
                                        counts_out=counts_out)
        if bar is not None:
            bar.update(finished)
    return state


def evaluate_diehl_cook(net, state, ds, config, seed, *, assign_images=None, tag=0, progress=False):
    """Frozen responses of the training images (or a fixed random subset of ``assign_images``) and of
    the test images; voting and linear readout accuracy. Returns a dict."""
    from tqdm.auto import tqdm

    from ...readout import LinearReadout

    rates = image_rates(ds.images)
    assign_images = config.eval_images if assign_images is None else assign_images
    train, test = (part if k is None else balanced_subset(part, ds.labels, k)
                   for part, k in ((ds.train, assign_images), (ds.test, config.eval_images)))
    out = {}
    for name, idx, key in (("train", train, 0), ("test", test, 1)):
        counts = np.zeros((len(idx), config.neurons))
        stream = Stream(list(map(int, idx)))
        with tqdm(total=len(idx), desc=f"diehl-cook {config.neurons} seed {seed}: {name} responses", unit="img",
                  disable=not progress, leave=False) as bar:
            present(net, state, rates, stream, config, learn=False, rng_key=(seed, 5, tag, key), counts_out=counts,
                    bar=bar)
        out[name] = counts
    y_train, y_test = ds.labels[train], ds.labels[test]
    assign = assign_labels(out["train"], y_train)
    voting = float(np.mean(vote(out["test"], assign) == y_test))
    ro = LinearReadout(seed=seed).fit(out["train"], y_train)
    return {"voting": voting, "linear": ro.score(out["test"], y_test), "linear_C": ro.C_,
            "assign_images": int(len(train)), "test_images": int(len(test)), "neurons_assigned": int(np.sum(assign >= 0)),
            "mean_spikes_per_image": float(out["test"].sum(axis=1).mean()),
            "train_counts": out["train"], "test_counts": out["test"]}


@dataclass
class DiehlCookTrained:
    seed: int
    config: DiehlCookConfig
    state: dict
    curve: list
    train_s: float
    presentations: int
    retries: int
    capped: int
    resumed_from: dict | None = None


def train_diehl_cook(ds, config: DiehlCookConfig, seed=0, *, net=None, checkpoint=None, resume=False, progress=True,
                     device="cpp", report=None):
    """Train the Diehl & Cook network on the training images of ``ds`` (``config.epochs`` passes,
    each ``config.repeat_train`` shuffled copies of the training set), measuring the held-out
    accuracy at the presentations in ``config.curve``.

    With ``checkpoint`` the state is saved after every chunk (npz, no pickle); ``resume`` continues
    from it bit-identically (every chunk's input is drawn from (seed, epoch, chunk) only).
    Returns (DiehlCookTrained, DiehlCookNetwork).
    """
    from tqdm.auto import tqdm

    from ..spiking.train import load_checkpoint, save_checkpoint   # the one checkpoint format, group "s"

    seed = check_int("seed", seed, low=0)
    if ds.images.shape[1:] != (28, 28):
        raise ParameterError(f"dataset: got {ds.name!r} ({ds.images.shape[1]}x{ds.images.shape[2]} images); "
                             "allowed: 'mnist5k' (the network has 784 inputs, as the authors')")
    if net is None:
        net = DiehlCookNetwork(config, device=device, report=report)
    if net.config.structure() != config.structure():
        raise ParameterError("net: got a network built for other settings; allowed: DiehlCookNetwork(config)")
    rates = image_rates(ds.images)
    n_train = len(ds.train) if config.max_train_images is None else min(len(ds.train), config.max_train_images)
    per_epoch = n_train * config.repeat_train
    state = net.initial_state(seed)
    header = {"rule": "diehl-cook", "seed": seed, "config": json.loads(config.to_json()), "epoch": 0,
              "stream": None, "presentations": 0, "curve": [], "train_s": 0.0, "retries": 0, "capped": 0}
    resumed = None
    if resume and checkpoint is not None and Path(checkpoint).exists():
        saved, saved_state = load_checkpoint(checkpoint)
        for key in ("rule", "seed"):
            if saved.get(key) != header[key]:
                raise ParameterError(f"resume: checkpoint {str(checkpoint)!r} has {key} = {saved.get(key)!r}, this "
                                     f"run {header[key]!r}; allowed: the same settings, or start without --resume")
        if {**saved["config"], "epochs": config.epochs} != header["config"]:
            raise ParameterError(f"resume: checkpoint {str(checkpoint)!r} was written with other settings; allowed: "
                                 "the same settings (epochs may grow), or start again without --resume")
        header, state = {**saved, "config": header["config"]}, saved_state
        resumed = {"epoch": saved["epoch"], "presentations": saved["presentations"]}
    points = [p for p in config.curve if p < config.epochs * per_epoch]
    total = config.epochs * per_epoch
    bar = tqdm(total=total, initial=header["presentations"], desc=f"diehl-cook {config.neurons} seed {seed}",
               unit="img", disable=not progress, smoothing=0.1)
    try:
        for epoch in range(header["epoch"], config.epochs):
            order = np.concatenate([np.random.default_rng([seed, 1, epoch, r]).permutation(len(ds.train))[:n_train]
                                    for r in range(config.repeat_train)])
            stream = Stream([int(ds.train[k]) for k in order], **(header["stream"] or {}))
            counts = np.zeros((len(order), config.neurons))
            while not stream.done:
                t0 = time.perf_counter()
                state, finished = present_chunk(net, state, rates, stream, config, learn=True,
                                                rng_key=(seed, 4, epoch), counts_out=counts)
                header["train_s"] += time.perf_counter() - t0
                header["presentations"] += finished
                bar.update(finished)
                header["stream"] = stream.to_dict()
                if stream.done:
                    header["epoch"], header["stream"] = epoch + 1, None
                    header["retries"] += stream.retries
                    header["capped"] += stream.capped
                measured = header["curve"][-1]["presentations"] if header["curve"] else 0
                due = [p for p in points if measured < p <= header["presentations"]]
                if due:
                    bar.set_postfix_str(f"held-out accuracy after {header['presentations']} images")
                    ev = evaluate_diehl_cook(net, state, ds, config, seed, assign_images=config.curve_assign_images,
                                             tag=len(header["curve"]) + 1)
                    header["curve"].append({"presentations": header["presentations"], "voting": ev["voting"],
                                            "linear": ev["linear"], "assign_images": ev["assign_images"]})
                    bar.set_postfix_str("")
                if checkpoint is not None:
                    save_checkpoint(checkpoint, header, state)
    finally:
        bar.close()
    return DiehlCookTrained(seed, config, state, header["curve"], header["train_s"], header["presentations"],
                            header["retries"], header["capped"], resumed), net
