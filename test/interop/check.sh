#!/usr/bin/env bash
# Check an export against PyTorch (transformers, peft): bash test/interop/check.sh EXPORT_DIR [--tol 1e-4]
exec python3 "$(dirname "$0")/check.py" "$@"
