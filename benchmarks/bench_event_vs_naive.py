"""Benchmark (not a test): event-driven Clopath rule vs the naive per-synapse formulation.

N AdEx-Clopath neurons (NEST-mirroring preset) x K Poisson inputs at R Hz, all-to-all plastic
synapses (N*K), delta PSPs of w mV (w0 = 0.5), 1 ms delay, dt 0.1 ms, C++ standalone, one thread.
Both formulations run the same generated input; the script reports the simulation-loop time
(Brian2's own measurement), the weight agreement and the post rate, and appends a dated row to
benchmarks/RESULTS.md.

Usage: python benchmarks/bench_event_vs_naive.py [--neurons 1000] [--inputs 200] [--rate 10]
       [--duration 1] [--drive 500] [--no-record]
"""

import argparse
import sys

import numpy as np
from brian2 import BrianLogger, Hz, mV, ms, pA, second

from cortex_sim.devices import activate, run_network
from cortex_sim.networks import feedforward_clopath
from cortex_sim.params import preset

from _common import machine, network_args, record, today


def run(form, a):
    activate("cpp")
    ff = feedforward_clopath(a.neurons, a.inputs, rate=a.rate * Hz, duration=a.duration * second,
                             drive=a.drive * pA,
                             rule=preset("clopath", "nest").with_(delay_u_bars=a.delay_u_bars * ms), psp=1 * mV, w0=0.5, delay=1 * ms,
                             formulation=form, seed=1, name="bench")
    info = run_network(ff.net, a.duration * second, device="cpp", project_name=f"bench_{form}")
    w = ff.weights()
    rate = ff.spikes.num_spikes / a.neurons / a.duration
    return info, w, rate


def main():
    p = network_args(argparse.ArgumentParser())
    p.add_argument("--delay-u-bars", type=float, default=5.0, help="eps in ms (NEST default 5)")
    p.add_argument("--formulation", default="event", choices=["event", "accumulator"])
    p.add_argument("--no-record", action="store_true")
    a = p.parse_args()
    BrianLogger.log_level_warn()
    ie, we, re = run(a.formulation, a)
    in_, wn, rn = run("naive", a)
    rel = float(np.max(np.abs(we - wn) / np.abs(wn).clip(1e-12)))
    n_syn = a.neurons * a.inputs
    row = (f"| {today()} | {a.formulation} | {machine()} | {n_syn} | {a.drive:.0f} | {re:.1f} | {ie.run_s:.3f} | {in_.run_s:.3f} | "
           f"{in_.run_s / ie.run_s:.2f} | {rel:.1e} |")
    print(f"synapses {n_syn}, post rate {re:.1f} Hz (naive {rn:.1f} Hz)")
    print(f"{a.formulation} run_s {ie.run_s:.3f} s (compile {ie.compile_s:.1f} s), naive run_s {in_.run_s:.3f} s "
          f"(compile {in_.compile_s:.1f} s), naive/event {in_.run_s / ie.run_s:.2f}, max rel weight diff {rel:.1e}")
    if not a.no_record:
        record(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
