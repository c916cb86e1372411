"""Sweeps on Dask against the forked run_many of issue 4/13 (not a test; issue 10).

pairing: a 100-point sweep of the pairing experiment (apical delay x amplitude, trial interval
2 s), once through ``devices.run_many`` (compile once, forked processes) and once through the
Dask engine (``run_sweep``, a LocalCluster of N single-threaded workers, a store on disk). The
per-point overhead is the wall time beyond the simulation loops, (total - sum(run_s) / N) / n;
for Dask the total includes the workers' start and their first network build, shown apart.

learn: the 6-rule x 3-seed rate study (digits by default), serial in this process against the
Dask engine on local:2.

Usage: python benchmarks/dask_sweep.py pairing --workers 1 [--engine dask|run_many]
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


def pairing_run_many(workers, trial_interval):
    from cortex_sim.devices import activate, run_many
    from cortex_sim.protocols.pairing import PairingConfig, _analyse, _build
    from cortex_sim.sweeps.jobs import pairing_row, pairing_run_args

    base = PairingConfig(trial_interval=trial_interval * second, test_interval=trial_interval / 2 * second,
                         window_delays=(), pairing_counts=())
    t0 = time.perf_counter()
    activate("cpp")
    b = _build(base, "naud2018", __import__("cortex_sim.params", fromlist=["preset"]).preset("clopath", "visual"),
               "cpp", record_traces=False)
    from brian2 import ms, nA

    cfgs = [base.with_(apical_delay=d * ms, apical_amp=a * nA) for d in DELAYS for a in AMPS]
    args = [pairing_run_args(b, c) for c in cfgs]
    _, info = run_many(b.net, b.t_end * second, args, lambda k: pairing_row(_analyse(cfgs[k], b)),
                       processes=workers, project_name="pairing_sweep_bench")
    wall = time.perf_counter() - t0
    n = len(cfgs)
    run_s = info["run_s"]
    return {"points": n, "setup_s": wall - info["total_s"], "total_s": info["total_s"], "wall_s": wall,
            "mean_run_s": sum(run_s) / n, "overhead_s": (info["total_s"] - sum(run_s) / workers) / n}


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
    p.add_argument("--engine", choices=("dask", "run_many"), default="dask")
    p.add_argument("--trial-interval", type=float, default=2.0)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--epochs", type=int, default=None)
    a = p.parse_args()
    BrianLogger.log_level_warn()
    if a.what == "pairing":
        r = (pairing_dask if a.engine == "dask" else pairing_run_many)(a.workers, a.trial_interval)
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
