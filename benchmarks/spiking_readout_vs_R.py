"""How the spiking learner's readout depends on R, the presentations summed per evaluation image
(the choice of the default ``eval_repeats``): train a rule, encode every image R_max times on the
frozen network, read out the sums of the first R presentations.

    python benchmarks/spiking_readout_vs_R.py --dataset digits --rules spiking-clapp,spiking-random \\
        [--r-max 10] [--seed 0] [--json FILE] [--figure FILE]

Prints a table (accuracy %, per layer and pooling, per R) and the encoding time per presentation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

R_LIST = (1, 2, 3, 5, 8, 10, 15, 20)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits", choices=("digits", "mnist5k"))
    p.add_argument("--rules", default="spiking-clapp,spiking-random")
    p.add_argument("--r-max", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    p.add_argument("--figure", default=None)
    a = p.parse_args(argv)

    from brian2 import BrianLogger

    from cortex_sim.learning.data import load_dataset
    from cortex_sim.learning.spiking import encode_spiking, input_rates, make_network, spiking_preset, train_spiking
    from cortex_sim.learning.study import POOLINGS, _read_out

    BrianLogger.log_level_warn()
    ds = load_dataset(a.dataset)
    cfg = spiking_preset(a.dataset)
    rates = input_rates(ds, cfg)
    pixels = ds.images.reshape(len(ds.images), -1)
    rows = []
    for rule in a.rules.split(","):
        net = make_network(rule, cfg, rates)
        trained, _ = train_spiking(rule, ds, cfg, a.seed, net=net, progress=False)
        frozen = make_network(rule, cfg, rates, plastic=False)
        t0 = time.perf_counter()
        codes = encode_spiking(frozen, trained.state, ds, cfg, a.seed, repeats=a.r_max, progress=False)
        enc = time.perf_counter() - t0
        for r in [x for x in R_LIST if x <= a.r_max]:
            ro = _read_out(codes.summed(r), pixels, ds, a.seed, f"R={r}", False)
            row = {"rule": rule, "R": r, "encode_s_per_presentation": round(enc / a.r_max, 1)}
            for pooling in POOLINGS:
                row[pooling] = [round(100 * x["accuracy"], 1) for x in ro[pooling][1:]]
            rows.append(row)
            print(json.dumps(row), flush=True)
        net.close()
        frozen.close()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"dataset": a.dataset, "seed": a.seed, "rows": rows}, f, indent=1)
    if a.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
        for ax, pooling in zip(axes, POOLINGS):
            for rule in a.rules.split(","):
                sel = [r for r in rows if r["rule"] == rule]
                for layer in range(len(sel[0][pooling])):
                    ax.plot([r["R"] for r in sel], [r[pooling][layer] for r in sel], "o-",
                            label=f"{rule} layer {layer + 1}")
            ax.set_xlabel("presentations summed, R")
            ax.set_title(f"{a.dataset}, {pooling} (seed {a.seed})", fontsize=9)
        axes[0].set_ylabel("readout accuracy (%)")
        axes[1].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(a.figure, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
