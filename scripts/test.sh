#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh: apt packages, npm dependencies,
# the addon; scripts/runtimes.sh: Node 20/22/24/26 and Node-RED 4.1 from the npm registry),
# builds the addon and the Catch2 tests, runs ctest, then mocha on each Node line:
#   Node 24 + Node-RED 5 (the main line): every suite — API against the simulators, Node-RED
#     nodes, the runtime checks (exit, workers, CLI signals, the packed tarball in a Node-RED
#     user dir), Node-RED lifecycle and the three dashboards in headless Chromium;
#   Node 20 and 22 + Node-RED 4.1, Node 26 + Node-RED 5: the API, Node-RED node and runtime
#     suites and one deploy of each example flow with its dashboard checked in the browser.
# The lint gate (scripts/lint.sh: ESLint, clang-format, clang-tidy) runs after ctest, in the
# background beside the main line's mocha run (clang-tidy takes minutes of CPU while mocha mostly
# waits on simulated devices), and counts as one more test in the total, passed or failed.
# The last line totals every run: mocha: N passed, N failed, N skipped
#   --js-only                skip the native build and ctest
#   FIELDLINK_TEST_LINES     Node lines to run (default "24 20 22 26"; 24 runs the full suite)
#   FIELDLINK_LINT=0         skip the lint gate
set -uo pipefail
cd "$(dirname "$0")/.."

js_only=0
[ "${1:-}" = "--js-only" ] && js_only=1
lines="${FIELDLINK_TEST_LINES:-24 20 22 26}"

FIELDLINK_SETUP_E2E=1 bash scripts/setup.sh || { echo "setup failed"; exit 1; }

cpp_rc=0
if [ $js_only = 0 ]; then
  start=$(date +%s)
  # npm's install script builds the addon alone (BUILD_TESTING=OFF); turn the tests on.
  if ! grep -q '^BUILD_TESTING:BOOL=ON' build/CMakeCache.txt 2>/dev/null; then
    npx cmake-js configure --CDBUILD_TESTING=ON --log-level error > build-test.log 2>&1 || {
      cat build-test.log; echo "native configure failed"; exit 1; }
  fi
  npx cmake-js build --log-level error > build-test.log 2>&1 || {
    cat build-test.log; echo "native build failed"; exit 1; }
  echo "native build: $(( $(date +%s) - start )) s"
  ctest --test-dir build --output-on-failure -j2
  cpp_rc=$?
fi

# One summary line (the format test/support/summary-reporter.js writes for a mocha run), for a
# run that mocha does not report: record FILE LABEL PASSED [FAILED_TITLE ERROR]. With a title,
# the run counts as one failure, printed again in the closing block.
record() {
  node -e '
    const [file, label, passed, title, error] = process.argv.slice(1);
    const failures = title ? [{ title, error: error || "" }] : [];
    const run = { label, passed: Number(passed), failed: failures.length, skipped: 0, failures };
    require("fs").appendFileSync(file, JSON.stringify(run) + "\n");
  ' "$@"
}

# The lint gate, started in the background: its report goes to test-output/lint.log, the
# findings are shown on failure (finish_lint, after the main line).
lint_rc=skip
lint_pid=
mkdir -p test-output
rm -f test-output/summary-lint.jsonl
if [ "${FIELDLINK_LINT:-1}" != 0 ]; then
  lint_start=$(date +%s)
  nice -n 5 bash scripts/lint.sh > test-output/lint.log 2>&1 &
  lint_pid=$!
fi
finish_lint() {
  [ -n "$lint_pid" ] || return 0
  wait "$lint_pid"
  lint_rc=$?
  lint_pid=
  echo
  [ $lint_rc != 0 ] && cat test-output/lint.log
  echo "lint gate: $(tail -1 test-output/lint.log) ($(( $(date +%s) - lint_start )) s, beside the main line)"
  if [ $lint_rc = 0 ]; then
    record test-output/summary-lint.jsonl "lint gate (eslint, clang-format, clang-tidy)" 1
  else
    record test-output/summary-lint.jsonl "lint gate (eslint, clang-format, clang-tidy)" 0 \
      "npm run lint (npm run lint:fix fixes the layout)" "$(tail -12 test-output/lint.log)"
  fi
}

shim="$PWD/build/libptyshim.so"
[ -f "$shim" ] || echo "warning: $shim is missing (run without --js-only once); libserialport pty tests will fail"
mkdir -p test-output

# The runtimes of the matrix, from the npm registry.
wanted=()
for l in $lines; do wanted+=("node-$l"); done
case " $lines " in *" 20 "* | *" 22 "*) wanted+=(node-red-4) ;; esac
bash scripts/runtimes.sh "${wanted[@]}" || { echo "installing the Node runtimes failed"; exit 1; }
node_bin() { bash scripts/runtimes.sh --path "node-$1"; }
nr4="$PWD/.runtimes/node-red-4/node_modules/node-red"

# The packed tarball installed once in a Node-RED user dir (its install script builds the
# addon there); each Node line's run copies it (test/runtime/node-red-install.test.js). Kept
# between runs while the tarball is the same (npm pack is deterministic).
installed="$PWD/test-output/installed-userdir"
start=$(date +%s)
packdir=$(mktemp -d)
if npm pack --silent --pack-destination "$packdir" > "$packdir/name.txt" 2> "$packdir/pack.log"; then
  tgz="$packdir/$(tail -1 "$packdir/name.txt")"
  sum=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ -f "$installed/.tarball-sha256" ] && [ "$(cat "$installed/.tarball-sha256")" = "$sum" ]; then
    echo "packed tarball unchanged: reusing $installed"
    export FIELDLINK_INSTALLED_USERDIR="$installed"
  else
    rm -rf "$installed" && mkdir -p "$installed" && cp "$tgz" "$installed/"
    if (cd "$installed" && echo '{"name":"node-red-user","private":true}' > package.json &&
        npm install --no-audit --no-fund --loglevel=error "./$(basename "$tgz")" > install.log 2>&1); then
      echo "$sum" > "$installed/.tarball-sha256"
      echo "packed tarball installed in a user dir: $(( $(date +%s) - start )) s"
      export FIELDLINK_INSTALLED_USERDIR="$installed"
    else
      cat "$installed/install.log"
      echo "warning: installing the packed tarball failed; the install test will try again and report it"
    fi
  fi
else
  cat "$packdir/pack.log"
  echo "warning: npm pack failed; the install test will try again and report it"
fi
rm -rf "$packdir"

rm -f test-output/summary-[0-9]*.jsonl test-output/line-*.log
subset=(test/api test/nodes test/runtime test/e2e/dashboard.test.js test/e2e/m307-dashboard.test.js test/e2e/mate-dashboard.test.js)

# One Node line's mocha run; its counts go to test-output/summary-<line>.jsonl.
run_line() {
  local line=$1 bin label red spec=() summary="$PWD/test-output/summary-$1.jsonl"
  bin=$(node_bin "$line") || { record "$summary" "node $line" 0 "installing Node $line" "scripts/runtimes.sh --path node-$line found no binary"; return; }
  if [ "$line" = 24 ]; then
    red=""
    label="Node $("$bin" --version) + Node-RED 5 (full suite)"
  else
    if [ "$line" -le 22 ]; then red="$nr4"; else red=""; fi
    label="Node $("$bin" --version) + Node-RED $([ -n "$red" ] && echo 4.1 || echo 5)"
    # --no-config: .mocharc's spec list would be added to these, not replaced.
    spec=(--no-config --timeout 20000 --reporter test/support/summary-reporter.js "${subset[@]}")
  fi
  echo
  echo "=== $label ==="
  FIELDLINK_NODE_RED="$red" FIELDLINK_RUN_LABEL="$label" FIELDLINK_SUMMARY_FILE="$summary" \
    LD_PRELOAD="$shim" FIELDLINK_PTYSHIM="$shim" "$bin" node_modules/mocha/bin/mocha.js "${spec[@]}"
  local rc=$?
  # A mocha that died before its summary counts as a failure.
  [ -s "$summary" ] || record "$summary" "$label" 0 "mocha ended before its summary" "exit status $rc; the run's output above shows where"
}

# The main line alone first (the full suite), then the other lines, FIELDLINK_TEST_JOBS at a
# time (default 2: the runs mostly wait on simulated devices), each into its own log, shown
# in order once all are done.
others=()
for l in $lines; do
  if [ "$l" = 24 ]; then run_line 24; else others+=("$l"); fi
done
finish_lint
jobs_max="${FIELDLINK_TEST_JOBS:-2}"
for l in "${others[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  run_line "$l" > "test-output/line-$l.log" 2>&1 &
done
wait
for l in "${others[@]}"; do cat "test-output/line-$l.log"; done

echo
node -e '
  const fs = require("fs");
  const lines = process.argv[1].split(" ").filter(Boolean).flatMap((l) => {
    const f = `test-output/summary-${l}.jsonl`;
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n").map(JSON.parse)
      : [{ label: `Node ${l} (no result)`, passed: 0, failed: 1, skipped: 0 }];
  });
  // Each failure again, by line, so the end of the log names it.
  for (const r of lines) {
    for (const x of r.failures || []) {
      console.log(`  FAILED in ${r.label}: ${x.title}`);
      console.log(x.error.split("\n").map((t) => `      ${t}`).join("\n"));
    }
  }
  let p = 0, f = 0, s = 0;
  for (const r of lines) {
    console.log(`  ${r.label}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
    p += r.passed; f += r.failed; s += r.skipped;
  }
  if (process.argv[2] !== "0") console.log("  ctest: failed (see above)");
  console.log(`mocha: ${p} passed, ${f} failed, ${s} skipped`);
  process.exit(f === 0 && process.argv[2] === "0" ? 0 : 1);
' "$([ "$lint_rc" != skip ] && echo "lint ")$lines" "$cpp_rc"
