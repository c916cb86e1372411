"""Speed of the spiking learner: compile count and time, time per training epoch, simulated
seconds per wall second, evaluation time (frozen network, R presentations) and peak memory of the
simulation binary.

    python benchmarks/spiking_learner.py --dataset digits [--device cpp|cuda] [--neurons 64,128]
        [--max-train-images N] [--eval-images N] [--eval-repeats R] [--slots 72] [--save-state FILE] [--json]

The binary's peak resident memory is read from the kernel's accounting of child processes, so run
it with a warm project cache (no compiler among the children) for a memory figure; ``compiled`` in
the output says whether this run compiled.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits", choices=("digits", "mnist5k"))
    p.add_argument("--rule", default="spiking-clapp")
    p.add_argument("--device", default="cpp", choices=("cpp", "cuda"))
    p.add_argument("--neurons", default=None)
    p.add_argument("--slots", type=int, default=None)
    p.add_argument("--max-train-images", type=int, default=None)
    p.add_argument("--eval-images", type=int, default=None, help="images encoded for the evaluation timing")
    p.add_argument("--eval-repeats", type=int, default=None, help="R presentations per evaluation image")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--save-state", default=None)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)

    from brian2 import BrianLogger

    from cortex_sim.learning.data import load_dataset
    from cortex_sim.learning.spiking import encode_spiking, input_rates, make_network, spiking_preset, train_spiking

    BrianLogger.log_level_warn()
    over = {"epochs": a.epochs, "max_train_images": a.max_train_images}
    if a.neurons:
        over["neurons"] = tuple(int(x) for x in a.neurons.split(","))
        over["p_connect"] = (1.0,) + (0.25,) * (len(over["neurons"]) - 1)
    if a.slots:
        over["slots"] = a.slots
    if a.eval_repeats:
        over["eval_repeats"] = a.eval_repeats
    ds = load_dataset(a.dataset)
    cfg = spiking_preset(a.dataset, **over)
    rates = input_rates(ds, cfg)
    t0 = time.perf_counter()
    net = make_network(a.rule, cfg, rates, device=a.device)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    trained, _ = train_spiking(a.rule, ds, cfg, 0, net=net, progress=False)
    train_wall = time.perf_counter() - t1
    n_train = min(len(ds.train), cfg.max_train_images or len(ds.train)) * cfg.epochs
    sim_train = n_train * cfg.fixations * cfg.t_fix_ms * 1e-3
    rows, cols = cfg.grid(ds.shape)
    positions = cfg.positions((rows, cols))
    out = {"dataset": a.dataset, "device": a.device, "rule": a.rule, "neurons": list(cfg.neurons),
           "synapses_basal": int(sum(len(net.synapse_index(k)[0]) for k in range(1, len(cfg.neurons) + 1))),
           "compiled": bool(net.compiled), "build_and_compile_s": round(build_s, 2), "glimpse": list(cfg.glimpse),
           "train_images": n_train, "train_wall_s": round(train_wall, 2),
           "train_sim_s": round(sim_train, 2), "train_sim_s_per_wall_s": round(sim_train / train_wall, 2),
           "chunks": -(-n_train // (cfg.slots // cfg.fixations)), "slots": cfg.slots,
           "history": trained.history}
    if a.eval_images:
        sub = type(ds)(ds.name, ds.images[: a.eval_images], ds.labels[: a.eval_images], np.arange(0), np.arange(0))
        t2 = time.perf_counter()
        frozen = make_network(a.rule, cfg, rates, plastic=False, device=a.device)
        t3 = time.perf_counter()
        codes = encode_spiking(frozen, trained.state, sub, cfg, 0, progress=False)
        enc = time.perf_counter() - t3
        sim_enc = a.eval_images * positions * cfg.t_fix_ms * 1e-3 * cfg.eval_repeats
        out.update(eval_images=a.eval_images, eval_repeats=cfg.eval_repeats, eval_build_s=round(t3 - t2, 2),
                   eval_compiled=bool(frozen.compiled), eval_wall_s=round(enc, 2),
                   eval_sim_s_per_wall_s=round(sim_enc / enc, 2),
                   eval_mean_counts=[float(c.mean()) for c in codes.summed(1)])
        frozen.close()
    out["peak_rss_children_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    if a.save_state:
        np.savez(a.save_state, **trained.state)
    print(json.dumps(out) if a.json else "\n".join(f"{k:28s} {v}" for k, v in out.items()))
    net.close()


if __name__ == "__main__":
    sys.exit(main())
