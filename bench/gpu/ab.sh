#!/usr/bin/env bash
# Runs on the GPU machine, inside the folder bench/gpu/build.mjs made (carry/): an A/B of
# kernel variants in one call, every variant of a config back to back, so that they see
# the same GPU state (the H200's readings drift between calls by more than most changes
# move them).
#   VARIANTS="tag|bundle|flags;..." CONFIGS="name:preset:batch[:rank] ..." bash ab.sh OUTDIR
# e.g. VARIANTS="main|bench-main.mjs|;new|bench.mjs|;k128|bench.mjs|--split-k 528/128" \
#      CONFIGS="tiny128:tiny:128 small128:small:128 tiny128r32:tiny:128:32" bash ab.sh results
# A variant is a bundle (one `node bench/gpu/build.mjs` per code version: rename each
# bench.mjs, then BUNDLE_ONLY=1 for the next) and `npm run bench` flags (the tuning
# flags). A config is a preset on synthetic data at a batch size, and the static LoRA
# run's rank (8 unless given). REPS=N runs the whole set N times (1); STEPS the steps of
# every run (80, PreLoRA's windows shortened to switch within them). Writes
# OUTDIR/TAG-NAME-REP.{json,log}, gpu.txt and times.txt (each run's exit code and wall
# seconds; the JSON is written before the process ends: on SwiftShader Dawn's teardown
# has been seen to crash after it, exit 139). `python3 ab-summary.py OUTDIR` prints each
# run's figures in a line or two.
set -uo pipefail
cd "$(dirname "$0")"
OUT=${1:?usage: VARIANTS=... CONFIGS=... bash ab.sh OUTDIR}
: "${VARIANTS:?VARIANTS: tag|bundle|flags, separated by ;}"
: "${CONFIGS:?CONFIGS: name:preset:batch[:rank], separated by spaces}"
mkdir -p "$OUT"
source ./setup.sh > /dev/null
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$OUT/gpu.txt" 2>&1 || true
IFS=';' read -ra VS <<< "$VARIANTS"
for v in "${VS[@]}"; do
  IFS='|' read -r tag bundle _ <<< "$v"
  if [ -z "$tag" ] || [ ! -f "$bundle" ]; then echo "variant \"$v\": write tag|bundle|flags with a bundle in this folder" >&2; exit 2; fi
done
for c in $CONFIGS; do
  IFS=: read -r name preset batch rank <<< "$c"
  if [ -z "$name" ] || [ -z "$preset" ] || [ -z "$batch" ]; then echo "config \"$c\": write name:preset:batch[:rank]" >&2; exit 2; fi
  for rep in $(seq 1 "${REPS:-1}"); do
    for v in "${VS[@]}"; do
      IFS='|' read -r tag bundle flags <<< "$v"
      start=$(date +%s.%N)
      # shellcheck disable=SC2086 # the flags are words
      ./node "$bundle" --preset "$preset" --dataset synthetic --steps "${STEPS:-80}" --set optim.batchSize="$batch" \
        --set prelora.windowSteps=10 --set prelora.jointSteps=10 --set prelora.rewarmSteps=20 \
        ${rank:+--set prelora.rank=$rank} --backend webgpu $flags --out "$OUT/$tag-$name-$rep.json" > "$OUT/$tag-$name-$rep.log" 2>&1
      rc=$?
      echo "$tag-$name-$rep rc=$rc $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" | tee -a "$OUT/times.txt"
    done
  done
done
