"""The results of a representation-learning study: per-seed readouts aggregated into mean and
spread, paired comparisons between rules with t intervals, the lecture's Table 1 as markdown, and
the files a study writes (``results.json``, ``readout.md``, weights) -- written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import atomic_path
from ..errors import ParameterError, check_int
from .rules import RULE_TRAITS, RULES
from .spiking import SPIKING_RULES

__all__ = ["StudyResult", "paired_comparisons", "collect_study", "markdown_table"]


POOLINGS = ("patch-average", "grid2x2")


ALL_RULES = RULES + SPIKING_RULES


def rule_traits(name):
    """Table 1 columns of a rule name (an ablation 'spiking-clapp/no-apical' has its rule's)."""
    from .spiking.train import SPIKING_RULE_REGISTRY

    base = name.split("/")[0]
    return RULE_TRAITS[base] if base in RULE_TRAITS else SPIKING_RULE_REGISTRY[base].traits


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


def write_result_files(out, record, markdown_name, markdown):
    """``results.json`` (``record``) and the markdown table ``markdown_name`` in ``out``, each atomically."""
    out = Path(out)
    write_json(out / "results.json", record)
    with atomic_path(out / markdown_name) as tmp:
        Path(tmp).write_text(markdown)


def write_study(result, out):
    """Write ``results.json`` and ``readout.md`` into ``out`` (atomically)."""
    write_result_files(out, result.to_dict(), "readout.md", markdown_table(result))


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


def write_state(path, state):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **state)
