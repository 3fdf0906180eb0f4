#!/usr/bin/env bash
# On the GPU machine: the PyTorch eager fp32 reference (TF32 off) for every config pack.sh
# printed beside it, so the page's figures have their reference from the same machine
# within the hour. Writes $OUT/torch-NAME.json.
set -eu
P=$(cd "$(dirname "$0")" && pwd); mkdir -p "${OUT:-/tmp/out}"
for cfg in "$P"/*.config.json; do
  n=$(basename "$cfg" .config.json)
  python3 "$P/torch_reference.py" "$cfg" --out "${OUT:-/tmp/out}/torch-$n.json" > /dev/null && echo "torch $n: done"
done
