#!/usr/bin/env bash
# The suite's load test: `npm test` N times in a row (default 10) on a machine kept busy by
# busy-loop processes (default: one per core, at normal priority, so the tests compete for every
# core), stopping at the first failing or hanging run. Each run has a wall-clock ceiling (default
# 30 min): a run that does not end by then counts as a hang (a worker or handle left open).
# Logs go to a fresh temporary folder, printed at the start; the busy loops are ended on exit.
#
#   npm run soak [-- RUNS [LOAD_PROCESSES [CEILING_SECONDS]]]
#   e.g. npm run soak -- 10 4      (ten runs, four busy loops on a 2-core machine)
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-10}
load=${2:-$(nproc)}
ceiling=${3:-1800}
logs=$(mktemp -d "${TMPDIR:-/tmp}/moe-prefuse-soak-XXXXXX")
echo "soak: $runs runs of npm test, $load busy loops, ${ceiling}s ceiling per run; logs in $logs"

loops=()
stop_loops() {
  for pid in "${loops[@]}"; do kill "$pid" 2>/dev/null; done
  wait "${loops[@]}" 2>/dev/null
}
trap stop_loops EXIT
for ((i = 0; i < load; i++)); do
  node -e 'for (;;) {}' &
  loops+=("$!")
done

passed=0
for ((r = 1; r <= runs; r++)); do
  started=$SECONDS
  timeout --signal=INT --kill-after=60 "$ceiling" npm test >"$logs/run-$r.log" 2>&1
  status=$?
  took=$((SECONDS - started))
  summary=$(grep -E '^tests: ' "$logs/run-$r.log" | tail -1)
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    echo "run $r: pass in ${took}s (${summary:-no summary})"
  elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "run $r: HUNG (no end after ${ceiling}s); log $logs/run-$r.log"
    break
  else
    echo "run $r: FAIL (exit $status) in ${took}s (${summary:-no summary}); log $logs/run-$r.log"
    grep -E '(FAIL|×) ' "$logs/run-$r.log" | head -20
    break
  fi
done
echo "soak: $passed of $runs runs passed in a row under $load busy loops"
[ "$passed" -eq "$runs" ]
