#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a set time.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]     (targets: modbus m307 mate)
# Corpora grow in build-fuzz/corpus/<target>, seeded from test/fuzz/seeds/<target>.txt
# (the protocol vectors, one hex line per seed). Crashes land in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
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

mkdir -p build-fuzz/crashes
status=0
for t in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$t"
  mkdir -p "$corpus"
  i=0
  grep -v '^#' "test/fuzz/seeds/$t.txt" | while read -r line; do
    [ -z "$line" ] && continue
    i=$((i + 1))
    echo "$line" | xxd -r -p > "$corpus/seed-$i"
  done
  echo "fuzz_$t: ${seconds}s"
  if ! ./build-fuzz/fuzz_$t -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t-" \
      "$corpus" > "build-fuzz/fuzz_$t.log" 2>&1; then
    echo "fuzz_$t FOUND A PROBLEM: see build-fuzz/fuzz_$t.log and build-fuzz/crashes/"
    tail -40 "build-fuzz/fuzz_$t.log"
    status=1
  else
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "build-fuzz/fuzz_$t.log" | sed "s/^/  /"
    echo "  corpus: $(ls "$corpus" | wc -l) inputs, no crash"
  fi
done
exit $status
