#!/usr/bin/env bash
# Runs on the GPU machine, inside carry/: the quality benchmark (nano on the bundled
# MNIST, the CLI's 1,000 steps: full, static LoRA, PreLoRA global and per module), one
# process per seed, all at once (a seed's four runs take a few minutes there, against
# ~27 min per seed on one CPU core with wasm). Back home, merge the reports:
#   npm run bench:merge -- OUTDIR/quality-seed*.json --out merged.json
# usage: bash quality.sh OUTDIR SEEDS [more `npm run bench` flags]
set -euo pipefail
cd "$(dirname "$0")"
OUTDIR=${1:?usage: bash quality.sh OUTDIR SEEDS [bench flags]}
SEEDS=${2:?how many seeds (one process each)}
shift 2
mkdir -p "$OUTDIR"
source ./setup.sh
for s in $(seq 1 "$SEEDS"); do
  ./node bench.mjs --preset nano --dataset mnist --steps 1000 --seeds 1 --first-seed "$s" --backend "${BACKEND:-webgpu}" "$@" \
    --out "$OUTDIR/quality-seed$s.json" > "$OUTDIR/quality-seed$s.log" 2>&1 &
done
wait
tail -n 3 "$OUTDIR"/quality-seed*.log
