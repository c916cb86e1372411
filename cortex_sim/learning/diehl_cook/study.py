"""A Diehl & Cook study: network sizes x seeds, both readouts, the learning curve, tables and figures.

Files under ``out``: ``checkpoints/diehl-cook-<N>_<dataset>_seed<s>.npz`` (after every chunk),
``readouts/...json`` (per finished seed), ``weights/...npz``, ``results.json``, ``diehl_cook.md``,
``diehl_cook_curve.png`` and ``diehl_cook_fields.png``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ParameterError, check_int
from ..results import write_json, write_result_files, write_state
from .config import DiehlCookConfig
from .network import DiehlCookNetwork
from .train import evaluate_diehl_cook, train_diehl_cook

__all__ = ["run_diehl_cook_study", "DiehlCookStudy"]

#: published numbers to set the results beside (voting accuracy on the MNIST test set)
ANCHORS = {
    100: [("paper (Diehl & Cook 2015, table): 100 neurons", 0.829),
          ("BindsNET eth_mnist.py: 100 neurons, 1 pass over 60 000", 0.77)],
    400: [("paper (Diehl & Cook 2015, table): 400 neurons", 0.870),
          ("authors' code retrained: 400 neurons, 3 passes over 60 000", 0.89)],
}


@dataclass
class DiehlCookStudy:
    results: list     # per size: aggregated
    per_seed: list    # per (size, seed) record
    dataset: str
    config: dict

    def to_dict(self):
        return {"results": self.results, "per_seed": self.per_seed, "dataset": self.dataset, "config": self.config,
                "anchors": {str(k): [{"what": w, "accuracy": a} for w, a in v] for k, v in ANCHORS.items()}}


def _mean_std(values):
    v = np.asarray(values, float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def run_diehl_cook_study(dataset="mnist5k", seeds=3, out="cortex_sim_out/learn", *, neurons=(100,), config=None,
                         resume=False, progress=True, device="cpp", report=None):
    """Train and read out the Diehl & Cook network for every size in ``neurons`` and every seed.

    Parameters
    ----------
    seeds : int or list of int
        ``N`` means seeds 0 .. N-1.
    config : DiehlCookConfig or None
        Settings (``neurons`` is taken from the ``neurons`` argument).
    resume : bool
        Finished seeds are read back; an unfinished one continues from its checkpoint.

    Returns
    -------
    DiehlCookStudy
    """
    from ..data import load_dataset
    from ..results import seed_list
    from ...readout import LinearReadout

    seeds = seed_list(seeds)
    sizes = tuple(check_int("neurons", n, low=1, high=6400) for n in (neurons if np.iterable(neurons) else [neurons]))
    if not sizes:
        raise ParameterError("neurons: got no size; allowed: one or more numbers of excitatory neurons")
    config = config or DiehlCookConfig()
    if dataset != "mnist5k":
        raise ParameterError(f"dataset: got {dataset!r} for rule 'diehl-cook'; allowed: 'mnist5k' (784 inputs)")
    ds = load_dataset(dataset)
    out = Path(out)
    pixels = ds.images.reshape(len(ds.images), -1)
    pixel_acc = LinearReadout(seed=0).fit(pixels[ds.train], ds.labels[ds.train]).score(pixels[ds.test],
                                                                                       ds.labels[ds.test])
    per_seed, compiles = [], []
    for n in sizes:
        cfg = config.with_(neurons=n)
        cfg_json = json.loads(cfg.to_json())
        net = None
        for seed in seeds:
            tag = f"diehl-cook-{n}_{dataset}_seed{seed}"
            ro_path = out / "readouts" / f"{tag}.json"
            rec = json.loads(ro_path.read_text()) if resume and ro_path.exists() else None
            if rec is None or rec["config"] != cfg_json:
                if net is None:
                    net = DiehlCookNetwork(cfg, device=device, report=report)
                    compiles.append(bool(net.compiled))
                trained, _ = train_diehl_cook(ds, cfg, seed, net=net, checkpoint=out / "checkpoints" / f"{tag}.npz",
                                              resume=resume, progress=progress)
                t0 = time.perf_counter()
                ev = evaluate_diehl_cook(net, trained.state, ds, cfg, seed, tag=0, progress=progress)
                eval_s = time.perf_counter() - t0
                n_eval = ev["assign_images"] + ev["test_images"]
                curve = trained.curve + [{"presentations": trained.presentations, "voting": ev["voting"],
                                          "linear": ev["linear"], "assign_images": ev["assign_images"]}]
                rec = {"rule": f"diehl-cook-{n}", "neurons": n, "seed": seed, "dataset": dataset, "config": cfg_json,
                       "voting": ev["voting"], "linear": ev["linear"], "linear_C": ev["linear_C"],
                       "pixels_linear": pixel_acc, "curve": curve, "presentations": trained.presentations,
                       "train_s": trained.train_s, "images_per_s": trained.presentations / max(trained.train_s, 1e-9),
                       "eval_s": eval_s, "eval_images_per_s": n_eval / max(eval_s, 1e-9),
                       "retries": trained.retries, "capped": trained.capped,
                       "neurons_assigned": ev["neurons_assigned"], "mean_spikes_per_image": ev["mean_spikes_per_image"],
                       "theta_mV_mean": float(np.mean(trained.state["theta"]) * 1e3)}
                write_json(ro_path, rec)
                write_state(out / "weights" / f"{tag}.npz", trained.state)
            per_seed.append(rec)
        if net is not None:
            net.close()
    study = summarise_diehl_cook(per_seed, dataset, {**json.loads(config.to_json()), "neurons": list(sizes),
                                                      "compiles": compiles})
    write_diehl_cook(study, out)
    return study


def _group(rec):
    """Name of a record's group: diehl-cook-N, with -xK when the training images were repeated."""
    k = rec["config"].get("repeat_train", 1)
    return f"diehl-cook-{rec['neurons']}" + (f"-x{k}" if k > 1 else "")


def _nominal(point, rec):
    """The curve point a measurement belongs to: the end of training, or the largest of the
    config's points it reached (a point is measured at the first chunk end past it)."""
    if point is rec["curve"][-1]:
        return rec["presentations"]
    return max((p for p in rec["config"]["curve"] if p <= point["presentations"]), default=point["presentations"])


def summarise_diehl_cook(per_seed, dataset, config=None):
    """Aggregate per-seed records (``readouts/*.json``) per network size and repeat count: mean
    and std over seeds of the accuracies, speeds and the learning curve."""
    results = []
    for name in dict.fromkeys(_group(r) for r in per_seed):
        runs = [r for r in per_seed if _group(r) == name]
        n = runs[0]["neurons"]
        entry = {"rule": name, "neurons": n, "seeds": len(runs), "seed_list": [r["seed"] for r in runs],
                 "epochs": runs[0]["config"]["epochs"], "repeat_train": runs[0]["config"].get("repeat_train", 1),
                 "presentations": runs[0]["presentations"], "pixels_linear": runs[0]["pixels_linear"]}
        for key in ("voting", "linear", "images_per_s", "train_s", "eval_images_per_s", "mean_spikes_per_image",
                    "retries"):
            entry[f"{key}_mean"], entry[f"{key}_std"] = _mean_std([r[key] for r in runs])
        entry["curve"] = []
        points = {}
        for r in runs:
            for c in r["curve"]:
                points.setdefault(_nominal(c, r), []).append(c)
        for p in sorted(points):
            vals = points[p]
            v, lin = _mean_std([c["voting"] for c in vals]), _mean_std([c["linear"] for c in vals])
            entry["curve"].append({"presentations": p, "seeds": len(vals), "voting_mean": v[0], "voting_std": v[1],
                                   "linear_mean": lin[0], "linear_std": lin[1],
                                   "presentations_measured": [c["presentations"] for c in vals],
                                   "assign_images": vals[0]["assign_images"]})
        entry["anchors"] = [{"what": w, "accuracy": a} for w, a in ANCHORS.get(n, [])]
        results.append(entry)
    return DiehlCookStudy(results, per_seed, dataset, config or per_seed[0]["config"])


def collect_diehl_cook(folders, dataset="mnist5k"):
    """A :class:`DiehlCookStudy` from the finished seeds in ``folders`` (studies run in parallel)."""
    per_seed = [json.loads(p.read_text()) for folder in folders
                for p in sorted(Path(folder).glob(f"readouts/diehl-cook-*_{dataset}_seed*.json"))]
    if not per_seed:
        raise ParameterError(f"folders: no readouts/diehl-cook-*_{dataset}_seed*.json in {list(map(str, folders))}")
    per_seed.sort(key=lambda r: (r["neurons"], r["config"].get("repeat_train", 1), r["seed"]))
    return summarise_diehl_cook(per_seed, dataset)


def write_diehl_cook(study, out):
    """results.json and diehl_cook.md in ``out``."""
    write_result_files(out, study.to_dict(), "diehl_cook.md", diehl_cook_table(study))


def diehl_cook_table(study):
    """Markdown: per size, voting and linear accuracy (mean +- std over seeds), speed, anchors."""
    lines = [f"### Diehl & Cook 2015 on {study.dataset} (held-out split; mean +- std over seeds)", "",
             "| network | seeds | epochs x repeats | presentations | voting % | linear % | pixels linear % | "
             "train img/s | spikes/test image | published anchors (MNIST test, voting) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in study.results:
        pm = lambda k: f"{r[k + '_mean'] * 100:.1f}" + (f" +- {r[k + '_std'] * 100:.1f}" if r["seeds"] > 1 else "")
        anchors = "; ".join(f"{a['what']} {a['accuracy'] * 100:.1f}" for a in r["anchors"]) or "-"
        lines.append(f"| {r['rule']} ({r['neurons']} exc + {r['neurons']} inh) | {r['seeds']} | {r['epochs']} x {r['repeat_train']} | "
                     f"{r['presentations']} | {pm('voting')} | {pm('linear')} | {r['pixels_linear'] * 100:.1f} | "
                     f"{r['images_per_s_mean']:.1f} | {r['mean_spikes_per_image_mean']:.1f} | {anchors} |")
    lines += ["", "Learning curve (held-out voting / linear %, mean over seeds; labels assigned from a fixed random "
              "subset of `assign` training images at intermediate points, from all of them at the end):", "",
              "| network | presentations | assign | voting % | linear % |", "|---|---|---|---|---|"]
    for r in study.results:
        for c in r["curve"]:
            sd = lambda k: f" +- {c[k] * 100:.1f}" if c["seeds"] > 1 else ""
            lines.append(f"| {r['rule']} | {c['presentations']} | {c['assign_images']} | "
                         f"{c['voting_mean'] * 100:.1f}{sd('voting_std')} | {c['linear_mean'] * 100:.1f}{sd('linear_std')} |")
    return "\n".join(lines) + "\n"


def plot_curve(study, ax=None):
    """Held-out accuracy vs training presentations per network size (voting solid, linear dashed;
    error bars: std over seeds), the published anchors as dotted lines."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drawn = set()   # the anchors of a network size, once (in the colour of its first group)
    for k, r in enumerate(study.results):
        col = colours[k % len(colours)]
        x = [c["presentations"] for c in r["curve"]]
        ax.errorbar(x, [c["voting_mean"] * 100 for c in r["curve"]], [c["voting_std"] * 100 for c in r["curve"]],
                    color=col, marker="o", capsize=3, label=f"{r['rule']}, voting")
        ax.errorbar(x, [c["linear_mean"] * 100 for c in r["curve"]], [c["linear_std"] * 100 for c in r["curve"]],
                    color=col, marker="s", ls="--", capsize=3, label=f"{r['rule']}, linear readout")
        if r["neurons"] in drawn:
            continue
        drawn.add(r["neurons"])
        for a in r["anchors"]:
            ax.axhline(a["accuracy"] * 100, color=col, ls=":", lw=1)
            ax.text(x[0], a["accuracy"] * 100 + 0.4, a["what"], color=col, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("training presentations (images shown)")
    ax.set_ylabel("held-out accuracy (%)")
    seeds = ", ".join(f"{r['rule']}: {r['seeds']} seed{'s' if r['seeds'] > 1 else ''}" for r in study.results)
    ax.set_title(f"Diehl & Cook 2015 on {study.dataset} ({seeds}; error bars: std over seeds;\n"
                 "dotted: published MNIST anchors with 60 000 training images)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return ax.figure


def plot_fields(weights, n_show=100, title=None):
    """Input weights of the first ``n_show`` excitatory neurons as 28 x 28 images, with a colour bar."""
    import matplotlib.pyplot as plt

    w = np.asarray(weights, float).reshape(784, -1)
    n = w.shape[1]
    k = min(n_show, n)
    cols = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    grid = np.full((rows * 29, cols * 29), np.nan)
    for j in range(k):
        r, c = divmod(j, cols)
        grid[r * 29:r * 29 + 28, c * 29:c * 29 + 28] = w[:, j].reshape(28, 28)
    fig, ax = plt.subplots(figsize=(7, 6.5))
    im = ax.imshow(grid, cmap="hot_r", vmin=0, vmax=float(np.nanmax(grid)))
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, fraction=0.04, label="input weight (w_max = 1)")
    ax.set_title(title or f"input weights of {k} of {n} excitatory neurons", fontsize=9)
    return fig
