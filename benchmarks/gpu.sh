#!/usr/bin/env bash
# One short prepared script for a GPU machine (e.g. an H200 through the device tool): the Clopath
# benchmark network on brian2cuda at 1e6, 1e7 and 1e8 plastic synapses (K = 200 inputs per
# neuron, N varied), printing one JSON line per size and a markdown table at the end.
# Needs nvcc, a Python 3.12 interpreter and network access to the package index for the first
# run (./dev cuda creates .venv-cuda); about 10 minutes, most of it nvcc.
# Usage: benchmarks/gpu.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-/tmp}}
nvidia-smi -L
: > "$out/gpu_bench.jsonl"
for n in 5000 50000 500000; do
  ./dev cuda bench clopath --device cuda --neurons "$n" --inputs 200 --rate 10 --duration 1 \
        --drive 500 --formulation accumulator --json | tail -1 | tee -a "$out/gpu_bench.jsonl"
done
python3 - "$out/gpu_bench.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| synapses | compile_s | run_s | post rate (Hz) |\n|---|---|---|---|")
for r in rows:
    print(f"| {r['synapses']:.0e} | {r['compile_s']:.1f} | {r['run_s']:.3f} | {r['post_rate_hz']:.1f} |")
PY
