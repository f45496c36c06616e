#!/usr/bin/env bash
# Conformance: independent prefuse implementations through the release gate, side by side, and
# the table the README publishes. Not part of `npm test` (torch and transformers are not on every
# machine).
#   numpy         ci/adapters/numpy_prefuse.py: written here from the stage contracts (numpy only),
#                 every stage.
#   transformers  ci/adapters/transformers_prefuse.py: transformers 5.x's own MergeModulelist +
#                 Concatenate, as its qwen2_moe conversion mapping applies them (prefuse stage).
# Each runs over the golden corpus (corpus/golden, when present) and $RUNS generated cases
# (with 50 or more, every reading point's separating cases, so the table's `reading:` rows show
# which alternative each implementation reads where oQ's contract is open; each run's readings
# file is written beside its report)
# (default 200, seed $SEED, default 0). Reports, Markdown summaries and conformance.md go to
# $OUT (default $TMPDIR/moe-prefuse-conformance). Python with torch + transformers: $CONFORMANCE_PYTHON if set,
# else a venv at $CONFORMANCE_VENV (default $TMPDIR/moe-prefuse-conformance-venv), created on
# first use from the machine's local wheel index.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
SEED=${SEED:-0}
OUT=${OUT:-${TMPDIR:-/tmp}/moe-prefuse-conformance}

PY=$(ci/python-venv.sh "${CONFORMANCE_PYTHON:-}" "${CONFORMANCE_VENV:-${TMPDIR:-/tmp}/moe-prefuse-conformance-venv}" \
  torch "transformers==5.*" "safetensors==0.8.*" numpy)
"$PY" -c 'import sys, torch, transformers; print(f"== Python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}")'

npm run -s build
mkdir -p "$OUT"
run() { # NAME STAGE TEMPLATE: one gate run; its exit status is a finding, not an error of this script
  local name=$1 stage=$2 template=$3
  echo "== $name, stage $stage"
  node bin/moe-prefuse.js gate --candidate "$template" --name "$name" --stage "$stage" --runs "$RUNS" --seed "$SEED" --shrink 0 \
    --report "$OUT/$name-$stage.json" --markdown "$OUT/$name-$stage.md" --record-readings "$OUT/$name-$stage.readings.json" | tail -n 2 || true
}
run numpy prefuse "python3 ci/adapters/numpy_prefuse.py {input} {output}"
run transformers-5 prefuse "$PY ci/adapters/transformers_prefuse.py {input} {output}"
for stage in dequant+prefuse switch_mlp dequant; do run numpy "$stage" "python3 ci/adapters/numpy_prefuse.py {input} {output}"; done

node bin/moe-prefuse.js gate table "$OUT/numpy-prefuse.json" "$OUT/transformers-5-prefuse.json" > "$OUT/conformance.md"
node bin/moe-prefuse.js gate table "$OUT"/numpy-dequant+prefuse.json "$OUT"/numpy-switch_mlp.json "$OUT"/numpy-dequant.json > "$OUT/numpy-stages.md"
echo "== $OUT/conformance.md"
cat "$OUT/conformance.md"
