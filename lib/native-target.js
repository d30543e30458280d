'use strict';
// Which native addon fits this machine, and what to tell the user when none does. Shared by
// lib/native.js (require time) and scripts/install.js (npm's install step), so both pick the
// same prebuilt folder and give the same advice.
//
// Prebuilt folders (npm run prebuild, docs/RELEASING.md): prebuilds/<platform>-<arch>-<libc>/,
// e.g. linux-x64-glibc, linux-arm64-glibc, linux-armv7-glibc; each holds fieldlink.node and
// libserialport.so.0. They are built against glibc 2.31 (see BUILDINFO.json in each folder).
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const PREBUILT_GLIBC_FLOOR = '2.31';

/** glibc's version from Node's diagnostic report header (about 20 ms: only when it is shown). */
function glibcVersion() {
  try {
    const report = process.report;
    const exclude = report.excludeNetwork;
    report.excludeNetwork = true;
    try {
      return report.getReport().header.glibcVersionRuntime || null;
    } finally {
      report.excludeNetwork = exclude;
    }
  } catch {
    return null;
  }
}

/**
 * The C library this Node.js process runs on: 'glibc', 'musl' or 'unknown', read from the
 * libraries mapped into the process (a Debian machine may have musl installed beside glibc,
 * so the files on disk do not tell).
 */
function detectLibcFamily() {
  if (process.platform !== 'linux') return 'unknown';
  let maps;
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return glibcVersion() ? 'glibc' : 'unknown';
  }
  if (/\/ld-musl-[^/\s]*$|\/libc\.musl-[^/\s]*$/m.test(maps)) return 'musl';
  if (/\/libc\.so\.6$|\/libc-2\.\d+\.so$/m.test(maps)) return 'glibc';
  return 'unknown';
}

/** { libc, glibc }: glibc is the version string on glibc systems, else null. */
function detectLibc() {
  const libc = detectLibcFamily();
  return { libc, glibc: libc === 'glibc' ? glibcVersion() : null };
}

/**
 * describe(overrides) -> { platform, arch, armVersion, libc, glibc, node, napi, target }
 * target is the prebuilt folder name for this machine (whether it exists or not), e.g.
 * 'linux-armv7-glibc'. The overrides exist for the tests.
 */
function describe(overrides = {}) {
  const platform = overrides.platform ?? process.platform;
  const arch = overrides.arch ?? process.arch;
  const armVersion = overrides.armVersion ?? (arch === 'arm' ? String(process.config.variables.arm_version ?? '') : null);
  const libc = overrides.libc ?? detectLibcFamily();
  const cpu = arch === 'arm' ? `armv${armVersion || '?'}` : arch;
  let glibc = overrides.libc ? overrides.glibc ?? null : undefined;
  return {
    platform,
    arch,
    armVersion,
    libc,
    // Read on first use: the report it comes from is slow, and only messages need it.
    get glibc() {
      if (glibc === undefined) glibc = libc === 'glibc' ? glibcVersion() : null;
      return glibc;
    },
    node: overrides.node ?? process.version,
    napi: overrides.napi ?? process.versions.napi,
    target: `${platform}-${cpu}-${libc}`,
  };
}

/** The prebuilt folders that ship in this copy of the package. */
function availablePrebuilds(base = root) {
  try {
    return fs
      .readdirSync(path.join(base, 'prebuilds'))
      .filter((d) => fs.existsSync(path.join(base, 'prebuilds', d, 'fieldlink.node')))
      .sort();
  } catch {
    return [];
  }
}

/** The prebuilt addon for this machine, or null when the package has none for it. */
function prebuiltAddon(info = describe(), base = root) {
  const file = path.join(base, 'prebuilds', info.target, 'fieldlink.node');
  return fs.existsSync(file) ? file : null;
}

/**
 * The addon files to try, in order: FIELDLINK_ADDON, a source build (build/Release, then
 * build/Debug: a developer's or `npm rebuild`'s, newer than any prebuild), then the prebuild.
 * Only files that exist are listed.
 */
function candidates(info = describe(), base = root, env = process.env) {
  const list = [];
  if (env.FIELDLINK_ADDON) list.push({ kind: 'FIELDLINK_ADDON', file: path.resolve(env.FIELDLINK_ADDON) });
  for (const dir of ['Release', 'Debug']) {
    const file = path.join(base, 'build', dir, 'fieldlink.node');
    if (fs.existsSync(file)) list.push({ kind: 'source build', file });
  }
  const pre = prebuiltAddon(info, base);
  if (pre) list.push({ kind: 'prebuilt', file: pre });
  return list;
}

// What a source build needs, per package manager. `check` names how scripts/install.js finds it.
const BUILD_NEEDS = [
  { id: 'c++', what: 'a C++20 compiler (g++ 10 or later)', apt: 'g++', dnf: 'gcc-c++', apk: 'g++' },
  { id: 'make', what: 'make', apt: 'make', dnf: 'make', apk: 'make' },
  { id: 'cmake', what: 'cmake 3.18 or later', apt: 'cmake', dnf: 'cmake', apk: 'cmake' },
  { id: 'pkg-config', what: 'pkg-config', apt: 'pkg-config', dnf: 'pkgconf-pkg-config', apk: 'pkgconf' },
  { id: 'libserialport', what: 'libserialport (headers and libserialport.pc)', apt: 'libserialport-dev', dnf: 'libserialport-devel', apk: 'libserialport-dev' },
  { id: 'asio', what: 'standalone Asio headers (asio.hpp)', apt: 'libasio-dev', dnf: 'asio-devel', apk: 'asio-dev' },
  // glibc distributions get them with the compiler; Alpine's musl toolchain does not.
  { id: 'linux-headers', what: 'the Linux kernel headers', apt: null, dnf: null, apk: 'linux-headers' },
];
// The npm packages of a source build. They are dev dependencies only (not dependencies), so an
// install that uses a prebuilt addon does not download them; scripts/install.js fetches them.
const BUILD_NPM = 'cmake-js@^8 node-addon-api@^8';

/** The exact install lines for the given needs (all of them by default). */
function installLines(ids = BUILD_NEEDS.map((n) => n.id)) {
  const needs = BUILD_NEEDS.filter((n) => ids.includes(n.id));
  const pick = (k) => needs.map((n) => n[k]).filter(Boolean).join(' ');
  return [
    `Debian, Ubuntu, Raspberry Pi OS:  sudo apt-get install ${pick('apt')}`,
    `Fedora, RHEL (with EPEL):         sudo dnf install ${pick('dnf')}`,
    `Alpine (Node-RED's Docker image): apk add ${pick('apk')}`,
  ];
}

function cmp(a, b) {
  const pa = String(a).split('.').map(Number);
  const pb = String(b).split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/**
 * The message for "no addon loads here". failures: [{ kind, file, error }] from the tries.
 * It names the platform, arch, libc, glibc, Node.js version, what was tried, and the fix.
 */
function loadErrorMessage(info, failures, base = root) {
  const rel = (f) => (f.startsWith(base + path.sep) ? path.relative(base, f) : f);
  const avail = availablePrebuilds(base);
  const libcText = info.libc === 'glibc' ? `glibc ${info.glibc}` : info.libc === 'musl' ? 'musl libc' : 'an unknown libc';
  const lines = [
    `fieldlink: the native addon could not be loaded on ${info.platform}-${info.arch}${info.armVersion ? ` (ARMv${info.armVersion})` : ''}, ${libcText}, Node.js ${info.node} (Node-API ${info.napi}).`,
  ];
  if (failures.length) {
    lines.push('Tried:');
    for (const f of failures) lines.push(`  - ${f.kind} ${rel(f.file)}: ${f.error}`);
  } else {
    lines.push('No addon file was found: nothing was built from source, and this package has no prebuilt addon for it.');
  }
  lines.push(`Prebuilt addons in this package: ${avail.length ? avail.join(', ') : 'none'} (this machine needs ${info.target}).`);
  lines.push('Possible solutions:');
  if (info.libc === 'glibc' && info.glibc && cmp(info.glibc, PREBUILT_GLIBC_FLOOR) < 0) {
    lines.push(`  - The prebuilt addons need glibc ${PREBUILT_GLIBC_FLOOR} or later (Debian 11, Ubuntu 20.04, Raspberry Pi OS bullseye or newer); this system has ${info.glibc}. Upgrade the OS, or build from source as below.`);
  }
  if (info.platform !== 'linux') {
    lines.push('  - fieldlink runs on Linux only (libserialport, pseudo-terminals and POSIX descriptors).');
  } else {
    lines.push('  - Build it from source for this machine. Install the build tools:');
    for (const l of installLines()) lines.push(`      ${l}`);
    lines.push('    then: npm rebuild fieldlink --foreground-scripts   (it fetches cmake-js and node-addon-api from npm for the build)');
    lines.push('    npm 12 and later run install scripts only when allowed: first npm install-scripts approve fieldlink');
    lines.push('  - After a Node.js upgrade or a copy of node_modules from another machine: npm rebuild fieldlink --foreground-scripts');
    lines.push('  - Supported platforms and what each needs: the "Install" section of fieldlink\'s README.md.');
  }
  return lines.join('\n');
}

module.exports = {
  PREBUILT_GLIBC_FLOOR,
  BUILD_NEEDS,
  BUILD_NPM,
  detectLibc,
  detectLibcFamily,
  describe,
  availablePrebuilds,
  prebuiltAddon,
  candidates,
  installLines,
  loadErrorMessage,
  compareVersions: cmp,
};
