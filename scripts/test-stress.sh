#!/usr/bin/env bash
# The test command N times in a row (default 10) while stress-ng keeps every core busy, to
# prove that no test depends on timing luck. Stops at the first failing run unless --all.
#   bash scripts/test-stress.sh [--runs N] [--all]
#   FIELDLINK_TEST_LINES   passed on to scripts/test.sh (default here: "24", the full suite on
#                          the main line; "24 20 22 26" for the whole matrix, ~4x longer)
# Each run's log is kept in test-output/stress/run-K.log; the last line totals the runs.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=10
all=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --all) all=1; shift ;;
    *) echo "usage: bash scripts/test-stress.sh [--runs N] [--all]" >&2; exit 2 ;;
  esac
done
export FIELDLINK_TEST_LINES="${FIELDLINK_TEST_LINES:-24}"

if ! command -v stress-ng > /dev/null; then
  SUDO=""
  [ "$(id -u)" != 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends stress-ng > /dev/null || {
    echo "test-stress: cannot install stress-ng" >&2; exit 1; }
fi

mkdir -p test-output/stress
# Build once first, so every stressed run tests the same binaries.
bash scripts/test.sh > test-output/stress/prepare.log 2>&1 || echo "test-stress: the unstressed first run failed too (test-output/stress/prepare.log)"

cpus=$(nproc)
stress-ng --cpu "$cpus" --timeout 0 --quiet &
stress_pid=$!
trap 'kill "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null' EXIT
echo "test-stress: stress-ng --cpu $cpus running (pid $stress_pid); $runs runs of FIELDLINK_TEST_LINES=\"$FIELDLINK_TEST_LINES\""

passed=0
failed=0
for k in $(seq 1 "$runs"); do
  start=$(date +%s)
  if bash scripts/test.sh --js-only > "test-output/stress/run-$k.log" 2>&1; then
    passed=$((passed + 1)); verdict=passed
  else
    failed=$((failed + 1)); verdict=FAILED
  fi
  echo "run $k: $verdict in $(( $(date +%s) - start )) s — $(tail -1 "test-output/stress/run-$k.log")"
  if [ "$verdict" = FAILED ]; then
    grep -E '^\s+[0-9]+\) ' "test-output/stress/run-$k.log" | head -20
    [ $all = 1 ] || break
  fi
done
echo "stress: $passed passed, $failed failed"
[ $failed = 0 ] && [ $passed = "$runs" ]
