"""Side-by-side Clopath benchmark: NEST 3.10, the naive Brian2 formulation, cortex_sim's event and
accumulator formulations (C++ standalone), plus the scaling figure (not a test).

Runs each configuration in its own process (one compile per formulation, cached), appends a dated
table to benchmarks/RESULTS.md and writes figures/scaling.png (run time vs synapses, 1e4 to 1e7).

Usage: python benchmarks/run_all.py [--threads 2] [--skip-nest] [--skip-scaling] [--max-synapses 1e7]
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _json_run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cortex(neurons, inputs, drive, formulation, threads=1):
    return _json_run([sys.executable, "-m", "cortex_sim.cli", "bench", "clopath", "--neurons", str(neurons),
                      "--inputs", str(inputs), "--drive", str(drive), "--formulation", formulation,
                      "--threads", str(threads), "--json"])


def nest(neurons, inputs, drive, threads):
    return _json_run([sys.executable, os.path.join(HERE, "nest_clopath.py"), "--neurons", str(neurons),
                      "--inputs", str(inputs), "--drive", str(drive), "--threads", str(threads)])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2, help="NEST threads")
    p.add_argument("--skip-nest", action="store_true")
    p.add_argument("--skip-scaling", action="store_true")
    p.add_argument("--max-synapses", type=float, default=1e7)
    a = p.parse_args()
    from _common import machine as machine_label

    machine = machine_label()
    rows = []
    for drive in (500, 700):
        if not a.skip_nest:
            rows.append(("NEST 3.10", drive, nest(1000, 200, drive, a.threads)))
        for form in ("naive", "event", "accumulator"):
            if form != "accumulator" and drive == 700 and form == "event":
                continue
            rows.append((f"cortex_sim {form} (cpp, 1 thread)", drive, cortex(1000, 200, drive, form)))
    ref = {d: r["run_s"] for name, d, r in rows if name.startswith("NEST")}
    lines = [f"\n### run_all.py, {datetime.date.today()}, {machine}, 1000 x 200 synapses, 10 Hz, 1 s\n",
             "| implementation | drive (pA) | post rate (Hz) | run_s | vs NEST | peak RSS (MB) |",
             "|---|---|---|---|---|---|"]
    for name, drive, r in rows:
        speed = f"{ref[drive] / r['run_s']:.1f}x" if drive in ref else "-"
        lines.append(f"| {name} | {drive} | {r['post_rate_hz']:.1f} | {r['run_s']:.3f} | {speed} | {r['peak_rss_mb']} |")
    if not a.skip_scaling:
        scaling = []
        n = 50
        while n * 200 <= a.max_synapses:
            r = cortex(n, 200, 500, "accumulator")
            scaling.append(r)
            n *= 10
        lines += ["", "Scaling (accumulator, K = 200 inputs per neuron, N varied, 500 pA):", "",
                  "| synapses | neurons | run_s | peak RSS (MB) | bytes per synapse (RSS / synapses) |",
                  "|---|---|---|---|---|"]
        for r in scaling:
            lines.append(f"| {r['synapses']:.0e} | {r['synapses'] // 200} | {r['run_s']:.3f} | {r['peak_rss_mb']} "
                         f"| {r['peak_rss_mb'] * 2**20 / r['synapses']:.1f} |")
        import json

        import matplotlib

        matplotlib.use("Agg")
        sys.path.insert(0, ROOT)
        from cortex_sim._files import atomic_path
        from cortex_sim.plotting import plot_scaling, save_figure

        data = {"date": str(datetime.date.today()), "machine": machine,
                "scaling": [{"synapses": r["synapses"], "run_s": r["run_s"], "peak_rss_mb": r["peak_rss_mb"]}
                            for r in scaling],
                "references": [{"name": name, "synapses": r["synapses"], "run_s": r["run_s"]}
                               for name, drive, r in rows if drive == 500]}
        with atomic_path(os.path.join(ROOT, "results", "scaling.json")) as tmp, open(tmp, "w") as f:
            json.dump(data, f, indent=1)
        save_figure(plot_scaling(data), os.path.join(ROOT, "figures", "scaling.png"))
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
