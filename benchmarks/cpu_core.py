"""Benchmark (not a test): the CPU core's options on `cortex-sim bench clopath`, NEST in the same run.

For each variant (integration method, precision, OpenMP threads) of the benchmark network
(1000 AdEx-Clopath neurons x 200 plastic Poisson inputs at 10 Hz, 1 s, dt 0.1 ms, accumulator form):
- time: Brian2's measurement of the simulation loop, the minimum and median of R interleaved runs
  (variants alternate, so that a slower period of a shared machine hits all of them);
- ratio: NEST 3.10's time (2 threads, same network, benchmarks/nest_clopath.py) over it;
- weights: max |w - w_ref| against the rk4 / double / 1 thread reference, and the spike count;
- NEST side by side: the largest |w - w_NEST| / tolerance of tests/test_nest_side_by_side.py
  (tolerance 6 % of NEST's change + 5e-4; pass <= 1) and the residual after the last group.
With --profile: the time per code object (Brian2's profiling) of the reference and of the fastest
variant that passes the NEST side-by-side test. Prints a Markdown table and, unless --no-record, appends it to benchmarks/RESULTS.md.

Usage: python benchmarks/cpu_core.py [--repeats 5] [--no-nest] [--profile] [--no-record]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from brian2 import BrianLogger, Hz, mV, ms, nA, pA, second

from cortex_sim.bench import bench_clopath
from cortex_sim.devices import activate, run_network
from cortex_sim.networks import feedforward_clopath

from _common import RESULTS, machine, today

#: (method, precision, threads); the first is the reference (the code before the fast CPU core integrated
#: with rk4 in double on one thread, vectorisation aside)
VARIANTS = [("rk4", "double", 1), ("rk4_exact", "double", 1), ("rk4", "mixed", 1), ("rk4_exact", "mixed", 1),
            ("rk4_exact", "double", 2), ("rk4_exact", "mixed", 2), ("rk2", "double", 1), ("euler", "double", 1)]
NETWORK = dict(neurons=1000, inputs=200, rate_hz=10.0, duration_s=1.0, drive_pA=500.0)


def _network(method, precision, threads=1):
    """The network of bench_clopath (its defaults), built on a freshly activated C++ device."""
    activate("cpp", threads=threads)
    return feedforward_clopath(1000, 200, rate=10 * Hz, duration=1 * second, drive=500 * pA, w0=0.5, psp=1 * mV,
                               delay=1 * ms, seed=1, formulation="accumulator", neuron="nest", rule="nest",
                               name="bench", method=method, precision=precision, record_spikes=False)


def weights(method, precision, threads):
    ff = _network(method, precision, threads)
    run_network(ff.net, 1 * second, device="cpp",
                project_name=f"bench_accumulator_{method}_{precision}_t{threads}")
    return ff.weights(), ff.spike_count()


def nest_side_by_side(method, precision):
    """The metric of tests/test_nest_side_by_side.py for one variant: (max |dw|/tol, residual)."""
    from cortex_sim.protocols.frequency import measure_latency, run_spike_pairs
    from cortex_sim.protocols.nest_reference import nest_spike_pairs

    conditions, n_groups = [(20.0, 10.0), (20.0, -10.0), (50.0, -10.0), (10.0, 10.0)], 15
    res = run_spike_pairs(conditions, n_groups=n_groups, neuron="nest", rule="nest", psp=1 * mV, w0=0.5,
                          record_weights=True, method=method, precision=precision)
    lat = float(measure_latency("nest", 15 * nA, 1 * ms, 0.1 * ms, method=method, precision=precision))
    worst, residual = 0.0, 0.0
    for k, (rate, dtm) in enumerate(conditions):
        readout = res.group_ends_s[k] + 0.05
        w_ours = res.w_trace[k, np.searchsorted(res.w_t_s, readout)]
        starts = 0.5 + np.arange(n_groups) * (5 / rate + 10.0)
        t_pre = (starts[:, None] + np.arange(5)[None, :] / rate).ravel() + max(0.0, -dtm) * 1e-3
        w_nest, _ = nest_spike_pairs(t_pre, t_pre + dtm * 1e-3 - lat, pulse_amp_pA=15000.0, pulse_dur_ms=1.0,
                                     w0=0.5, readout_s=readout)
        worst = max(worst, float(np.max(np.abs(w_ours - w_nest) / (0.06 * np.abs(w_nest - 0.5) + 5e-4))))
        residual = max(residual, float(abs(w_ours[-1] - w_nest[-1]) / abs(w_nest[-1] - 0.5)))
    return worst, residual


def nest_time():
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, os.path.join(here, "nest_clopath.py"), "--threads", "2"],
                         capture_output=True, text=True, check=True, cwd=here).stdout
    return json.loads(out.strip().splitlines()[-1])["run_s"]


def profile(method, precision):
    """Seconds per code object (Brian2's profiling of the standalone run)."""
    import brian2

    ff = _network(method, precision)
    ff.net.run(1 * second, profile=True)
    with tempfile.TemporaryDirectory() as d:
        brian2.get_device().build(directory=d, compile=True, run=True, with_output=False)
        return sorted(((name, float(t)) for name, t in ff.net.profiling_info), key=lambda x: -x[1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-nest", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--no-record", action="store_true")
    a = p.parse_args()
    BrianLogger.log_level_warn()
    times = {v: [] for v in VARIANTS}
    for _ in range(a.repeats):
        for v in VARIANTS:
            r = bench_clopath(**NETWORK, method=v[0], precision=v[1], threads=v[2])
            times[v].append(r["run_s"])
    t_nest = nest_time() if not a.no_nest else float("nan")
    w_ref, n_ref = weights(*VARIANTS[0])
    side = {}
    lines = [f"`benchmarks/cpu_core.py` ({today()}, {machine()}; bench clopath 1000 x 200, 10 Hz, 1 s, accumulator "
             f"form; time = min (median) of {a.repeats} interleaved runs; NEST 3.10 with 2 threads in the same "
             f"run: {t_nest:.2f} s)", "",
             "| method | precision | threads | time s | x NEST | max abs(w - w_rk4) | post spikes | "
             "NEST side by side: max abs(dw)/tol (pass <= 1) | residual after group 15 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for v in VARIANTS:
        w, n = weights(*v)
        if not a.no_nest and v[2] == 1 and (v[0], v[1]) not in side:
            side[(v[0], v[1])] = nest_side_by_side(v[0], v[1])
        ratio, res = side.get((v[0], v[1]), (float("nan"), float("nan")))
        t = np.asarray(times[v])
        lines.append(f"| {v[0]} | {v[1]} | {v[2]} | {t.min():.3f} ({np.median(t):.3f}) | {t_nest / t.min():.0f} | "
                     f"{np.abs(w - w_ref).max():.1e} | {n} | {ratio:.3f} | {res:.4f} |")
    if a.profile:
        passing = [v for v in VARIANTS if side.get((v[0], v[1]), (0.0,))[0] <= 1.0 and v[2] == 1]
        for v in (VARIANTS[0], min(passing, key=lambda v: min(times[v]))):
            prof = profile(v[0], v[1])
            total = sum(t for _, t in prof)
            lines += ["", f"Profile of {v[0]} / {v[1]} (Brian2's profiling, which adds a clock call per code "
                          f"object and step; total {total:.3f} s):", "", "| code object | s | share |", "|---|---|---|"]
            lines += [f"| {name} | {t:.4f} | {100 * t / total:.1f} % |" for name, t in prof[:10]]
    text = "\n".join(lines)
    print(text)
    if not a.no_record:
        with open(RESULTS, "a") as f:
            f.write("\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
