#!/usr/bin/env bash
# The lint and format gate: ESLint over the JavaScript (eslint.config.mjs, including the editor
# code in nodes/*.html), clang-format (.clang-format) and clang-tidy (.clang-tidy) over the C++.
# It changes nothing and exits non-zero on any finding.
#   bash scripts/lint.sh [--fix] [eslint] [format] [tidy]      (npm run lint / npm run lint:fix)
#   --fix      apply eslint --fix and clang-format -i, then check what is left
#   eslint | format | tidy   run only these parts (default: all three)
#   FIELDLINK_LINT_JOBS      clang-tidy processes at once (default: the number of cores)
# clang-tidy reads the compile commands of a separate CMake tree, build-lint/, configured here
# (configure only, nothing is built). Installs clang-format and clang-tidy when they are missing.
# The last line is `lint: ok` or `lint: N findings (...)`.
set -uo pipefail
cd "$(dirname "$0")/.."

fix=0
parts=()
for a in "$@"; do
  case "$a" in
    --fix) fix=1 ;;
    eslint | format | tidy) parts+=("$a") ;;
    *) echo "lint.sh: unknown argument $a (use --fix, eslint, format, tidy)" >&2; exit 2 ;;
  esac
done
[ ${#parts[@]} -eq 0 ] && parts=(eslint format tidy)
want() { case " ${parts[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
jobs="${FIELDLINK_LINT_JOBS:-$(nproc)}"
out=build-lint/out
mkdir -p "$out"

# clang-format and clang-tidy: version 14 where the distribution has it (Debian 12), since
# another major version may lay out the same code differently.
pick() { command -v "$1-14" || command -v "$1" || true; }
if want format || want tidy; then
  if [ -z "$(pick clang-format)" ] || [ -z "$(pick clang-tidy)" ]; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
    echo "lint: installing clang-format and clang-tidy"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-format clang-tidy >/dev/null
  fi
fi
CLANG_FORMAT=$(pick clang-format)
CLANG_TIDY=$(pick clang-tidy)

# Our C and C++ sources (the vendored catch.hpp is not ours).
list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then git ls-files -co --exclude-standard -- "$@"
  else find "$@" -type f 2>/dev/null; fi
}
mapfile -t cxx < <(list_files native test/native test/fuzz test/support bench/native |
  grep -E '\.(cpp|hpp|c|h)$' | grep -v 'test/native/catch\.hpp$' | sort -u)

summary=()
total=0
note() { summary+=("$1"); echo "$1"; }

if want eslint; then
  start=$(date +%s)
  eslint=(node node_modules/eslint/bin/eslint.js --max-warnings 0 .)
  [ $fix = 1 ] && "${eslint[@]}" --fix > /dev/null 2>&1
  "${eslint[@]}" --format json -o "$out/eslint.json" > /dev/null 2> "$out/eslint.err"
  rc=$?
  if [ $rc -gt 1 ] || [ ! -s "$out/eslint.json" ]; then
    cat "$out/eslint.err"; n=1
  else
    n=$(node -e 'const r = require(process.argv[1]);
      console.log(r.reduce((n, f) => n + f.messages.length, 0))' "$PWD/$out/eslint.json")
    [ "$n" -gt 0 ] && "${eslint[@]}" --format stylish 2>&1 | sed '/^$/d'
  fi
  total=$((total + n))
  note "eslint: $n findings ($(( $(date +%s) - start )) s)"
fi

if want format; then
  start=$(date +%s)
  [ $fix = 1 ] && "$CLANG_FORMAT" -i "${cxx[@]}"
  "$CLANG_FORMAT" --dry-run "${cxx[@]}" > "$out/clang-format.txt" 2>&1
  n=$(grep -c 'warning: code should be clang-formatted' "$out/clang-format.txt")
  if [ "$n" -gt 0 ]; then
    # One line per file and count; `clang-format -i FILE` (or --fix) shows the change.
    grep -oE '^[^:]+:[0-9]+:[0-9]+: warning: code should' "$out/clang-format.txt" | cut -d: -f1 | sort | uniq -c |
      sed 's/^ *\([0-9]*\) \(.*\)/\2: \1 places not in clang-format layout/'
  fi
  total=$((total + n))
  note "clang-format: $n findings in ${#cxx[@]} files ($(( $(date +%s) - start )) s)"
fi

if want tidy; then
  start=$(date +%s)
  # Every target, the addon, the Catch2 tests and the fuzz targets included: the addon's
  # sources are only in the compile commands when cmake-js configures (it knows the Node-API
  # headers), so cmake-js does, into a tree of its own.
  if ! node node_modules/cmake-js/bin/cmake-js configure -O build-lint --log-level error \
      --CDCMAKE_EXPORT_COMPILE_COMMANDS=ON --CDBUILD_TESTING=ON --CDFIELDLINK_FUZZ=ON > "$out/configure.log" 2>&1; then
    cat "$out/configure.log"
    total=$((total + 1))
    note "clang-tidy: configuring build-lint failed"
  else
    # One entry per source file (native/core is compiled twice, once for the fuzz targets);
    # the C helpers and Catch2's main() are left out.
    mkdir -p build-lint/tidy
    node -e '
      const [db, dest] = process.argv.slice(1);
      const seen = new Set();
      const keep = require(db).filter((e) => !seen.has(e.file) && seen.add(e.file) &&
        /\.cpp$/.test(e.file) && !/test\/native\/main\.cpp$/.test(e.file));
      require("fs").writeFileSync(dest, JSON.stringify(keep, null, 1));
      console.log(keep.map((e) => e.file).join("\n"));
    ' "$PWD/build-lint/compile_commands.json" build-lint/tidy/compile_commands.json > "$out/tidy-files.txt"
    rm -f "$out"/tidy-*.log
    # Each file's report in its own log, so that parallel runs do not interleave.
    xargs -a "$out/tidy-files.txt" -P "$jobs" -I{} sh -c \
      '"$1" -p build-lint/tidy --quiet "$2" > "$3/tidy-$(echo "$2" | md5sum | cut -c1-12).log" 2>&1' \
      _ "$CLANG_TIDY" {} "$out"
    cat "$out"/tidy-*.log > "$out/clang-tidy.txt"
    # A header's warning is reported once per file that includes it: count each place once.
    grep -E '^/.*: (warning|error): ' "$out/clang-tidy.txt" | sed "s|^$PWD/||" | sort -u > "$out/clang-tidy-findings.txt"
    n=$(wc -l < "$out/clang-tidy-findings.txt")
    if [ "$n" -gt 0 ]; then
      cat "$out/clang-tidy-findings.txt"
      echo "by check:"
      grep -oE '\[[a-z0-9.,-]+\]$' "$out/clang-tidy-findings.txt" | sort | uniq -c | sort -rn
    fi
    total=$((total + n))
    note "clang-tidy: $n findings in $(wc -l < "$out/tidy-files.txt") files, $jobs at a time ($(( $(date +%s) - start )) s)"
  fi
fi

if [ "$total" -eq 0 ]; then
  echo "lint: ok"
  exit 0
fi
echo "lint: $total findings ($(printf '%s; ' "${summary[@]}" | sed 's/; $//'))"
exit 1
