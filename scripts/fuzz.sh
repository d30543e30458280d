#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs them one after another.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]     (targets: modbus m307 mate)
#   bash scripts/fuzz.sh -runs=N [TARGET...]     each target for N executions instead of a time
# Options may be combined: -runs=N and -max_total_time=S (the first limit reached ends a target).
#   -max_len=N   the longest input (default per target below; libFuzzer's own default lets the
#                inputs grow to 4 KB, far past any frame, and the targets that re-parse every
#                prefix then slow down to half their speed without reaching new code)
# Corpora grow in build-fuzz/corpus/<target>, seeded from test/fuzz/seeds/<target>.txt
# (the protocol vectors, one hex line per seed). Crashes land in build-fuzz/crashes/.
# FIELDLINK_FUZZ_NICE=19 runs the fuzzers under `nice -n 19`.
# The closing lines give, per target: executions, exec/s, corpus size, coverage and the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=""
runs=""
max_len=""
targets=()
for a in "$@"; do
  case "$a" in
    -runs=*) runs="${a#-runs=}" ;;
    -max_total_time=*) seconds="${a#-max_total_time=}" ;;
    -max_len=*) max_len="${a#-max_len=}" ;;
    [0-9]*) seconds="$a" ;;
    *) targets+=("$a") ;;
  esac
done
[ -z "$runs" ] && [ -z "$seconds" ] && seconds=60
[ ${#targets[@]} -eq 0 ] && targets=(modbus m307 mate)

if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null
fi
command -v cmake >/dev/null || bash scripts/setup.sh

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DFIELDLINK_FUZZ=ON -DBUILD_TESTING=OFF > build-fuzz.log
cmake --build build-fuzz --target $(printf 'fuzz_%s ' "${targets[@]}") >> build-fuzz.log

limits=()
[ -n "$seconds" ] && limits+=(-max_total_time="$seconds")
[ -n "$runs" ] && limits+=(-runs="$runs")
nice_cmd=()
[ -n "${FIELDLINK_FUZZ_NICE:-}" ] && nice_cmd=(nice -n "$FIELDLINK_FUZZ_NICE")

mkdir -p build-fuzz/crashes
status=0
summary=()
for t in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$t"
  log="build-fuzz/fuzz_$t.log"
  mkdir -p "$corpus"
  i=0
  grep -v '^#' "test/fuzz/seeds/$t.txt" | while read -r line; do
    [ -z "$line" ] && continue
    i=$((i + 1))
    echo "$line" | xxd -r -p > "$corpus/seed-$i"
  done
  # A Modbus RTU reply is at most 256 bytes: 300 holds the 6 bytes that pick the request, the
  # longest reply and some garbage (the target re-parses every prefix, so its cost grows with the
  # square of the length: at 1 KB it ran at a fifth of the speed and reached no new edge).
  # A MATE reply or PJON frame is far shorter; 1 KB leaves room for garbage around one.
  # The M307 log stream is long, and its target is linear in the length.
  case "$t" in
    modbus) len="${max_len:-300}" ;;
    mate) len="${max_len:-1024}" ;;
    *) len="${max_len:-4096}" ;;
  esac
  echo "fuzz_$t: ${limits[*]} -max_len=$len"
  start=$(date +%s)
  verdict="no crash"
  if ! "${nice_cmd[@]}" ./build-fuzz/fuzz_$t "${limits[@]}" -max_len="$len" -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t-" \
      "$corpus" > "$log" 2>&1; then
    echo "fuzz_$t FOUND A PROBLEM: see $log and build-fuzz/crashes/"
    tail -40 "$log"
    verdict="PROBLEM (see $log)"
    status=1
  fi
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  # The last status line libFuzzer printed carries the coverage (cov: edges, ft: features).
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  summary+=("fuzz_$t: ${execs:-?} executions in ${elapsed} s (${rate:-?} exec/s), ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) inputs, peak RSS ${rss:-?} MB: $verdict")
done
echo
printf '%s\n' "${summary[@]}"
exit $status
