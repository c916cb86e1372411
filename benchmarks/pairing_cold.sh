#!/usr/bin/env bash
# Cold run of the main job: `cortex-sim pairing` with an empty C++ project cache (compile included).
# Usage: benchmarks/pairing_cold.sh   (from the project root, after ./dev has created .venv)
set -euo pipefail
cache=$(mktemp -d)
start=$(date +%s.%N)
CORTEX_SIM_CACHE="$cache" .venv/bin/cortex-sim pairing --json --figures "$cache/fig" > "$cache/out.json"
end=$(date +%s.%N)
echo "cold pairing run: $(echo "$end - $start" | bc) s wall (compile + 286 s simulated + analysis + figure)"
rm -rf "$cache"
