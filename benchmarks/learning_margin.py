"""How much better than the untrained encoder does a short CLAPP training read out?

Measured over several seeds before a learning test asserts a margin, so that the test is not flaky.
For each seed: train ``--rule`` (default the published clapp) on mnist5k for ``--epochs`` epochs of
``--images`` images, encode every image, and read out each layer (patch-average pooling, the
logistic-regression readout of the studies); the untrained encoder of the same seed is read out the
same way. Prints, per seed, the best-layer and top-layer accuracies of both and their differences,
and the mean, sd and minimum of the differences; ``--json`` writes them.

    python benchmarks/learning_margin.py [--seeds 5] [--epochs 2] [--images 4000] [--backend numpy]
"""

import argparse
import json
import time

import numpy as np

from cortex_sim.learning.data import load_dataset
from cortex_sim.learning.study import layer_accuracies
from cortex_sim.learning.train import learn_preset, train_encoder, untrained_weights


def margin(rule="clapp", seed=0, epochs=2, images=4000, dataset="mnist5k", backend="numpy", lr=None):
    """Per-layer readout accuracies of ``rule`` after a short training and of the untrained
    encoder, same seed: ``{"trained": [...], "untrained": [...], "train_s"}``."""
    ds = load_dataset(dataset)
    cfg = learn_preset(dataset, epochs=epochs, max_train_images=images, lr=lr)
    enc = train_encoder(rule, ds.training_images(), cfg, seed, progress=False, backend=backend)
    untrained = untrained_weights(cfg, seed)
    return {"seed": seed, "trained": layer_accuracies(enc.weights, cfg, ds, seed, backend=backend),
            "untrained": layer_accuracies(untrained, cfg, ds, seed, backend=backend), "train_s": enc.train_s}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rule", default="clapp")
    p.add_argument("--dataset", default="mnist5k")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    p.add_argument("--seed", type=int, action="append", default=None, help="these seeds instead (repeatable)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--images", type=int, default=4000)
    p.add_argument("--lr", type=float, default=None, help="Adam step size (default: the preset's)")
    p.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    p.add_argument("--json", default=None)
    args = p.parse_args()
    rows = []
    for seed in args.seed or range(args.seeds):
        t0 = time.perf_counter()
        r = margin(args.rule, seed, args.epochs, args.images, args.dataset, args.backend, args.lr)
        r["best_diff"] = max(r["trained"]) - max(r["untrained"])
        r["top_diff"] = r["trained"][-1] - r["untrained"][-1]
        r["wall_s"] = time.perf_counter() - t0
        rows.append(r)
        print(f"seed {seed}: trained {[round(100 * a, 1) for a in r['trained']]} untrained "
              f"{[round(100 * a, 1) for a in r['untrained']]} best +{100 * r['best_diff']:.1f} top "
              f"+{100 * r['top_diff']:.1f} points ({r['wall_s']:.0f} s)", flush=True)
    summary = {}
    for key in ("best_diff", "top_diff"):
        d = np.array([r[key] for r in rows])
        summary[key] = {"mean": float(d.mean()), "sd": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
                        "min": float(d.min())}
        print(f"{key}: mean {100 * d.mean():+.1f}, sd {100 * summary[key]['sd']:.1f}, min {100 * d.min():+.1f} points")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "seeds": rows, "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()
