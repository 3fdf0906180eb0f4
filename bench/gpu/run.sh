#!/usr/bin/env bash
# Runs on the GPU machine, inside the folder bench/gpu/build.mjs made (carry/):
#   bash run.sh OUTDIR PRESET STEPS [more `npm run bench` flags]
# e.g. bash run.sh results tiny 100 --set prelora.windowSteps=10
# Needs: an NVIDIA driver with its Vulkan ICD; python3 with torch for the reference
# (TORCH=0 skips it). BACKEND=webgpu-fused runs the fused kernels op by op instead of
# the compiled step, BACKEND=webgpu-composite tfjs's own kernels instead of the
# fused ones (the comparison; default webgpu). Writes OUTDIR/{gpu.txt,
# PRESET.config.json, torch-PRESET.json, tfjs-PRESET.json, tfjs-PRESET.log}, the tfjs
# files as tfjs-PRESET-fused.* and tfjs-PRESET-composite.* for those.
set -euo pipefail
cd "$(dirname "$0")"
OUTDIR=${1:?usage: bash run.sh OUTDIR PRESET STEPS [bench flags]}
PRESET=${2:?preset: tiny or small}
STEPS=${3:?steps of every run}
shift 3
BACKEND=${BACKEND:-webgpu}
case "$BACKEND" in webgpu) TAG=$PRESET ;; webgpu-fused) TAG=$PRESET-fused ;; webgpu-composite) TAG=$PRESET-composite ;; *) echo "BACKEND: webgpu, webgpu-fused or webgpu-composite (got $BACKEND)" >&2; exit 2 ;; esac
mkdir -p "$OUTDIR"

source ./setup.sh
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$OUTDIR/gpu.txt" 2>&1 || true

# tiny and small are CIFAR-shaped (32 px, 3 channels): the synthetic set, which needs no files
FLAGS=(--preset "$PRESET" --dataset synthetic --steps "$STEPS" --set optim.batchSize=128 "$@")
./node bench.mjs "${FLAGS[@]}" --print-config > "$OUTDIR/$PRESET.config.json"
if [ "${TORCH:-1}" != 0 ]; then
  python3 torch_reference.py "$OUTDIR/$PRESET.config.json" --out "$OUTDIR/torch-$PRESET.json" > /dev/null
  echo "torch reference: $OUTDIR/torch-$PRESET.json"
fi
./node bench.mjs "${FLAGS[@]}" --backend "$BACKEND" --out "$OUTDIR/tfjs-$TAG.json" 2>&1 | tee "$OUTDIR/tfjs-$TAG.log"
