#!/usr/bin/env bash
# One short prepared script for a GPU machine: the rate learning path on CuPy.
#   1. tests/test_backend.py with CuPy present (the CuPy path gives NumPy's gradients and weights);
#   2. benchmarks/learning_flops.py --backend cupy: matmul rates, mnist5k rules, the stl10-paper
#      preset's epoch time on synthetic 96 x 96 images;
#   3. the mnist5k study, 7 rules x 5 seeds (one process per rule and seed, 16 at a time, training on
#      the GPU, readouts on the CPU cores), each under one deadline; finished runs are kept;
#   4. benchmarks/learning_margin.py: published clapp after 2 and 4 epochs (and 2 at lr 1e-3) vs the
#      untrained encoder, 5 seeds (run first, in the same pool as 3).
# Outputs under OUTDIR (8 files): tests.log, flops.json, flops.log, margin_e2.json, margin_e4.json,
# margin_e2_lr1e-3.json, margin.log, study.tgz (the
# readouts/*.json and results of every finished run; merge with cortex_sim.learning.study.collect_study).
# Needs python3 with CuPy, scikit-learn, brian2 and mlxtend importable and the project on PYTHONPATH.
# Usage: benchmarks/gpu_learning.sh [OUTDIR] [STUDY_SECONDS]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-/tmp}}
budget=${2:-300}
backend=${BACKEND:-cupy}          # BACKEND=numpy STL10_BATCHES=0: a dry run of the plumbing on a CPU
stl=${STL10_BATCHES:-20}
flops_rules=${FLOPS_RULES:-clapp,clapp-s,bp,pc}
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
nvidia-smi -L
t_start=$(date +%s)
python3 -m pytest -q -p no:cacheprovider tests/test_backend.py 2>&1 | tail -15 | tee "$out/tests.log"
echo "tests: $(( $(date +%s) - t_start )) s"
(cd benchmarks && python3 learning_flops.py --backend $backend --rules $flops_rules --batches ${FLOPS_BATCHES:-40} \
   --stl10-batches $stl --json "$out/flops.json") 2>&1 | grep -v RESULTS | tee "$out/flops.log"
echo "flops: $(( $(date +%s) - t_start )) s"
deadline=$(( $(date +%s) + budget ))
mkdir -p /tmp/study
jobs=()
for e in 2 4; do   # the long sequential ones first
  jobs+=("python3 benchmarks/learning_margin.py --seeds 5 --epochs $e --backend $backend --json $out/margin_e$e.json")
done
jobs+=("python3 benchmarks/learning_margin.py --seeds 5 --epochs 2 --lr 1e-3 --backend $backend --json $out/margin_e2_lr1e-3.json")
for rule in pc clapp clapp-s clapp-fb bp dfa random; do
  for seed in 0 1 2 3 4; do
    jobs+=("python3 -m cortex_sim learn -q --rule $rule --dataset mnist5k --seed $seed --backend $backend --no-progress --no-figure --json --out /tmp/study/${rule}_s$seed")
  done
done
printf '%s\n' "${jobs[@]}" | OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  xargs -P 16 -I{} bash -c 'left=$(( '"$deadline"' - $(date +%s) )); [ $left -gt 5 ] && timeout $left {} > /tmp/study/$(echo "{}" | md5sum | cut -c1-8).log 2>&1; true'
echo "study: $(( $(date +%s) - t_start )) s"
grep -H "^seed\|diff" /tmp/study/*.log | tee "$out/margin.log"
ls /tmp/study/*/readouts/*.json 2>/dev/null | wc -l
tar czf "$out/study.tgz" --exclude='*.npz' -C /tmp study
