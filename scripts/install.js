#!/usr/bin/env node
'use strict';
// npm's install step for fieldlink:
//   1. the prebuilt addon for this platform, arch, libc and ARM version (prebuilds/<target>/),
//      if it really loads: it is required in a child process, so a glibc or ABI mismatch
//      falls through instead of failing later;
//   2. otherwise a source build with cmake-js, after checking that the tools and libraries
//      it needs are there; what is missing is named with the apt, dnf and apk line for it.
// `npm install --build-from-source` or FIELDLINK_BUILD_FROM_SOURCE=1 skips step 1, and so does
// a git checkout (unless FIELDLINK_USE_PREBUILT=1).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const target = require('../lib/native-target');

const root = path.join(__dirname, '..');
const say = (msg) => process.stderr.write(`fieldlink: ${msg}\n`);

/** Requires the addon in a child process: { ok, error }. */
function loads(file) {
  const r = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', file], {
    encoding: 'utf8',
    timeout: 60000,
    env: { ...process.env, FIELDLINK_ADDON: '' },
  });
  if (r.status === 0) return { ok: true };
  const text = `${r.stderr || ''}${r.error ? r.error.message : ''}`;
  // Node prints the require stack; the first "Error: ..." line is the loader's reason.
  const line = text.split('\n').find((l) => /Error\b.*:/.test(l)) || text.trim().split('\n')[0] || `exit ${r.status}`;
  return { ok: false, error: line.replace(/^\S*Error: /, '').trim() };
}

function onPath(cmd) {
  if (cmd.includes('/')) return fs.existsSync(cmd);
  return (process.env.PATH || '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, cmd)));
}

function run(cmd, args) {
  return spawnSync(cmd, args, { encoding: 'utf8' });
}

// Where the npm build tools are fetched when the project does not have them (they are
// dev dependencies only, so an install that uses a prebuilt addon downloads nothing).
const toolsDir = path.join(root, 'build', 'npm-tools');

function resolveFrom(name) {
  try {
    return require.resolve(`${name}/package.json`, { paths: [root, path.join(toolsDir, 'node_modules')] });
  } catch {
    return null;
  }
}

/** npm install cmake-js and node-addon-api into build/npm-tools, with the npm that runs us. */
function fetchBuildTools(names) {
  const npmCli = process.env.npm_execpath;
  if (!npmCli || !fs.existsSync(npmCli)) return false;
  say(`fetching the source build's npm packages (${names.join(', ')}) into build/npm-tools`);
  fs.mkdirSync(toolsDir, { recursive: true });
  const r = spawnSync(process.execPath, [npmCli, 'install', '--prefix', toolsDir, '--no-save', '--no-package-lock',
    '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...target.BUILD_NPM.split(' ')], { stdio: 'inherit' });
  return r.status === 0;
}

/** What a source build needs and this machine lacks: ids from target.BUILD_NEEDS. */
function missingBuildNeeds(info) {
  const missing = [];
  const cxx = process.env.CXX ? process.env.CXX.split(' ')[0] : null;
  if (!(cxx ? onPath(cxx) : ['c++', 'g++', 'clang++'].some(onPath))) missing.push('c++');
  if (!onPath('make') && !onPath('ninja')) missing.push('make');
  if (!onPath('cmake')) missing.push('cmake');
  const pkgConfig = ['pkg-config', 'pkgconf'].find(onPath);
  if (!pkgConfig) missing.push('pkg-config');
  if (pkgConfig) {
    if (run(pkgConfig, ['--exists', 'libserialport']).status !== 0) missing.push('libserialport');
  } else if (!['/usr/include/libserialport.h', '/usr/local/include/libserialport.h'].some((f) => fs.existsSync(f))) {
    missing.push('libserialport');
  }
  const incDirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH || '').split(':').filter(Boolean)];
  if (!incDirs.some((d) => fs.existsSync(path.join(d, 'asio.hpp')))) missing.push('asio');
  // Asio includes <linux/version.h>; Alpine's musl toolchain does not bring the kernel headers.
  if (info.libc === 'musl' && !fs.existsSync('/usr/include/linux/version.h')) missing.push('linux-headers');
  return missing;
}

function buildHelp(ids, npmMissing) {
  const needs = target.BUILD_NEEDS.filter((n) => ids.includes(n.id));
  const lines = [];
  if (needs.length) {
    lines.push(`Missing: ${needs.map((n) => n.what).join('; ')}.`);
    lines.push('Install them with one of:');
    for (const l of target.installLines(ids)) lines.push(`  ${l}`);
  }
  if (npmMissing.length) {
    lines.push(`Missing npm packages for the build: ${npmMissing.join(', ')} (only a source build needs them).`);
    lines.push(`Install them in the folder that holds node_modules: npm install ${target.BUILD_NPM}`);
  }
  lines.push('Then run: npm rebuild fieldlink --foreground-scripts');
  if (!needs.length) {
    // Nothing named as missing (the build itself failed): everything a source build needs.
    lines.push('A source build needs, on each distribution:');
    for (const l of target.installLines()) lines.push(`  ${l}`);
  }
  return lines.join('\n');
}

function buildFromSource(info, why) {
  say(`${why}; building from source (${info.target}, Node.js ${info.node})`);
  const missing = missingBuildNeeds(info);
  if (missing.length) {
    say(`cannot build the native addon from source.\n${buildHelp(missing, [])}`);
    return false;
  }
  // cmake-js and node-addon-api: the project's own (a clone), or fetched now.
  let npmMissing = ['cmake-js', 'node-addon-api'].filter((n) => !resolveFrom(n));
  if (npmMissing.length && fetchBuildTools(npmMissing)) npmMissing = npmMissing.filter((n) => !resolveFrom(n));
  if (npmMissing.length) {
    say(`cannot build the native addon from source.\n${buildHelp([], npmMissing)}`);
    return false;
  }
  const cmakeJs = path.join(path.dirname(resolveFrom('cmake-js')), 'bin', 'cmake-js');
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--CDBUILD_TESTING=OFF', '--log-level', 'error'], {
    cwd: root,
    stdio: 'inherit',
    // cmake-js finds node-addon-api with require(): let it see build/npm-tools too.
    env: { ...process.env, NODE_PATH: [path.join(toolsDir, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter) },
  });
  const built = path.join(root, 'build', 'Release', 'fieldlink.node');
  if (r.status !== 0 || !fs.existsSync(built)) {
    say(`the source build failed (cmake-js exit ${r.status}; run npm rebuild fieldlink --foreground-scripts to see the compiler's output).\n${buildHelp([], [])}`);
    return false;
  }
  const check = loads(built);
  if (!check.ok) {
    say(`the source build finished but build/Release/fieldlink.node does not load: ${check.error}`);
    return false;
  }
  say('built the native addon from source: build/Release/fieldlink.node');
  return true;
}

function main() {
  const info = target.describe();
  const fromSource = process.env.FIELDLINK_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true';
  if (fromSource) return buildFromSource(info, 'a source build was asked for');
  // A git checkout (a developer's clone, CI) builds its own sources, as before prebuilds
  // existed: prebuilds/ there may be older than the tree. FIELDLINK_USE_PREBUILT=1 overrides.
  if (fs.existsSync(path.join(root, '.git')) && process.env.FIELDLINK_USE_PREBUILT !== '1') {
    return buildFromSource(info, 'a git checkout');
  }
  const pre = target.prebuiltAddon(info);
  if (!pre) {
    const avail = target.availablePrebuilds();
    return buildFromSource(info, `no prebuilt addon for ${info.target} (this package has: ${avail.join(', ') || 'none'})`);
  }
  const check = loads(pre);
  const rel = path.relative(root, pre);
  if (check.ok) {
    const libc = info.libc === 'glibc' ? `glibc ${info.glibc}` : info.libc;
    say(`using the prebuilt addon ${rel} (${libc}, Node.js ${info.node})`);
    return true;
  }
  return buildFromSource(info, `the prebuilt addon ${rel} does not load here (${check.error})`);
}

if (require.main === module) {
  process.exitCode = main() ? 0 : 1;
}

module.exports = { loads, missingBuildNeeds, buildHelp };
