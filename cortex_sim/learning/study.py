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
from pathlib import Path

import numpy as np

from ..errors import ParameterError, check_choice, check_int
from ..readout import evaluate_layers
from .backend import BACKENDS, array_module
from .data import DATASETS, load_dataset, patch_grid
from .encoder import encode_patches, readout_features
from .results import (ALL_RULES, POOLINGS, seed_list, summarise, write_json,
                      write_state, write_study)
from .rules import RULES
from .spiking import ABLATIONS, SPIKING_RULES
from .train import learn_preset, train_encoder

__all__ = ["run_study"]


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
