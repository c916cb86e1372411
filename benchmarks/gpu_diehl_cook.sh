#!/usr/bin/env bash
# The prepared GPU run of the Diehl & Cook network, for the device machine (H100/H200):
# installs the carried wheels (brian2 2.10.1, brian2cuda 1.0b1, numpy 2.3.5; see README, CUDA), then
# trains 400 and 1600 excitatory neurons on 400 mnist5k images (8 chunks of 50) on the cuda device
# and prints images per second and the compile time (the CPU numbers are in benchmarks/RESULTS.md).
# Output: $OUT/gpu_diehl_cook.jsonl and $OUT/log. About 2 min of compiles and 2 min of runs.
source "$(dirname "$0")/gpu_env.sh"
for n in 400 1600; do
python3 - "$n" >> "$OUT/gpu_diehl_cook.jsonl" 2>> "$OUT/log" <<'PY' || echo "run $n failed" >> "$OUT/log"
import json, sys, time
from cortex_sim.learning.data import load_dataset
from cortex_sim.learning.diehl_cook import DiehlCookConfig, DiehlCookNetwork, train_diehl_cook
n = int(sys.argv[1])
cfg = DiehlCookConfig(neurons=n, epochs=1, max_train_images=400, curve=())
t0 = time.perf_counter()
net = DiehlCookNetwork(cfg, device="cuda")
build = time.perf_counter() - t0
tr, _ = train_diehl_cook(load_dataset("mnist5k"), cfg, 0, net=net, progress=False)
print(json.dumps({"neurons": n, "device": "cuda", "build_s": build, "images": tr.presentations,
                  "train_s": tr.train_s, "images_per_s": tr.presentations / tr.train_s, "retries": tr.retries}))
PY
done
cat "$OUT/gpu_diehl_cook.jsonl"
tail -20 "$OUT/log"
