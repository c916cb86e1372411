"""Achieved FLOP rate of encoder training against numpy's matmul rate, measured in the same run.

Trains each rule for a fixed number of batches on mnist5k (default settings: 32-64-128-256 channels,
3 x 3 grid of 10 x 10 patches, 32 images per batch), counts the convolution FLOPs
(:func:`cortex_sim.learning.train.training_flops`) and divides by the wall time. The reference is
float32 matmul of the size of the largest layer's im2col product ((288 * 25) x 1152 @ 1152 x 256),
timed just before. Appends one row per rule to RESULTS.md and prints the STL-10 cost estimate of
the 'stl10-paper' preset at the measured rate.

    python benchmarks/learning_flops.py [--batches 20] [--rules clapp,bp,pc]
"""

import argparse
import time

import numpy as np
from _common import machine, record, today

from cortex_sim.learning.data import load_dataset
from cortex_sim.learning.train import LearnConfig, learn_preset, train_encoder, training_flops


def matmul_rate(repeats=20):
    rng = np.random.default_rng(0)
    a = rng.random((288 * 25, 1152), dtype=np.float32)
    b = rng.random((1152, 256), dtype=np.float32)
    a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return repeats * 2 * a.shape[0] * a.shape[1] * b.shape[1] / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--rules", default="clapp,bp")
    args = p.parse_args()
    images = load_dataset("mnist5k").training_images()
    ref = matmul_rate()
    rows = []
    for rule in args.rules.split(","):
        cfg = LearnConfig(epochs=1, max_train_images=32 * args.batches)
        t0 = time.perf_counter()
        train_encoder(rule, images, cfg, seed=0, progress=False)
        wall = time.perf_counter() - t0
        flops, _ = training_flops(cfg, images.shape[1:], 32 * args.batches, rule)
        rate = flops / wall
        rows.append((rule, rate, wall))
        epoch_s = wall * 4000 / (32 * args.batches)
        record(f"| {today()} | {machine()} | {rule} | {rate / 1e9:.1f} | {ref / 1e9:.1f} | "
               f"{100 * rate / ref:.0f} % | {epoch_s:.1f} |")
    stl = learn_preset("stl10-paper")
    clapp_rate = dict((r, x) for r, x, _ in rows).get("clapp", rows[0][1])
    fl, _ = training_flops(stl, (64, 64), 105_000, "clapp")
    print(f"STL-10 paper preset (VGG-6, 7 x 7 patches, 105 000 images): {fl / 1e12:.0f} TFLOP per epoch, "
          f"{fl / clapp_rate / 3600:.1f} h per epoch at {clapp_rate / 1e9:.0f} GFLOP/s, "
          f"{stl.epochs * fl / clapp_rate / 86400:.0f} days for {stl.epochs} epochs")


if __name__ == "__main__":
    main()
