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
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import atomic_path
from ..errors import ParameterError, check_choice, check_int
from ..readout import evaluate_layers
from .backend import BACKENDS, array_module
from .data import DATASETS, load_dataset, patch_grid
from .encoder import encode_patches, readout_features
from .rules import RULE_TRAITS, RULES
from .spiking import ABLATIONS, SPIKING_RULES
from .train import learn_preset, train_encoder

__all__ = ["run_study", "StudyResult"]

POOLINGS = ("patch-average", "grid2x2")


ALL_RULES = RULES + SPIKING_RULES

def rule_traits(name):
    """Table 1 columns of a rule name (an ablation 'spiking-clapp/no-apical' has its rule's)."""
    from .spiking.train import SPIKING_RULE_REGISTRY

    base = name.split("/")[0]
    return RULE_TRAITS[base] if base in RULE_TRAITS else SPIKING_RULE_REGISTRY[base].traits


def parse_rules(text):
    """'all' (the rate rules), 'spiking' (the spiking learners), one rule name, or a comma-separated
    list -> tuple of rule names."""
    if text == "all":
        return RULES
    if text == "spiking":
        return SPIKING_RULES
    names = tuple(s.strip() for s in str(text).split(","))
    for n in names:
        check_choice("rule", n, ALL_RULES + ("all", "spiking"))
    return names


def write_json(path, obj):
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=1)


@dataclass
class StudyResult:
    """Aggregated readouts. ``results`` follows the CLI's JSON schema; ``per_seed`` keeps every row."""

    results: list
    per_seed: list
    dataset: str
    config: dict

    comparisons: list = field(default_factory=list)
    references: dict = field(default_factory=dict)
    comparisons_all: dict = field(default_factory=dict)

    def to_dict(self):
        out = {"results": self.results, "comparisons": self.comparisons, "references": self.references,
               "dataset": self.dataset, "config": self.config, "per_seed": self.per_seed}
        if self.comparisons_all:
            out["comparisons_all"] = self.comparisons_all
        return out


def _aggregate(rows_by_seed):
    acc = np.array([[r["accuracy"] for r in rows] for rows in rows_by_seed])
    return [{"layer": layer, "accuracy_mean": float(acc[:, layer].mean()),
             "accuracy_std": float(acc[:, layer].std(ddof=1)) if len(acc) > 1 else 0.0}
            for layer in range(acc.shape[1])]


def check_study(rules, dataset, seeds, *, backend="numpy", ablations=("none",), spiking_overrides=None):
    """The checks of :func:`run_study` that need no data: rule, data set, seeds, backend, ablations
    and their combinations (ParameterError naming the first bad one). Returns (rules, seed list)."""
    rules = parse_rules(rules) if isinstance(rules, str) else tuple(rules)
    for r in rules:
        check_choice("rule", r, ALL_RULES)
    check_choice("backend", backend, BACKENDS)
    seeds = seed_list(seeds)
    check_choice("dataset", dataset, DATASETS)
    for a in ablations:
        check_choice("ablation", a, ABLATIONS)
    spiking = [r for r in rules if r in SPIKING_RULES]
    if not spiking and (spiking_overrides or tuple(ablations) != ("none",)):
        raise ParameterError(f"spiking options: got {sorted(spiking_overrides or {}) or list(ablations)} with rate "
                             f"rule(s) {', '.join(rules)}; allowed: only with spiking rules ({', '.join(SPIKING_RULES)})")
    if spiking and dataset == "stl10":
        raise ParameterError("dataset: got 'stl10' for a spiking rule; allowed: 'digits' or 'mnist5k'")
    if spiking and backend != "numpy":
        raise ParameterError(f"backend: got {backend!r} for a spiking rule; allowed: 'numpy' (the spiking "
                             "learners run on Brian2: use device='cuda' for a GPU)")
    return rules, seeds


def run_study(rules="clapp", dataset="mnist5k", seeds=3, epochs=None, out="cortex_sim_out/learn", *,
              preset=None, data_dir=None, resume=False, progress=True, max_train_images=None,
              use_unlabeled=None, ablations=("none",), spiking_overrides=None, device="cpp", references=True,
              backend="numpy"):
    """Train and read out ``rules`` on ``dataset`` over ``seeds`` seeds.

    Parameters
    ----------
    rules : str or sequence of str
        Rule names, 'all' or a comma-separated list.
    dataset : {'mnist5k', 'digits', 'stl10'}
    seeds : int or sequence of int
        Number of seeds (0 .. seeds-1), or the seeds themselves (e.g. ``[4]``).
    epochs : int, optional
        Override the preset's epochs.
    out : path
        Folder for checkpoints, readouts, results.json and readout.md.
    preset : str, optional
        'mnist5k', 'digits' or 'stl10-paper'; default: the data set's own preset
        ('stl10-paper' for stl10).
    resume : bool
        Continue interrupted trainings from their checkpoints and reuse finished readouts.
    use_unlabeled : bool or None
        STL-10 only: train the encoder on the 100 000 unlabeled images too (None: yes for STL-10,
        as the official code does).
    ablations : sequence of str
        For spiking-clapp: ablations to run as well (:data:`~cortex_sim.learning.spiking.ABLATIONS`);
        each appears as rule ``spiking-clapp/<ablation>``.
    spiking_overrides : dict or None
        Field overrides of the spiking preset (:class:`~cortex_sim.learning.spiking.SpikingConfig`).
    device : {'cpp', 'cuda'}
        Device of the spiking learners.
    backend : {'numpy', 'cupy'}
        Array backend of the rate rules' training and encoding (:mod:`.backend`; CuPy on a GPU).
    references : bool
        Also read out the reference rows (random ReLU features of the widest layer's width, 1-NN
        on raw pixels) on the same split (:func:`reference_rows`).

    The result carries ``comparisons``: for every pair of rules the paired difference of the
    best-layer accuracy over the same seeds with a 95 % confidence interval
    (:func:`paired_comparisons`).
    """
    rules, seeds = check_study(rules, dataset, seeds, backend=backend, ablations=ablations,
                               spiking_overrides=spiking_overrides)
    spiking = [r for r in rules if r in SPIKING_RULES]
    rate = [r for r in rules if r in RULES]
    if spiking and not rate:
        return run_spiking_study(spiking, dataset, seeds, out, epochs=epochs, resume=resume, progress=progress,
                                 max_train_images=max_train_images, ablations=ablations,
                                 overrides=spiking_overrides, device=device)
    if spiking:
        raise ParameterError(f"rule: got rate and spiking rules together ({', '.join(rules)}); allowed: one kind per "
                             "study (run them separately and merge with collect_study)")
    preset = preset or {"stl10": "stl10-paper"}.get(dataset, dataset)
    config = learn_preset(preset, epochs=epochs, max_train_images=max_train_images)
    if config.dataset != dataset:
        raise ParameterError(f"preset: got {preset!r} (for {config.dataset}) with dataset {dataset!r}; "
                             "allowed: a preset of the same data set")
    if use_unlabeled is None:
        use_unlabeled = dataset == "stl10"
    if use_unlabeled and dataset != "stl10":
        raise ParameterError(f"unlabeled: got True with dataset {dataset!r}; allowed: only with 'stl10'")
    xp = array_module(backend)
    ds = load_dataset(dataset, data_dir, use_unlabeled=use_unlabeled)
    config.grid(ds.shape)
    out = Path(out)
    train_images = ds.training_images()
    patches = patch_grid(config.prepare(ds.images), config.patch_size, config.patch_stride)
    pixels = ds.images.reshape(len(ds.images), -1)
    cfg_json = json.loads(config.to_json())

    per_seed = []
    for rule in rules:
        for seed in seeds:
            tag = f"{rule}_{dataset}_seed{seed}"
            ro_path = out / "readouts" / f"{tag}.json"
            cached = json.loads(ro_path.read_text()) if resume and ro_path.exists() else None
            if cached is None or cached["config"] != cfg_json:
                enc = train_encoder(rule, train_images, config, seed, checkpoint=out / "checkpoints" / f"{tag}.npz",
                                    resume=resume, progress=progress, backend=backend)
                codes = encode_patches(patches, enc.weights, config.architecture, xp=xp)
                readouts = _read_out(codes, pixels, ds, seed, tag, progress)
                cached = {"rule": rule, "seed": seed, "config": cfg_json, "train_s": enc.train_s,
                          "history": enc.history, "readouts": readouts}
                write_json(ro_path, cached)
            per_seed.append(cached)
    result = summarise(per_seed, dataset)
    if references:
        result.references = reference_rows(ds, max(config.channels), seeds, progress=progress)
    write_study(result, out)
    return result


def _read_out(codes, pixels, ds, seed, tag, progress):
    """Layer-wise readouts of one trained network for every pooling (layer 0 = raw pixels)."""
    return {pooling: evaluate_layers([pixels] + [readout_features(c, pooling) for c in codes], ds.labels,
                                     ds.train, ds.test, seed=seed, progress=progress,
                                     desc=f"readout {tag} {pooling}")
            for pooling in POOLINGS}


def layer_accuracies(weights, config, ds, seed, pooling="patch-average", backend="numpy", layers=None):
    """Readout test accuracy of every encoder layer of ``weights`` (layer 1 first; no pixel row),
    on ``ds``'s split with the studies' readout: a quick look at one trained (or untrained) encoder.
    ``layers``: the layer numbers (1 = first) to read out, in that order (default all; each layer's
    readout is fitted on its own, so a subset gives the same numbers)."""
    check_choice("pooling", pooling, POOLINGS)
    n = len(weights)
    layers = list(range(1, n + 1)) if layers is None else [check_int("layers", k, low=1, high=n) for k in layers]
    patches = patch_grid(config.prepare(ds.images), config.patch_size, config.patch_stride)
    codes = encode_patches(patches, weights, config.architecture, xp=array_module(backend))
    rows = evaluate_layers([readout_features(codes[k - 1], pooling) for k in layers], ds.labels, ds.train, ds.test,
                           seed=seed, progress=False)
    return [r["accuracy"] for r in rows]


def seed_list(seeds):
    """The seeds of a study: ``n`` -> 0 .. n-1; a sequence of integers -> those seeds."""
    if isinstance(seeds, (list, tuple, range)):
        if not seeds:
            raise ParameterError("seeds: got an empty list; allowed: one or more integers >= 0")
        out = [check_int("seed", s, low=0) for s in seeds]
        if len(set(out)) != len(out):
            raise ParameterError(f"seeds: got {list(seeds)}, with repeats; allowed: distinct integers")
        return out
    return list(range(check_int("seeds", seeds, low=1)))


def best_layer_accuracy(readouts, pooling="patch-average"):
    """The best accuracy over the encoder's layers (layer 0, the pixels, excluded)."""
    rows = readouts[pooling]
    return max(r["accuracy"] for r in rows[1:]) if len(rows) > 1 else rows[0]["accuracy"]


def paired_comparisons(per_seed, pooling="patch-average", confidence=0.95, key="readouts"):
    """For every pair of rules: the paired difference of the best-layer accuracy over the seeds
    both ran, its mean and a ``confidence`` interval (Student's t with n - 1 degrees of freedom;
    None below 2 seeds). Units: accuracy fractions, as in the results. ``key`` names the readouts
    of a per-seed row to compare (spiking studies: ``readouts_r1`` for one presentation).

    Returns a list of ``{"a", "b", "n", "diff_mean", "diff_sd", "ci95": [lo, hi] or None,
    "excludes_zero"}`` (the CI key is named for the default 95 %).
    """
    from scipy import stats

    best = {}
    for c in per_seed:
        best.setdefault(c["rule"], {})[int(c["seed"])] = best_layer_accuracy(c[key], pooling)
    names = list(best)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            seeds = sorted(set(best[a]) & set(best[b]))
            if not seeds:
                continue
            d = np.array([best[a][s] - best[b][s] for s in seeds])
            entry = {"a": a, "b": b, "n": len(seeds), "diff_mean": float(d.mean()),
                     "diff_sd": float(d.std(ddof=1)) if len(d) > 1 else None, "ci95": None, "excludes_zero": None}
            if len(d) > 1:
                half = float(stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
                entry["ci95"] = [float(d.mean() - half), float(d.mean() + half)]
                entry["excludes_zero"] = bool(entry["ci95"][0] > 0 or entry["ci95"][1] < 0)
            out.append(entry)
    return out


def reference_rows(ds, width, seeds, *, progress=False):
    """The two baselines every representation table should carry, on the same split and readout:
    random ReLU features of raw pixels of ``width`` units (Gaussian weights, one draw per seed)
    and 1-nearest-neighbour on raw pixels (Euclidean)."""
    from sklearn.neighbors import KNeighborsClassifier

    from ..readout import evaluate_layers

    pixels = ds.images.reshape(len(ds.images), -1).astype(np.float64)
    mean, sd = pixels[ds.train].mean(axis=0), pixels[ds.train].std(axis=0) + 1e-8
    x = (pixels - mean) / sd
    relu = []
    for seed in seeds:
        rng = np.random.default_rng([seed, 99])
        w = rng.standard_normal((x.shape[1], width)) / np.sqrt(x.shape[1])
        feats = np.maximum(0.0, x @ w + rng.standard_normal(width) * 0.1)
        relu.append(evaluate_layers([feats], ds.labels, ds.train, ds.test, seed=seed, progress=progress,
                                    desc=f"random ReLU-{width} seed {seed}")[0]["accuracy"])
    knn = KNeighborsClassifier(n_neighbors=1).fit(pixels[ds.train], ds.labels[ds.train])
    nn1 = float(knn.score(pixels[ds.test], ds.labels[ds.test]))
    return {"random_relu": {"width": int(width), "seeds": list(seeds), "accuracy": relu,
                            "accuracy_mean": float(np.mean(relu)),
                            "accuracy_std": float(np.std(relu, ddof=1)) if len(relu) > 1 else 0.0},
            "nn1_pixels": {"accuracy": nn1}}


def summarise(per_seed, dataset):
    """Aggregate per-seed readouts (dicts as in ``readouts/*.json``) into a :class:`StudyResult`."""
    results = []
    names = list(dict.fromkeys(c["rule"] for c in per_seed))
    order = {r: k for k, r in enumerate(ALL_RULES)}
    names.sort(key=lambda n: (order.get(n.split("/")[0], len(order)), n))
    for rule in names:
        runs = [c for c in per_seed if c["rule"] == rule]
        entry = {"rule": rule, "dataset": dataset, "layers": _aggregate([c["readouts"]["patch-average"] for c in runs]),
                 "layers_grid2x2": _aggregate([c["readouts"]["grid2x2"] for c in runs]),
                 "train_s": float(np.mean([c["train_s"] for c in runs])), "seeds": len(runs),
                 "seed_list": sorted(int(c["seed"]) for c in runs),
                 "epochs": runs[0]["config"]["epochs"]}
        if all("readouts_r1" in c for c in runs):   # spiking: R presentations, and one
            entry["eval_repeats"] = int(runs[0]["eval_repeats"])
            entry["layers_r1"] = _aggregate([c["readouts_r1"]["patch-average"] for c in runs])
            entry["layers_grid2x2_r1"] = _aggregate([c["readouts_r1"]["grid2x2"] for c in runs])
            entry["mechanism"] = _mean_records([c["mechanism"] for c in runs])
            entry["reliability"] = _mean_records([c["reliability"] for c in runs])
        results.append(entry)
    res = StudyResult(results, per_seed, dataset, per_seed[0]["config"], paired_comparisons(per_seed))
    if all("readouts_r1" in c for c in per_seed):
        res.comparisons_all = {f"{pooling}@{r}": paired_comparisons(per_seed, pooling, key=key)
                               for r, key in (("R", "readouts"), ("1", "readouts_r1")) for pooling in POOLINGS}
    return res


def _mean_records(records_by_seed):
    """Per layer, the mean over seeds of every numeric entry (None where no seed has one)."""
    out = []
    for layer in zip(*records_by_seed):
        rec = {}
        for k in layer[0]:
            vals = [r.get(k) for r in layer if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)]
            rec[k] = float(np.mean(vals)) if vals else None
        out.append(rec)
    return out


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
    write_json(out / "results.json", result.to_dict())
    with atomic_path(out / "readout.md") as tmp:
        Path(tmp).write_text(markdown_table(result))


def markdown_table(result):
    """The lecture's Table 1 layout, one table per pooling: mean +- std accuracy (%) per layer
    (the mean alone for a single seed)."""
    lines = []
    keys = [("layers", "patch-average (paper protocol)"), ("layers_grid2x2", "2x2-grid pooling")]
    R = result.results[0].get("eval_repeats")
    if R is not None:
        keys = [("layers", f"patch-average, R = {R} presentations summed"),
                ("layers_grid2x2", f"2x2-grid pooling, R = {R}"),
                ("layers_r1", "patch-average, one presentation (R = 1)"), ("layers_grid2x2_r1", "2x2-grid pooling, R = 1")]
    for key, title in keys:
        if not all(key in r for r in result.results):
            continue
        n_layers = len(result.results[0][key])
        head = ["Method", "Plausible architecture", "Local update", "Top-down feedback"]
        head += ["pixels"] + [f"layer {i}" for i in range(1, n_layers)] + ["best", "seeds", "epochs", "train s"]
        lines += [f"### {result.dataset}: {title}, mean +- std over seeds", "",
                  "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in result.results:
            # one seed has no spread to show (not "+- 0.0")
            accs = [f"{x['accuracy_mean'] * 100:.1f}" + (f" +- {x['accuracy_std'] * 100:.1f}" if r["seeds"] > 1 else "")
                    for x in r[key]]
            best = max(r[key][1:], key=lambda x: x["accuracy_mean"])
            lines.append("| " + " | ".join([r["rule"], *rule_traits(r["rule"]), *accs,
                                             f"{best['accuracy_mean'] * 100:.1f} (layer {best['layer']})",
                                             str(r["seeds"]), str(r["epochs"]), f"{r['train_s']:.0f}"]) + " |")
        lines.append("")
    refs = getattr(result, "references", None) or {}
    if refs:
        r = refs["random_relu"]
        lines += ["Reference rows (same split and readout):", "",
                  f"- random ReLU-{r['width']} features of the pixels: {r['accuracy_mean'] * 100:.1f}"
                  + (f" +- {r['accuracy_std'] * 100:.1f}" if len(r["seeds"]) > 1 else "") + f" ({len(r['seeds'])} seeds)",
                  f"- 1-NN on raw pixels: {refs['nn1_pixels']['accuracy'] * 100:.1f}", ""]
    lines += _mechanism_table(result)
    groups = getattr(result, "comparisons_all", None) or {"": getattr(result, "comparisons", []) or []}
    for label, comps in groups.items():
        comps = [c for c in comps if c["ci95"] is not None]
        if not comps:
            continue
        what = f" ({label.replace('@R', f', R = {R}').replace('@1', ', R = 1')})" if label else ""
        lines += [f"### Paired differences of the best-layer accuracy{what} (percentage points, 95 % CI over the "
                  "same seeds)", "", "| a - b | n | difference | 95 % CI | ordering |", "|---|---|---|---|---|"]
        for c in comps:
            lo, hi = c["ci95"]
            verdict = (f"{c['a']} > {c['b']}" if lo > 0 else f"{c['b']} > {c['a']}" if hi < 0 else "not resolved")
            lines.append(f"| {c['a']} - {c['b']} | {c['n']} | {c['diff_mean'] * 100:+.1f} | "
                         f"[{lo * 100:+.1f}, {hi * 100:+.1f}] | {verdict} |")
        lines.append("")
    return "\n".join(lines)


MECHANISM_COLUMNS = (("score_auc", "score AUC"), ("similarity_auc", "no-context AUC"),
                     ("burst_frac_same", "bursts same"), ("burst_frac_saccade", "bursts saccade"),
                     ("apical_at_clip", "apical at clip"), ("w_pred_at_bound", "W_pred at bound"),
                     ("rf_abs_corr", "field mean abs corr"), ("rf_flat", "flat fields"))


def _mechanism_table(result):
    """The spiking learners' mechanism numbers (mean over seeds), one row per rule and layer."""
    rows = [r for r in result.results if r.get("mechanism")]
    if not rows:
        return []
    head = ["rule", "layer"] + [t for _, t in MECHANISM_COLUMNS] + ["Fano", "SNR"]
    lines = ["### Mechanism on held-out images (frozen weights, context on; mean over seeds)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        for m, rel in zip(r["mechanism"], r.get("reliability") or [{}] * len(r["mechanism"])):
            cells = [r["rule"], str(m["layer"] if m.get("layer") is None else int(m["layer"]))]
            cells += ["-" if m.get(k) is None else f"{m[k]:.3f}" for k, _ in MECHANISM_COLUMNS]
            cells += ["-" if rel.get(k) is None else f"{rel[k]:.2f}" for k in ("fano", "snr_median")]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def run_spiking_study(rules, dataset, seeds, out, *, epochs=None, resume=False, progress=True,
                      max_train_images=None, ablations=("none",), overrides=None, device="cpp", eval_repeats=None):
    """Train and read out spiking learners (:mod:`cortex_sim.learning.spiking`) over seeds.

    One compiled project per network (kind, settings, plastic or frozen) serves every rule,
    ablation and seed of the study (the compile flags are in ``config["compiles"]``). Per seed:
    train (checkpoint after every chunk), measure the mechanism on the held-out images
    (:func:`~cortex_sim.learning.spiking.mechanism`), then encode every image R times on the frozen
    network (:func:`~cortex_sim.learning.spiking.encode_spiking`), pool per image and read out
    every layer (layer 0 = raw pixels) at R presentations (``readouts``) and at one
    (``readouts_r1``), as the rate path does.
    """
    from .spiking import (encode_spiking, input_rates, make_network, mechanism, reliability, rule_config, rule_kind,
                          spiking_preset, train_spiking)

    config = spiking_preset(dataset, **{**(overrides or {}), **{k: v for k, v in (
        ("epochs", epochs), ("max_train_images", max_train_images), ("eval_repeats", eval_repeats)) if v is not None}})
    ds = load_dataset(dataset)
    out = Path(out)
    pixels = ds.images.reshape(len(ds.images), -1)
    jobs = [(r, "none") for r in rules] + [("spiking-clapp", a) for a in ablations if a != "none"]
    nets, compiles, per_seed = {}, [], []

    def network(rule, cfg, plastic):
        key = (rule_kind(rule), plastic, cfg.to_json())
        if key not in nets:
            nets[key] = make_network(rule, cfg, input_rates(ds, cfg), plastic=plastic, device=device,
                                     report=progress or None)
            compiles.append(bool(nets[key].compiled))
        return nets[key]

    for rule, ablation in jobs:
        name = rule if ablation == "none" else f"{rule}/{ablation}"
        cfg = rule_config(rule, config)
        cfg.grid(ds.shape)
        cfg_json = json.loads(cfg.to_json())
        for seed in seed_list(seeds):
            tag = f"{name.replace('/', '-')}_{dataset}_seed{seed}"
            ro_path = out / "readouts" / f"{tag}.json"
            cached = json.loads(ro_path.read_text()) if resume and ro_path.exists() else None
            if cached is None or cached["config"] != cfg_json:
                net = network(rule, cfg, True)
                t0 = time.perf_counter()
                trained, _ = train_spiking(rule, ds, cfg, seed, ablation=ablation, net=net, resume=resume,
                                           checkpoint=out / "checkpoints" / f"{tag}.npz", progress=progress)
                t1 = time.perf_counter()
                mech = mechanism(net, trained.state, ds, cfg, seed, history=trained.history)
                t2 = time.perf_counter()
                codes = encode_spiking(network(rule, cfg, False), trained.state, ds, cfg, seed, progress=progress)
                encode_s = time.perf_counter() - t2
                readouts = _read_out(codes.summed(), pixels, ds, seed, tag, progress)
                readouts_1 = _read_out(codes.summed(1), pixels, ds, seed, tag + " R=1", progress) \
                    if codes.repeats > 1 else readouts
                cached = {"rule": name, "seed": seed, "config": cfg_json, "train_s": trained.train_s,
                          "train_wall_s": t1 - t0, "mechanism_s": t2 - t1, "encode_s": encode_s,
                          "eval_repeats": codes.repeats, "history": trained.history, "readouts": readouts,
                          "readouts_r1": readouts_1, "reliability": reliability(codes), "mechanism": mech,
                          "mean_rate_hz": [float(c.mean() / (cfg.t_fix_ms * 1e-3)) for c in codes.summed(1)]}
                write_json(ro_path, cached)
                write_state(out / "weights" / f"{tag}.npz", trained.state)
            per_seed.append(cached)
    for net in nets.values():
        net.close()
    result = summarise(per_seed, dataset)
    result.config = {**json.loads(config.to_json()), "compiles": compiles}
    write_study(result, out)
    return result


def write_state(path, state):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **state)


def receptive_field_figure(out, dataset, rule="spiking-clapp", seed=0, n_show=32, layer=1):
    """Receptive fields of layer ``layer`` of a finished spiking study's ``rule`` (seed ``seed``) as a
    figure (:func:`cortex_sim.learning.spiking.receptive_fields`)."""
    from ..plotting import plot_receptive_fields
    from .spiking import SpikingConfig, receptive_fields

    tag = f"{rule.replace('/', '-')}_{dataset}_seed{seed}"
    path = Path(out) / "weights" / f"{tag}.npz"
    ro = Path(out) / "readouts" / f"{tag}.json"
    if not path.exists() or not ro.exists():
        raise ParameterError(f"out: no weights of {rule!r} seed {seed} in {str(out)!r}; allowed: a finished spiking study")
    config = SpikingConfig.from_dict(json.loads(ro.read_text())["config"])
    with np.load(path) as z:
        state = {k: z[k] for k in z.files}
    what = "ON - OFF weights" if layer == 1 else "layer-1 fields weighted by the basal weights, over a glimpse"
    return plot_receptive_fields(receptive_fields(config, state, layer), n_show=n_show,
                                 title=f"{rule}, {dataset}, seed {seed}: layer-{layer} receptive fields ({what})")
