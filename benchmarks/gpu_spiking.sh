#!/usr/bin/env bash
# The prepared GPU run of the spiking learner, for the device machine (NVIDIA H200):
# installs the carried wheels (brian2 2.10.1, brian2cuda 1.0b1, numpy 2.3.5; see README, CUDA), then
#   1. digits, the default network (64 + 64 two-compartment neurons), 48 training images (2 chunks
#      of 72 fixations), CUDA: compile time, training time, simulated seconds per wall second, the
#      final state (for a CPU-vs-GPU comparison), and the encoding time of 8 images;
#   2. the same learner with 1000 + 1000 neurons (1.2 M plastic basal and 2 M prediction synapses),
#      one chunk of 24 images.
# Output: JSON lines in $OUT/gpu_spiking.jsonl, the states in $OUT/*.npz, the log in $OUT/log.
source "$(dirname "$0")/gpu_env.sh"
B="python3 benchmarks/spiking_learner.py --device cuda --dataset digits --json"
$B --max-train-images 48 --eval-images 8 --save-state "$OUT/cuda_digits_state.npz" \
   >> "$OUT/gpu_spiking.jsonl" 2>> "$OUT/log" || echo "run 1 failed" >> "$OUT/log"
$B --neurons 1000,1000 --max-train-images 24 --slots 72 >> "$OUT/gpu_spiking.jsonl" 2>> "$OUT/log" \
   || echo "run 2 failed" >> "$OUT/log"
cat "$OUT/gpu_spiking.jsonl"
tail -20 "$OUT/log"
