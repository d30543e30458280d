#!/usr/bin/env bash
# Installs what fieldlink needs on a Debian/Ubuntu machine: the apt packages for the
# native build and tests, then the npm dependencies (whose install script builds the addon).
# Safe to run again: each step is skipped when its result is already there.
#   FIELDLINK_SETUP_E2E=1  also installs Chromium for the end-to-end browser test.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."

need=(g++ cmake ninja-build pkg-config libasio-dev libserialport-dev catch2 socat mosquitto)
if [ "${FIELDLINK_SETUP_E2E:-0}" = 1 ]; then need+=(chromium); fi

missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; fi
  fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm dependencies: reinstall when package-lock.json changed since the last install.
stamp=node_modules/.fieldlink-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
