"""Sweeps on Dask against one compiled experiment run in this process (not a test).

pairing: a 100-point sweep of the pairing experiment (apical delay x amplitude, trial interval
2 s), once through one ``CompiledExperiment`` in this process (``--engine in_process``; the rows of
2026-11-30 used the forked ``devices.run_many``, removed since) and once through the
Dask engine (``run_sweep``, a LocalCluster of N single-threaded workers, a store on disk). The
per-point overhead is the wall time beyond the simulation loops, (total - sum(run_s) / N) / n;
for Dask the total includes the workers' start and their first network build, shown apart.

learn: the 6-rule x 3-seed rate study (digits by default), serial in this process against the
Dask engine on local:2.

Usage: python benchmarks/dask_sweep.py pairing --workers 1 [--engine dask|in_process]
       python benchmarks/dask_sweep.py learn [--dataset digits] [--epochs E]
"""

import argparse
import sys
import tempfile
import time

from brian2 import BrianLogger, second

from _common import machine, record, today

DELAYS = [float(d) for d in range(-10, 15)]       # 25 x 4 = 100 points
AMPS = [0.8, 1.0, 1.2, 1.4]


def pairing_in_process(workers, trial_interval):
    """The same points in this process through one CompiledExperiment (no scheduler, no workers)."""
    from brian2 import ms, nA

    from cortex_sim.experiment import CompiledExperiment
    from cortex_sim.protocols.pairing import PairingConfig, PairingProtocol

    base = PairingConfig(trial_interval=trial_interval * second, test_interval=trial_interval / 2 * second,
                         window_delays=(), pairing_counts=())
    t0 = time.perf_counter()
    exp = CompiledExperiment(PairingProtocol(base, record_traces=False))
    t1 = time.perf_counter()
    run_s = []
    for d in DELAYS:
        for a in AMPS:
            exp.run({"apical_delay": d * ms, "apical_amp": a * nA})
            run_s.append(exp.last_run_s)
    exp.close()
    wall = time.perf_counter() - t0
    n = len(run_s)
    # last_run_s times the binary (with its start); the overhead is run_args and the analysis
    return {"points": n, "setup_s": t1 - t0, "total_s": wall - (t1 - t0), "wall_s": wall,
            "mean_run_s": sum(run_s) / n, "overhead_s": (wall - (t1 - t0) - sum(run_s)) / n}


def pairing_dask(workers, trial_interval):
    from cortex_sim.sweeps import close_cluster, make_client, run_sweep

    t0 = time.perf_counter()
    client = make_client(f"local:{workers}")
    t_cluster = time.perf_counter() - t0
    try:
        with tempfile.TemporaryDirectory() as store:
            res = run_sweep("pairing", {"apical_delay": DELAYS, "apical_amp": AMPS},
                            {"trial_interval_s": trial_interval}, client=client, store=store, figure=False)
    finally:
        close_cluster(client)
    wall = time.perf_counter() - t0
    run_s = [r["run_s"] for r in res.records]
    n = len(run_s)
    return {"points": n, "setup_s": t_cluster, "total_s": res.wall_s, "wall_s": wall,
            "mean_run_s": sum(run_s) / n, "overhead_s": (res.wall_s - sum(run_s) / workers) / n}


def learn(dataset, epochs, workers):
    from cortex_sim.learning.rules import RULES
    from cortex_sim.sweeps import run_sweep

    grid = {"rule": list(RULES), "seed": [0, 1, 2]}
    opts = {"dataset": dataset, "epochs": epochs}
    out = {}
    for cluster in ("serial", f"local:{workers}"):
        with tempfile.TemporaryDirectory() as store:
            t0 = time.perf_counter()
            res = run_sweep("learn", grid, opts, cluster=cluster, store=store, figure=False, report="stderr")
            out[cluster] = (time.perf_counter() - t0, res)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("pairing", "learn"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--engine", choices=("dask", "in_process"), default="dask")
    p.add_argument("--trial-interval", type=float, default=2.0)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--epochs", type=int, default=None)
    a = p.parse_args()
    BrianLogger.log_level_warn()
    if a.what == "pairing":
        r = (pairing_dask if a.engine == "dask" else pairing_in_process)(a.workers, a.trial_interval)
        record(f"| {today()} | {machine()} | {a.engine} | {a.workers} | {r['points']} | {r['setup_s']:.1f} | "
               f"{r['total_s']:.1f} | {r['mean_run_s']:.3f} | {r['overhead_s']:.3f} "
               f"({100 * r['overhead_s'] / r['mean_run_s']:.1f} % of a run) |")
    else:
        out = learn(a.dataset, a.epochs, a.workers)
        (t_serial, r_serial), (t_dask, r_dask) = out["serial"], out[f"local:{a.workers}"]
        same = all(abs(x["best_accuracy"] - y["best_accuracy"]) < 1e-12
                   for x, y in zip(r_serial.records, r_dask.records))
        record(f"| {today()} | {machine()} | learn {a.dataset}, {len(r_serial.records) // 3} rules x 3 seeds | {t_serial:.0f} | "
               f"{t_dask:.0f} (local:{a.workers}) | {t_serial / t_dask:.2f}x | same accuracies: {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
