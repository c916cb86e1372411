"""One row of the spiking learner's design ladder: train a rule with config overrides, read it out
at R = 1 and R presentations, and measure the mechanism numbers.

    python benchmarks/spiking_ladder.py --dataset digits --rule spiking-clapp --seed 0 \\
        --set eta_pred_nA=0.05 --set hinge_margin_nA=0.02 [--preset digits-legacy] [--tag NAME] [--out FILE.jsonl]

Prints one JSON line (and appends it to ``--out``): the variant, readout accuracies per layer
(patch-average and 2x2 grid, at R = 1 and R), reliability, mechanism, training and encoding time.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits", choices=("digits", "mnist5k"))
    p.add_argument("--preset", default=None, help="spiking preset (default: the data set's)")
    p.add_argument("--rule", default="spiking-clapp")
    p.add_argument("--ablation", default="none")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], help="config override NAME=VALUE (Python literal)")
    p.add_argument("--tag", default="")
    p.add_argument("--out", default=None)
    p.add_argument("--save", default=None, help="save the trained state and the codes (npz)")
    a = p.parse_args(argv)

    from brian2 import BrianLogger

    from cortex_sim.learning.data import load_dataset
    from cortex_sim.learning.spiking import (encode_spiking, input_rates, make_network, mechanism, reliability,
                                             rule_config, spiking_preset, train_spiking)
    from cortex_sim.learning.study import POOLINGS, _read_out

    BrianLogger.log_level_warn()
    over = {}
    for item in a.set:
        k, v = item.split("=", 1)
        over[k] = ast.literal_eval(v)
    ds = load_dataset(a.dataset)
    cfg = spiking_preset(a.preset or a.dataset, **over)
    cfg = rule_config(a.rule, cfg)
    rates = input_rates(ds, cfg)
    net = make_network(a.rule, cfg, rates)
    t0 = time.perf_counter()
    trained, _ = train_spiking(a.rule, ds, cfg, a.seed, net=net, ablation=a.ablation, progress=False)
    train_s = time.perf_counter() - t0
    mech = mechanism(net, trained.state, ds, cfg, a.seed, history=trained.history)
    ev = make_network(a.rule, cfg, rates, plastic=False)
    t1 = time.perf_counter()
    codes = encode_spiking(ev, trained.state, ds, cfg, a.seed, progress=False)
    encode_s = time.perf_counter() - t1
    pixels = ds.images.reshape(len(ds.images), -1)
    ro_r = _read_out(codes.summed(), pixels, ds, a.seed, "R", False)
    ro_1 = _read_out(codes.summed(1), pixels, ds, a.seed, "1", False)
    acc = {f"{pool}@{tag}": [round(100 * r["accuracy"], 1) for r in ro[pool]] for tag, ro in (("R", ro_r), ("1", ro_1))
           for pool in POOLINGS}
    row = {"tag": a.tag, "dataset": a.dataset, "rule": a.rule, "ablation": a.ablation, "seed": a.seed, "set": over,
           "R": cfg.eval_repeats, "acc": acc, "reliability": reliability(codes),
           "mechanism": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in m.items()} for m in mech],
           "history": trained.history, "train_s": round(train_s, 1), "encode_s": round(encode_s, 1),
           "mean_count": [float(x.mean()) for x in codes.summed(1)]}
    if a.save:
        import numpy as np

        np.savez_compressed(a.save, **{f"state_{k}": v for k, v in trained.state.items()},
                            **{f"codes{i + 1}": c for i, c in enumerate(codes.layers)})
    line = json.dumps(row)
    print(line)
    if a.out:
        with open(a.out, "a") as f:
            f.write(line + "\n")
    net.close()
    ev.close()


if __name__ == "__main__":
    sys.exit(main())
