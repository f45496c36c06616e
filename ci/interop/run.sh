#!/usr/bin/env bash
# Interop with the reference Python `safetensors`, both directions. Not part of `npm test`
# (Python safetensors and torch are not on every machine).
#   1. Python writes fresh fixtures; moe-prefuse reads them identically and rewrites them byte
#      for byte (the interop test, pointed at the fresh files).
#   2. moe-prefuse writes a file and two checkpoints; Python safetensors + torch load them and
#      compare names, dtypes, shapes, bytes, values, metadata and the shard index.
# Python: $INTEROP_PYTHON if set (any interpreter with safetensors, torch, numpy,
# huggingface_hub); otherwise a venv at $INTEROP_VENV (default $TMPDIR/moe-prefuse-interop-venv),
# created on first use from the machine's local wheel index.
# To regenerate the committed fixtures: <python> ci/interop/make_python_fixtures.py
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=$(ci/python-venv.sh "${INTEROP_PYTHON:-}" "${INTEROP_VENV:-${TMPDIR:-/tmp}/moe-prefuse-interop-venv}" \
  "safetensors==0.8.*" torch numpy huggingface_hub)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/moe-prefuse-interop.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
"$PY" -c 'import sys, safetensors, torch; print(f"== Python {sys.version.split()[0]}, safetensors {safetensors.__version__}, torch {torch.__version__}")'

echo "== 1. Python writes, moe-prefuse reads and rewrites"
"$PY" ci/interop/make_python_fixtures.py "$WORK/python"
INTEROP_FIXTURES="$WORK/python" npx vitest run test/reference/safetensors/interop-python.test.ts

echo "== 2. moe-prefuse writes, Python reads"
node --import tsx test/oracles/write-ours.ts "$WORK/ours"
"$PY" ci/interop/check_python_reads.py "$WORK/ours"
echo "== interop: both directions pass"
