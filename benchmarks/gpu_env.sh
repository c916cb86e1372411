# Sourced by the prepared GPU scripts that run Brian2CUDA: $OUT, the carried wheels (brian2 2.10.1,
# brian2cuda 1.0b1, numpy 2.3.5 in .whl/) installed into /tmp/site, the project on PYTHONPATH, a cache
# of its own, and the GPU named in the log.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 CORTEX_SIM_CACHE=/tmp/cortex_cache
nvidia-smi -L
