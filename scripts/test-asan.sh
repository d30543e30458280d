#!/usr/bin/env bash
# The addon and the Catch2 tests built with AddressSanitizer + UndefinedBehaviorSanitizer:
# ctest (with LeakSanitizer) and then the Mocha API suites against the sanitized addon.
# Clean means zero reports: any report fails the run (halt_on_error / abort).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

out=build-asan
npx cmake-js configure -O "$out" --CDFIELDLINK_SANITIZE=ON --CDBUILD_TESTING=ON --log-level error > "$out.log" 2>&1 || { cat "$out.log"; exit 1; }
npx cmake-js build -O "$out" --log-level error >> "$out.log" 2>&1 || { cat "$out.log"; exit 1; }

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 ctest --test-dir "$out" --output-on-failure -j2
cpp_rc=$?

asan="$(gcc -print-file-name=libasan.so)"
# Node itself is not instrumented: leak checking would report V8's own allocations, so it is
# off for the JS run (the Catch2 run above covers leaks in our code).
LD_PRELOAD="$asan $PWD/$out/libptyshim.so" ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 \
  FIELDLINK_ADDON="$PWD/$out/Release/fieldlink.node" FIELDLINK_PTYSHIM=1 \
  npx mocha --no-config --timeout 30000 --reporter test/support/summary-reporter.js 'test/api/**/*.test.js'
js_rc=$?
[ $cpp_rc = 0 ] && [ $js_rc = 0 ]
