"""Compile once, run many: a 20-point sweep of the pairing experiment (not a test).

One compile plus 20 runs of the compiled project with Brian2 run_args (apical delay from -10 to
+9 ms), each run in its own results folder. Reports compile_s, the total, and the per-point
overhead: the wall time beyond the simulation loops, (total - sum(run_s) / processes) / n.

Usage: python benchmarks/sweep_overhead.py [--processes 1] [--trial-interval 2]
"""

import argparse
import sys
import time

from brian2 import BrianLogger, second

from cortex_sim.protocols.pairing import PairingConfig, sweep_pairing

from _common import machine, record, today


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--trial-interval", type=float, default=2.0)
    a = p.parse_args()
    BrianLogger.log_level_warn()
    cfg = PairingConfig(trial_interval=a.trial_interval * second, test_interval=a.trial_interval / 2 * second,
                        window_delays=(), pairing_counts=())
    t0 = time.perf_counter()
    rows, info = sweep_pairing({"apical_delay": [float(d) for d in range(-10, 10)]}, cfg,
                               processes=a.processes, report="stderr")
    wall = time.perf_counter() - t0
    n = len(rows)
    mean_run = sum(info["run_s"]) / n
    overhead = (info["total_s"] - sum(info["run_s"]) / a.processes) / n
    record(f"| {today()} | {machine()} | {n} | {a.processes} | {info['compile_s']:.1f} | {info['total_s']:.1f} | "
           f"{wall:.1f} | {mean_run:.3f} | {overhead:.3f} ({100 * overhead / mean_run:.1f} % of a run) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
