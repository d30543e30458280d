'use strict';
// The install step (scripts/install.js) and the require-time loader (lib/native.js) on a copy
// of the package laid out as npm installs it: which prebuilt folder is chosen, that a prebuild
// that does not load falls through, and what the user is told. Each case runs in a child
// process, as npm and a user's program would. The slow end-to-end check (a Debian root with
// no compiler, qemu for ARM) is `npm run test:install`.
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const target = require('../../lib/native-target');

const repo = path.join(__dirname, '..', '..');
const builtAddon = path.join(repo, 'build', 'Release', 'fieldlink.node');
const here = target.describe();

/** A copy of the package's JS (lib/, scripts/install.js, package.json) in a temp folder. */
function makePackage(prebuilt) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-install-'));
  fs.cpSync(path.join(repo, 'lib'), path.join(dir, 'lib'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(repo, 'scripts', 'install.js'), path.join(dir, 'scripts', 'install.js'));
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(dir, 'package.json'));
  fs.copyFileSync(path.join(repo, 'README.md'), path.join(dir, 'README.md'));
  for (const [name, content] of Object.entries(prebuilt || {})) {
    fs.mkdirSync(path.join(dir, 'prebuilds', name), { recursive: true });
    const file = path.join(dir, 'prebuilds', name, 'fieldlink.node');
    if (Buffer.isBuffer(content)) fs.writeFileSync(file, content);
    else fs.copyFileSync(content, file);
  }
  return dir;
}

const tempDirs = [];

/** A PATH with node alone on it: no compiler, no cmake, no make, no pkg-config. */
function bareBin() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-bin-'));
  tempDirs.push(dir);
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  return dir;
}

function node(args, { cwd, env = {} }) {
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (k.startsWith('npm_') || k === 'FIELDLINK_ADDON') delete clean[k];
  return spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...clean, ...env }, timeout: 60000 });
}

describe('install and load: choosing the native addon', function () {
  const cleanup = tempDirs;
  after(function () {
    for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
  });
  const pkg = (prebuilt) => {
    const d = makePackage(prebuilt);
    cleanup.push(d);
    return d;
  };

  it('names the prebuilt folder by platform, arch, ARM version and libc', function () {
    const t = (o) => target.describe({ platform: 'linux', libc: 'glibc', glibc: '2.31', ...o }).target;
    assert.strictEqual(t({ arch: 'x64' }), 'linux-x64-glibc');
    assert.strictEqual(t({ arch: 'arm64' }), 'linux-arm64-glibc');
    assert.strictEqual(t({ arch: 'arm', armVersion: '7' }), 'linux-armv7-glibc');
    assert.strictEqual(t({ arch: 'arm', armVersion: '6' }), 'linux-armv6-glibc');
    assert.strictEqual(t({ arch: 'x64', libc: 'musl' }), 'linux-x64-musl');
    // This machine: the libc Node reports, and the target built from it.
    assert.strictEqual(here.libc, 'glibc');
    assert.match(here.glibc, /^2\.\d+$/);
    assert.strictEqual(here.target, `linux-${process.arch}-glibc`);
  });

  it('loads the prebuild that matches, and the install step keeps it without compiling', function () {
    if (!fs.existsSync(builtAddon)) this.skip();
    const dir = pkg({ [here.target]: builtAddon, 'linux-arm64-glibc': Buffer.from('not this one') });
    const ins = node(['scripts/install.js'], { cwd: dir });
    assert.strictEqual(ins.status, 0, ins.stderr);
    assert.match(ins.stderr, new RegExp(`using the prebuilt addon prebuilds/${here.target}/fieldlink.node \\(glibc ${here.glibc.replace('.', '\\.')}`));
    assert.ok(!fs.existsSync(path.join(dir, 'build')), 'nothing was built');
    const r = node(['-e', "const a = require('./lib/native'); console.log(typeof a.NativePty, typeof a.setErrorFactory)"], { cwd: dir });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout.trim(), 'function function');
  });

  it('a prebuild that does not load falls through to the source build, which names what is missing', function () {
    const dir = pkg({ [here.target]: Buffer.from('\x7fELF but not really a shared object') });
    const r = node(['scripts/install.js'], { cwd: dir, env: { PATH: bareBin() } });
    assert.strictEqual(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`the prebuilt addon prebuilds/${here.target}/fieldlink.node does not load here \\(.*(invalid ELF header|file too short)`));
    assert.match(r.stderr, /building from source/);
    assert.match(r.stderr, /Missing: a C\+\+20 compiler \(g\+\+ 10 or later\); make; cmake 3\.18 or later; pkg-config/);
    // The lines name just what is missing (this machine has libserialport and Asio, scripts/setup.sh).
    assert.match(r.stderr, /Debian, Ubuntu, Raspberry Pi OS: {2}sudo apt-get install g\+\+ make cmake pkg-config\n/);
    assert.match(r.stderr, /Fedora, RHEL \(with EPEL\): {9}sudo dnf install gcc-c\+\+ make cmake pkgconf-pkg-config\n/);
    assert.match(r.stderr, /Alpine \(Node-RED's Docker image\): apk add g\+\+ make cmake pkgconf\n/);
    assert.match(r.stderr, /npm rebuild fieldlink --foreground-scripts/);
  });

  it('with no prebuild for the machine, the install step says so and builds from source', function () {
    const dir = pkg({ 'linux-s390x-glibc': Buffer.from('other') });
    const r = node(['scripts/install.js'], { cwd: dir, env: { PATH: bareBin() } });
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, new RegExp(`no prebuilt addon for ${here.target} \\(this package has: linux-s390x-glibc\\); building from source`));
  });

  it('at require time, the error names platform, arch, libc, glibc, Node.js and the fix, and only files in the package', function () {
    const dir = pkg({ [here.target]: Buffer.from('broken') });
    const r = node(['-e', "try { require('./lib/native') } catch (e) { console.log(e.code); console.log(e.message) }"], { cwd: dir });
    assert.strictEqual(r.status, 0, r.stderr);
    const [code, ...rest] = r.stdout.trim().split('\n');
    const msg = rest.join('\n');
    assert.strictEqual(code, 'FIELDLINK_NO_ADDON');
    assert.ok(msg.includes(`on linux-${process.arch}, glibc ${here.glibc}, Node.js ${process.version} (Node-API ${process.versions.napi})`), msg);
    assert.match(msg, new RegExp(`prebuilt prebuilds/${here.target}/fieldlink.node: .*(invalid ELF header|file too short)`));
    assert.match(msg, new RegExp(`Prebuilt addons in this package: ${here.target} \\(this machine needs ${here.target}\\)`));
    assert.match(msg, /sudo apt-get install g\+\+ make cmake pkg-config libserialport-dev libasio-dev\n/);
    assert.match(msg, /npm rebuild fieldlink --foreground-scripts/);
    assert.match(msg, /npm install-scripts approve fieldlink/);
    assert.doesNotMatch(msg, /scripts\/setup\.sh|npm run build/);
    // Every file of the package the message points at is in the package.
    for (const m of msg.matchAll(/(?:^|\s)((?:prebuilds|build|lib|docs)\/[\w./-]+|README\.md)/g)) {
      assert.ok(fs.existsSync(path.join(dir, m[1])), `the message names ${m[1]}, which is not in the package`);
    }
  });

  it('says when glibc is older than the prebuilds need', function () {
    const info = target.describe({ platform: 'linux', arch: 'arm', armVersion: '7', libc: 'glibc', glibc: '2.28', node: 'v20.11.0', napi: '9' });
    const msg = target.loadErrorMessage(info, [{ kind: 'prebuilt', file: '/x/prebuilds/linux-armv7-glibc/fieldlink.node', error: "version `GLIBC_2.29' not found" }], '/x');
    assert.match(msg, /on linux-arm \(ARMv7\), glibc 2\.28, Node\.js v20\.11\.0 \(Node-API 9\)/);
    assert.match(msg, /need glibc 2\.31 or later .*this system has 2\.28/);
    assert.match(msg, /prebuilt prebuilds\/linux-armv7-glibc\/fieldlink\.node: version `GLIBC_2\.29' not found/);
    const musl = target.loadErrorMessage(target.describe({ platform: 'linux', arch: 'x64', libc: 'musl' }), [], '/x');
    assert.match(musl, /musl libc/);
    assert.match(musl, /this machine needs linux-x64-musl/);
    assert.match(musl, /apk add g\+\+ make cmake pkgconf libserialport-dev asio-dev linux-headers/);
  });
});
