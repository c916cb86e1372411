"""A representation-learning study: train encoders with several rules and seeds, read out every layer.

For each rule and seed: train (checkpointed per epoch), encode every image patch by patch, pool the
patch encodings two ways (``patch-average``: the paper's protocol; ``grid2x2``: coarse layout kept)
and fit a logistic-regression readout per layer on the data set's fixed split. Layer 0 is the raw
pixels. Results are aggregated as mean +- std over seeds.

Files under ``out``: ``checkpoints/<rule>_<dataset>_seed<s>.npz`` (per epoch),
``readouts/<rule>_<dataset>_seed<s>.json`` (per finished training), ``results.json`` and
``readout.md`` (the lecture's Table 1 layout).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import atomic_path
from ..errors import ParameterError, check_choice, check_int
from ..readout import evaluate_layers
from .data import DATASETS, load_dataset, patch_grid
from .encoder import encode_patches, readout_features
from .rules import RULE_TRAITS, RULES
from .train import learn_preset, train_encoder

__all__ = ["POOLINGS", "parse_rules", "run_study", "StudyResult", "markdown_table", "summarise",
           "collect_study", "write_study"]

POOLINGS = ("patch-average", "grid2x2")


def parse_rules(text):
    """'all', one rule name, or a comma-separated list -> tuple of rule names."""
    if text == "all":
        return RULES
    names = tuple(s.strip() for s in str(text).split(","))
    for n in names:
        check_choice("rule", n, RULES + ("all",))
    return names


def _write_json(path, obj):
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=1)


@dataclass
class StudyResult:
    """Aggregated readouts. ``results`` follows the CLI's JSON schema; ``per_seed`` keeps every row."""

    results: list
    per_seed: list
    dataset: str
    config: dict

    def to_dict(self):
        return {"results": self.results, "dataset": self.dataset, "config": self.config,
                "per_seed": self.per_seed}


def _aggregate(rows_by_seed):
    acc = np.array([[r["accuracy"] for r in rows] for rows in rows_by_seed])
    return [{"layer": layer, "accuracy_mean": float(acc[:, layer].mean()),
             "accuracy_std": float(acc[:, layer].std(ddof=1)) if len(acc) > 1 else 0.0}
            for layer in range(acc.shape[1])]


def run_study(rules="clapp", dataset="mnist5k", seeds=3, epochs=None, out="runs/learn", *,
              preset=None, data_dir=None, resume=False, progress=True, max_train_images=None,
              use_unlabeled=False):
    """Train and read out ``rules`` on ``dataset`` over ``seeds`` seeds.

    Parameters
    ----------
    rules : str or sequence of str
        Rule names, 'all' or a comma-separated list.
    dataset : {'mnist5k', 'digits', 'stl10'}
    seeds : int
        Number of seeds (0 .. seeds-1).
    epochs : int, optional
        Override the preset's epochs.
    out : path
        Folder for checkpoints, readouts, results.json and readout.md.
    preset : str, optional
        'mnist5k', 'digits' or 'stl10-paper'; default: the data set's own preset
        ('stl10-paper' for stl10).
    resume : bool
        Continue interrupted trainings from their checkpoints and reuse finished readouts.
    use_unlabeled : bool
        STL-10 only: train the encoder on the 100 000 unlabeled images too (as the paper does).
    """
    rules = parse_rules(rules) if isinstance(rules, str) else tuple(rules)
    for r in rules:
        check_choice("rule", r, RULES)
    seeds = check_int("seeds", seeds, low=1)
    check_choice("dataset", dataset, DATASETS)
    preset = preset or {"stl10": "stl10-paper"}.get(dataset, dataset)
    config = learn_preset(preset, epochs=epochs, max_train_images=max_train_images)
    if config.dataset != dataset:
        raise ParameterError(f"preset: got {preset!r} (for {config.dataset}) with dataset {dataset!r}; "
                             "allowed: a preset of the same data set")
    if use_unlabeled and dataset != "stl10":
        raise ParameterError(f"unlabeled: got True with dataset {dataset!r}; allowed: only with 'stl10'")
    ds = load_dataset(dataset, data_dir, use_unlabeled=use_unlabeled)
    config.grid(ds.shape)
    out = Path(out)
    train_images = ds.training_images()
    patches = patch_grid(ds.images, config.patch_size, config.patch_stride)
    pixels = ds.images.reshape(len(ds.images), -1)
    cfg_json = json.loads(config.to_json())

    per_seed = []
    for rule in rules:
        for seed in range(seeds):
            tag = f"{rule}_{dataset}_seed{seed}"
            ro_path = out / "readouts" / f"{tag}.json"
            cached = json.loads(ro_path.read_text()) if resume and ro_path.exists() else None
            if cached is None or cached["config"] != cfg_json:
                enc = train_encoder(rule, train_images, config, seed, checkpoint=out / "checkpoints" / f"{tag}.npz",
                                    resume=resume, progress=progress)
                codes = encode_patches(patches, enc.weights, config.architecture)
                readouts = {}
                for pooling in POOLINGS:
                    feats = [pixels] + [readout_features(c, pooling) for c in codes]
                    readouts[pooling] = evaluate_layers(feats, ds.labels, ds.train, ds.test, seed=seed)
                cached = {"rule": rule, "seed": seed, "config": cfg_json, "train_s": enc.train_s,
                          "history": enc.history, "readouts": readouts}
                _write_json(ro_path, cached)
            per_seed.append(cached)
    result = summarise(per_seed, dataset)
    write_study(result, out)
    return result


def summarise(per_seed, dataset):
    """Aggregate per-seed readouts (dicts as in ``readouts/*.json``) into a :class:`StudyResult`."""
    results = []
    for rule in [r for r in RULES if any(c["rule"] == r for c in per_seed)]:
        runs = [c for c in per_seed if c["rule"] == rule]
        entry = {"rule": rule, "dataset": dataset, "layers": _aggregate([c["readouts"]["patch-average"] for c in runs]),
                 "layers_grid2x2": _aggregate([c["readouts"]["grid2x2"] for c in runs]),
                 "train_s": float(np.mean([c["train_s"] for c in runs])), "seeds": len(runs),
                 "epochs": runs[0]["config"]["epochs"]}
        results.append(entry)
    return StudyResult(results, per_seed, dataset, per_seed[0]["config"])


def collect_study(folders, dataset):
    """A :class:`StudyResult` from the finished readouts in ``folders`` (e.g. rules run in parallel
    processes with different ``--out``)."""
    per_seed = []
    for folder in folders:
        for path in sorted(Path(folder).glob(f"readouts/*_{dataset}_seed*.json")):
            per_seed.append(json.loads(path.read_text()))
    if not per_seed:
        raise ParameterError(f"folders: no readouts/*_{dataset}_seed*.json in {list(map(str, folders))}")
    return summarise(per_seed, dataset)


def write_study(result, out):
    """Write ``results.json`` and ``readout.md`` into ``out`` (atomically)."""
    out = Path(out)
    _write_json(out / "results.json", result.to_dict())
    with atomic_path(out / "readout.md") as tmp:
        Path(tmp).write_text(markdown_table(result))


def markdown_table(result):
    """The lecture's Table 1 layout, one table per pooling: mean +- std accuracy (%) per layer."""
    lines = []
    for key, title in (("layers", "patch-average (paper protocol)"), ("layers_grid2x2", "2x2-grid pooling")):
        n_layers = len(result.results[0][key])
        head = ["Method", "Plausible architecture", "Local update", "Top-down feedback"]
        head += ["pixels"] + [f"layer {i}" for i in range(1, n_layers)] + ["best", "seeds", "epochs", "train s"]
        lines += [f"### {result.dataset}: {title}, mean +- std over seeds", "",
                  "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in result.results:
            accs = [f"{x['accuracy_mean'] * 100:.1f} +- {x['accuracy_std'] * 100:.1f}" for x in r[key]]
            best = max(r[key][1:], key=lambda x: x["accuracy_mean"])
            lines.append("| " + " | ".join([r["rule"], *RULE_TRAITS[r["rule"]], *accs,
                                             f"{best['accuracy_mean'] * 100:.1f} (layer {best['layer']})",
                                             str(r["seeds"]), str(r["epochs"]), f"{r['train_s']:.0f}"]) + " |")
        lines.append("")
    return "\n".join(lines)
