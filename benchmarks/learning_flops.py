"""Achieved FLOP rate of encoder training against the matmul rate of the same device, in the same run.

Trains each rule for a fixed number of batches on mnist5k (default settings: 32-64-128-256 channels,
3 x 3 grid of 10 x 10 patches, 32 images per batch), counts the convolution FLOPs
(:func:`cortex_sim.learning.train.training_flops`) and divides by the wall time. The reference is
float32 matmul of the size of the largest layer's im2col product ((288 * 25) x 1152 @ 1152 x 256),
timed just before (on a GPU also an 8192^3 product, the device's peak float32 matmul rate).
Appends one row per rule to RESULTS.md and prints the STL-10 cost estimate of the 'stl10-paper'
preset at the measured rate.

With ``--stl10-batches N`` it also trains the 'stl10-paper' preset (VGG-6, random 64-px crops with
flips of 96 x 96 images, 7 x 7 patches of 16 x 16) for N batches on synthetic images of the real
shape (uniform noise: the cost does not depend on the pixels) after one warm-up batch, and reports
the time of one epoch of the official script (100 000 unlabeled + 5 000 training images).

    python benchmarks/learning_flops.py [--batches 20] [--rules clapp,bp,pc] [--backend cupy]
                                        [--stl10-batches 20] [--json out.json]
"""

import argparse
import json
import time

import numpy as np
from _common import machine, record, today

from cortex_sim.learning.backend import array_module
from cortex_sim.learning.data import load_dataset
from cortex_sim.learning.train import LearnConfig, learn_preset, train_encoder, training_flops

STL10_EPOCH_IMAGES = 105_000


def _sync(xp):
    if xp is not np:
        xp.cuda.Device().synchronize()


def matmul_rate(xp=np, shape=(288 * 25, 1152, 256), repeats=20):
    """float32 FLOP/s of ``(m x k) @ (k x n)`` on ``xp``'s device."""
    m, k, n = shape
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.random((m, k), dtype=np.float32))
    b = xp.asarray(rng.random((k, n), dtype=np.float32))
    a @ b
    _sync(xp)
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(xp)
    return repeats * 2 * m * k * n / (time.perf_counter() - t0)


def stl10_epoch(backend, batches):
    """Seconds per batch and per official epoch of the 'stl10-paper' preset, and its FLOP rate."""
    cfg = learn_preset("stl10-paper", epochs=1)
    images = np.random.default_rng(0).random((32 * batches, 96, 96), dtype=np.float32)
    warm = learn_preset("stl10-paper", epochs=1, max_train_images=32)
    train_encoder("clapp", images, warm, seed=0, progress=False, backend=backend)   # kernels, allocator
    t0 = time.perf_counter()
    train_encoder("clapp", images, cfg, seed=0, progress=False, backend=backend)
    per_batch = (time.perf_counter() - t0) / batches
    flops, _ = training_flops(cfg, (cfg.crop, cfg.crop), 32, "clapp")
    return {"batches": batches, "s_per_batch": per_batch,
            "epoch_s": per_batch * (STL10_EPOCH_IMAGES // 32), "tflops": flops / per_batch / 1e12,
            "epoch_pflop": flops * (STL10_EPOCH_IMAGES // 32) / 1e15}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--rules", default="clapp,bp")
    p.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    p.add_argument("--stl10-batches", type=int, default=0, help="also time the stl10-paper preset (0: no)")
    p.add_argument("--json", default=None, help="also write the measurements to this file")
    args = p.parse_args()
    xp = array_module(args.backend)
    images = load_dataset("mnist5k").training_images()
    ref = matmul_rate(xp)
    out = {"date": today(), "machine": machine(), "backend": args.backend, "matmul_gflops": ref / 1e9, "rules": {}}
    if xp is not np:
        out["device"] = xp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        out["matmul_8192_tflops"] = matmul_rate(xp, (8192, 8192, 8192), repeats=10) / 1e12
        print(f"{out['device']}: float32 matmul 8192^3 {out['matmul_8192_tflops']:.1f} TFLOP/s")
    where = f"{machine()}, {args.backend}" + (f", {out['device']}" if xp is not np else "")
    rows = []
    for rule in args.rules.split(","):
        cfg = LearnConfig(epochs=1, max_train_images=32 * args.batches)
        if xp is not np:
            train_encoder(rule, images, LearnConfig(epochs=1, max_train_images=32), seed=0, progress=False,
                          backend=args.backend)
        t0 = time.perf_counter()
        train_encoder(rule, images, cfg, seed=0, progress=False, backend=args.backend)
        wall = time.perf_counter() - t0
        flops, _ = training_flops(cfg, images.shape[1:], 32 * args.batches, rule)
        rate = flops / wall
        rows.append((rule, rate, wall))
        epoch_s = wall * 4000 / (32 * args.batches)
        out["rules"][rule] = {"gflops": rate / 1e9, "ratio": rate / ref, "epoch_s": epoch_s}
        record(f"| {today()} | {where} | {rule} | {rate / 1e9:.1f} | {ref / 1e9:.1f} | "
               f"{100 * rate / ref:.0f} % | {epoch_s:.1f} |")
    stl = learn_preset("stl10-paper")
    clapp_rate = dict((r, x) for r, x, _ in rows).get("clapp", rows[0][1])
    fl, _ = training_flops(stl, (64, 64), STL10_EPOCH_IMAGES, "clapp")
    print(f"STL-10 paper preset (VGG-6, 7 x 7 patches, 105 000 images): {fl / 1e12:.0f} TFLOP per epoch, "
          f"{fl / clapp_rate / 3600:.1f} h per epoch at {clapp_rate / 1e9:.0f} GFLOP/s (the mnist5k rate), "
          f"{stl.epochs * fl / clapp_rate / 86400:.0f} days for {stl.epochs} epochs")
    if args.stl10_batches:
        s = stl10_epoch(args.backend, args.stl10_batches)
        out["stl10_paper"] = s
        print(f"STL-10 paper preset measured on synthetic 96 x 96 images ({where}): {s['s_per_batch']:.3f} s per "
              f"batch of 32, {s['tflops']:.1f} TFLOP/s, {s['epoch_s'] / 60:.1f} min per epoch of "
              f"{STL10_EPOCH_IMAGES} images ({s['epoch_pflop']:.2f} PFLOP), "
              f"{s['epoch_s'] * stl.epochs / 86400:.1f} days for {stl.epochs} epochs")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
