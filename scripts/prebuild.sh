#!/usr/bin/env bash
# npm run prebuild [x64] [arm64] [armv7]
#
# Builds the prebuilt addons shipped in the npm package, one folder per target:
#   prebuilds/linux-x64-glibc/    prebuilds/linux-arm64-glibc/    prebuilds/linux-armv7-glibc/
# each holding fieldlink.node, libserialport.so.0 (found through RUNPATH $ORIGIN) and
# BUILDINFO.json, plus prebuilds/THIRD-PARTY/ (libserialport's licence texts and its Debian
# source package). See docs/RELEASING.md and docs/ARCHITECTURE.md ("Prebuilt binaries").
#
# How: everything is compiled inside a Debian 11 "bullseye" root (glibc 2.31, GCC 10) made
# with debootstrap, natively for x64 and with Debian's crossbuild-essential-arm64/armhf for
# the ARM targets, against bullseye's multiarch libserialport-dev. Linking against glibc 2.31
# is what makes the addon load on glibc 2.31 systems (Debian 11, Ubuntu 20.04, Raspberry Pi OS
# bullseye) and on every newer one. Only Debian's archive (the mirror this machine's apt
# already uses) and the local node_modules (node-api-headers, node-addon-api) are used.
#
# Needs root (debootstrap, chroot), debootstrap and binutils on the host. The builder root
# (about 2 GB) is kept in $FIELDLINK_PREBUILD_WORK (default .prebuild-work/, gitignored) and
# reused; delete it to start from scratch.
#   FIELDLINK_PREBUILD_JOBS   parallel compile jobs (default 2)
#   FIELDLINK_DEBIAN_MIRROR   the Debian mirror (default: the one in this machine's apt sources)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

work=${FIELDLINK_PREBUILD_WORK:-$repo/.prebuild-work}
root=$work/bullseye-builder
jobs=${FIELDLINK_PREBUILD_JOBS:-2}
suite=bullseye
glibc_floor=2.31
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x64 arm64 armv7)

die() { echo "prebuild: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot); run it as root or with sudo"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
command -v objdump >/dev/null || die "objdump is missing: apt-get install binutils"

source "$repo/scripts/lib/debian-mirror.sh"
mirror=$(debian_mirror)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt; set FIELDLINK_DEBIAN_MIRROR"

# The packages of the builder root. Their exact versions go into every BUILDINFO.json.
pkgs=(g++ make cmake pkg-config libasio-dev binutils
  crossbuild-essential-arm64 crossbuild-essential-armhf
  libserialport-dev libserialport-dev:arm64 libserialport-dev:armhf)

mounted=0
cleanup() { if [ $mounted = 1 ]; then umount "$root/proc" 2>/dev/null || true; fi; }
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }

if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "prebuild: making the $suite builder root in $root (debootstrap, once)"
  rm -rf "$root"
  mkdir -p "$work"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$work/debootstrap-builder.log" 2>&1 ||
    { tail -20 "$work/debootstrap-builder.log"; die "debootstrap failed (log: $work/debootstrap-builder.log)"; }
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
if ! mountpoint -q "$root/proc"; then mount -t proc proc "$root/proc"; mounted=1; fi

if [ ! -f "$root/.fieldlink-builder" ]; then
  echo "prebuild: installing the compilers and libraries in the builder root"
  printf 'deb %s %s main\ndeb-src %s %s main\n' "$mirror" "$suite" "$mirror" "$suite" > "$root/etc/apt/sources.list"
  in_root dpkg --add-architecture arm64
  in_root dpkg --add-architecture armhf
  in_root /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends ${pkgs[*]} && apt-get clean" > "$work/builder-apt.log" 2>&1 ||
    { tail -20 "$work/builder-apt.log"; die "apt-get in the builder root failed (log: $work/builder-apt.log)"; }
  touch "$root/.fieldlink-builder"
fi

# Sources: the C++ tree, and the Node-API headers cmake-js would pass (CMAKE_JS_INC).
napi_inc=$(node -p "require('path').join(require.resolve('node-api-headers/package.json'), '..', 'include')")
addon_api=$(node -p "require('node-addon-api').include_dir" 2>/dev/null || true)
[ -d "$addon_api" ] || addon_api=$(node -p "require('path').dirname(require.resolve('node-addon-api/package.json'))")
[ -f "$napi_inc/node_api.h" ] || die "node-api-headers not found: run npm ci (bash scripts/setup.sh) first"
rm -rf "$root/src" && mkdir -p "$root/src/napi/node-addon-api"
cp -r CMakeLists.txt native "$root/src/"
mkdir -p "$root/src/test/support" && cp test/support/ptyshim.c "$root/src/test/support/"
cp -r "$napi_inc" "$root/src/napi/include"
cp "$addon_api"/*.h "$root/src/napi/node-addon-api/"

versions() { in_root dpkg-query -W -f='${Package}:${Architecture} ${Version}\n' "$@" 2>/dev/null; }

mkdir -p prebuilds
for t in "${targets[@]}"; do
  case $t in
    x64)   triple=x86_64-linux-gnu;    darch=amd64; proc=x86_64;  dir=linux-x64-glibc ;;
    arm64) triple=aarch64-linux-gnu;   darch=arm64; proc=aarch64; dir=linux-arm64-glibc ;;
    armv7) triple=arm-linux-gnueabihf; darch=armhf; proc=armv7l;  dir=linux-armv7-glibc ;;
    *) die "unknown target '$t' (x64, arm64, armv7)" ;;
  esac
  if [ $t = x64 ]; then cc=gcc; cxx=g++; strip=strip; else cc=$triple-gcc; cxx=$triple-g++; strip=$triple-strip; fi
  echo "prebuild: $dir ($triple, $suite)"
  start=$(date +%s)
  b=/build/$t
  rm -rf "$root$b"
  in_root /usr/bin/env PKG_CONFIG_LIBDIR=/usr/lib/$triple/pkgconfig:/usr/share/pkgconfig SOURCE_DATE_EPOCH=0 \
    cmake -S /src -B $b -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=$proc \
      -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx \
      -DCMAKE_FIND_ROOT_PATH=/usr/lib/$triple \
      -DCMAKE_JS_VERSION=8.0.0 "-DCMAKE_JS_INC=/src/napi/include;/src/napi/node-addon-api" \
      -DCMAKE_LIBRARY_OUTPUT_DIRECTORY=$b/out -DFIELDLINK_PREBUILD=ON > "$work/build-$t.log" 2>&1 ||
    { tail -30 "$work/build-$t.log"; die "cmake configure failed for $t"; }
  in_root make -C $b -j"$jobs" fieldlink >> "$work/build-$t.log" 2>&1 ||
    { tail -30 "$work/build-$t.log"; die "build failed for $t"; }

  out=prebuilds/$dir
  rm -rf "$out" && mkdir -p "$out"
  in_root $strip --strip-unneeded -o /build/$t/fieldlink.node /build/$t/out/fieldlink.node
  cp "$root/build/$t/fieldlink.node" "$out/fieldlink.node"
  cp "$root/usr/lib/$triple/$(readlink "$root/usr/lib/$triple/libserialport.so.0")" "$out/libserialport.so.0"

  # Checks: the glibc floor, RUNPATH $ORIGIN, and that libserialport is found beside the addon.
  floor() { objdump -T "$1" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV | tail -n1; }
  cxxfloor() { objdump -T "$1" | grep -oE 'GLIBCXX_[0-9]+(\.[0-9]+)+' | sed 's/GLIBCXX_//' | sort -uV | tail -n1; }
  g_addon=$(floor "$out/fieldlink.node"); g_sp=$(floor "$out/libserialport.so.0"); gxx=$(cxxfloor "$out/fieldlink.node")
  for g in "$g_addon" "$g_sp"; do
    [ "$(printf '%s\n%s\n' "$g" "$glibc_floor" | sort -V | tail -n1)" = "$glibc_floor" ] ||
      die "$out needs GLIBC_$g, above the $glibc_floor floor"
  done
  runpath=$(objdump -p "$out/fieldlink.node" | awk '$1=="RUNPATH"{print $2}')
  [ "$runpath" = '$ORIGIN' ] || die "$out/fieldlink.node has RUNPATH '$runpath', not \$ORIGIN"
  needed=$(objdump -p "$out/fieldlink.node" | awk '$1=="NEEDED"{print $2}')
  grep -qx 'libserialport.so.0' <<<"$needed" || die "$out/fieldlink.node does not link libserialport.so.0"

  sp_ver=$(versions "libserialport0:$darch" | awk '{print $2}')
  gcc_ver=$(in_root $cxx -dumpfullversion)
  node -e '
    const [file, info] = [process.argv[1], JSON.parse(process.argv[2])];
    require("fs").writeFileSync(file, JSON.stringify(info, null, 2) + "\n");' "$out/BUILDINFO.json" "$(cat <<JSON
{
  "target": "$dir",
  "napiVersion": 8,
  "glibcFloor": "$g_addon",
  "glibcxxFloor": "$gxx",
  "libserialportGlibcFloor": "$g_sp",
  "builtIn": "Debian 11 ($suite) root: $triple g++ $gcc_ver, glibc $(versions "libc6-dev:$darch" | awk '{print $2}')",
  "libserialport": "Debian $suite libserialport0:$darch $sp_ver (source: prebuilds/THIRD-PARTY/libserialport/)",
  "sha256": {
    "fieldlink.node": "$(sha256sum "$out/fieldlink.node" | cut -d' ' -f1)",
    "libserialport.so.0": "$(sha256sum "$out/libserialport.so.0" | cut -d' ' -f1)"
  }
}
JSON
)"
  echo "prebuild: $out done in $(( $(date +%s) - start )) s: GLIBC floor $g_addon (libserialport $g_sp), GLIBCXX $gxx, $(du -k "$out/fieldlink.node" | cut -f1) kB"
done

# libserialport's licence (LGPL-3.0, which builds on the GPL-3.0 text) and its Debian source
# package, so the package carries the Corresponding Source of the library it ships.
tp=prebuilds/THIRD-PARTY/libserialport
sp_src_ver=$(versions "libserialport0:amd64" | awk '{print $2}')
if [ ! -f "$tp/.version" ] || [ "$(cat "$tp/.version")" != "$sp_src_ver" ]; then
  rm -rf "$tp" && mkdir -p "$tp"
  # The whole source package when the mirror serves it; some mirrors and proxies serve the
  # .dsc (which pins the tarballs by SHA-256) but not the tarballs: then ship the .dsc alone.
  if ! in_root /bin/sh -c "mkdir -p /srcpkg && cd /srcpkg && rm -f ./* && apt-get source --download-only -qq libserialport=$sp_src_ver" \
    > "$work/source-apt.log" 2>&1; then
    echo "prebuild: warning: the mirror did not serve libserialport's source tarballs; shipping its .dsc only" >&2
    in_root /bin/sh -c "cd /srcpkg && rm -f ./* && apt-get source --download-only --dsc-only -qq libserialport=$sp_src_ver" \
      >> "$work/source-apt.log" 2>&1 || { tail -5 "$work/source-apt.log"; die "apt-get source libserialport failed"; }
  fi
  cp "$root"/srcpkg/* "$tp/"
  cp "$root/usr/share/doc/libserialport0/copyright" "$tp/copyright"
  cp "$root/usr/share/common-licenses/LGPL-3" "$tp/LGPL-3.0.txt"
  cp "$root/usr/share/common-licenses/GPL-3" "$tp/GPL-3.0.txt"
  echo "$sp_src_ver" > "$tp/.version"
fi
cat > prebuilds/THIRD-PARTY/README.md <<EOF
# Third-party code in the prebuilt addons

## libserialport (LGPL-3.0-or-later)

Each \`prebuilds/linux-*-glibc/\` folder ships \`libserialport.so.0\`, unmodified, as Debian 11
(bullseye) builds it: binary package \`libserialport0\` version $sp_src_ver for amd64, arm64 and
armhf. fieldlink's addon links it dynamically and finds it in its own folder (RUNPATH
\`\$ORIGIN\`), so you can replace that file with your own build of libserialport (same soname,
\`libserialport.so.0\`), or delete it to use the system's copy.

- Licence: \`LGPL-3.0.txt\` (GNU Lesser General Public License v3) and \`GPL-3.0.txt\`, which
  the LGPL-3.0 incorporates; \`copyright\` is Debian's copyright file for the package.
- Corresponding Source: Debian's source package libserialport $sp_src_ver. Its description
  \`libserialport_$sp_src_ver.dsc\` is in this folder (signed, and pinning the upstream tarball
  \`libserialport_0.1.1.orig.tar.xz\` and Debian's \`libserialport_$sp_src_ver.debian.tar.xz\` by
  SHA-256)$(ls "$tp"/*.orig.* >/dev/null 2>&1 && echo ', with both tarballs beside it'). The same files are in Debian's archive under
  \`pool/main/libs/libserialport/\` (\`apt-get source libserialport=$sp_src_ver\` on Debian 11
  or 12, which ship the same version). Rebuild with
  \`dpkg-source -x libserialport_*.dsc && cd libserialport-*/ && dpkg-buildpackage -b\`, or
  \`./configure && make\` in the unpacked upstream tarball.

## Compiled into fieldlink.node

- Asio (standalone, Debian \`libasio-dev\`), Boost Software License 1.0: header-only, compiled in.
- node-addon-api (MIT) and node-api-headers (MIT): headers only, compiled in.
- libstdc++ and libgcc are linked dynamically from the system (GCC Runtime Library Exception).
EOF
echo "prebuild: done: $(du -sk prebuilds | cut -f1) kB in prebuilds/"
