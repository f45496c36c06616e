#!/usr/bin/env bash
# The Python the side scripts (ci/conformance.sh, ci/interop/run.sh) run with: $1 when it is set
# (any interpreter that already has the packages), else a venv at $2 created on first use from
# this machine's local wheel index with the packages $3... Prints the interpreter's path; the
# progress goes to stderr.
set -euo pipefail
explicit=$1 venv=$2
shift 2
if [ -n "$explicit" ]; then
  echo "$explicit"
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --index-url file:///opt/pypi/simple --extra-index-url file:///opt/pypi-more/simple \
    --find-links /opt/wheels "$@" >&2
fi
echo "$venv/bin/python"
