'use strict';
// Helpers shared by the benchmarks: machine facts, load accounting, statistics, the C helpers'
// build, child processes that announce themselves with one line, and table printing.
// Benchmarks run on demand (npm run bench), never in CI.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');
const BENCH = path.join(__dirname, '..');
const BUILD = path.join(BENCH, '.build');
const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64 and arm64

// --- arguments -------------------------------------------------------------------------

/** Parses --name value and --flag; numbers become numbers. */
function parseArgs(argv, defaults = {}) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) {
      out[key] = true;
    } else {
      out[key] = /^-?\d+(\.\d+)?$/.test(next) ? Number(next) : next;
      i++;
    }
  }
  return out;
}

// --- machine ---------------------------------------------------------------------------

function machineFacts() {
  let cpuModel = 'unknown';
  try {
    const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1].trim();
  } catch { /* not Linux */ }
  let nproc = os.cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch { /* no coreutils */ }
  let addon = 'missing';
  try {
    const file = path.join(ROOT, 'build', 'Release', 'fieldlink.node');
    const sha = require('node:crypto').createHash('sha1').update(fs.readFileSync(file)).digest('hex').slice(0, 12);
    addon = `build/Release/fieldlink.node sha1 ${sha} built ${fs.statSync(file).mtime.toISOString()}`;
  } catch { /* not built */ }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch { /* not a checkout */ }
  return {
    nproc,
    cpuModel,
    node: process.version,
    kernel: os.release(),
    memTotalMB: Math.round(os.totalmem() / 2 ** 20),
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    commit,
    addon,
  };
}

function formatFacts(f) {
  return `nproc ${f.nproc}, CPU "${f.cpuModel}", node ${f.node}, kernel ${f.kernel}, RAM ${f.memTotalMB} MB, ` +
    `loadavg ${f.loadavg.join(' ')}; commit ${f.commit}, ${f.addon}`;
}

/** Busy CPU time of the whole machine so far, in seconds (all cores). */
function machineBusySeconds() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = line[0] + line[1] + line[2] + line[5] + line[6] + (line[7] || 0);
  return busy / CLK_TCK;
}

/**
 * Starts a load probe: call the returned function with the CPU seconds that the benchmark's
 * own processes used; it returns { elapsed, machineCores, othersCores }: the cores the rest of
 * the machine kept busy meanwhile (another job compiling shows up here).
 */
function loadProbe() {
  const t0 = process.hrtime.bigint();
  const b0 = machineBusySeconds();
  return (ownCpuSeconds = 0) => {
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    const busy = machineBusySeconds() - b0;
    return {
      elapsed,
      machineCores: busy / elapsed,
      othersCores: Math.max(0, (busy - ownCpuSeconds) / elapsed),
    };
  };
}

/** CPU seconds (user + system, all threads) of a live process, from /proc (10 ms ticks). */
function procCpuSeconds(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime stime (fields 14, 15)
  } catch {
    return 0;
  }
}

/** CPU seconds per thread of this process: [{ tid, name, cpu }]. */
function threadCpu(pid = process.pid) {
  const out = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.push({ tid: Number(tid), name, cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
    } catch { /* thread ended */ }
  }
  return out;
}

/** Per-thread CPU used between two threadCpu() snapshots, grouped by thread name. */
function threadCpuDelta(before, after) {
  const b = new Map(before.map((t) => [t.tid, t.cpu]));
  const byName = {};
  for (const t of after) {
    const d = t.cpu - (b.get(t.tid) || 0);
    if (d <= 0) continue;
    const name = t.tid === process.pid ? `${t.name} (JS main)` : t.name;
    byName[name] = (byName[name] || 0) + d;
  }
  return byName;
}

// --- statistics ------------------------------------------------------------------------

function median(xs) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (!a.length) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function fmt(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  return Number(x).toFixed(digits);
}

function pct(x, digits = 1) {
  return `${fmt(100 * x, digits)} %`;
}

/** Prints rows (arrays of strings) as an aligned text table with a header. */
function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const w = header.map((_, i) => Math.max(...all.map((r) => (r[i] || '').length)));
  const numeric = (x) => /^[-+]?[\d.]/.test(x) || x === 'n/a';
  const line = (r) => r.map((c, i) => (i > 0 && numeric(c) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

// --- the C helpers ---------------------------------------------------------------------

/**
 * Builds bench/native/*.c into bench/.build/ when a source is newer than its binary.
 * Needs gcc and libmodbus (Debian: apt-get install -y libmodbus-dev).
 */
function buildNative() {
  fs.mkdirSync(BUILD, { recursive: true });
  let flags;
  try {
    flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libmodbus'], { encoding: 'utf8' }).trim().split(/\s+/);
  } catch {
    throw new Error('libmodbus is missing: apt-get install -y libmodbus-dev (and pkg-config)');
  }
  const out = {};
  for (const name of ['mbslave', 'mbmaster']) {
    const src = path.join(BENCH, 'native', `${name}.c`);
    const bin = path.join(BUILD, name);
    const fresh = fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= fs.statSync(src).mtimeMs;
    if (!fresh) {
      execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', bin, src, ...flags, '-lutil'], { stdio: 'inherit' });
    }
    out[name] = bin;
  }
  return out;
}

function libmodbusVersion() {
  try {
    return execFileSync('pkg-config', ['--modversion', 'libmodbus'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// --- child processes -------------------------------------------------------------------

/**
 * Spawns a process that prints `readyPattern` on a line of stdout once it serves. Resolves to
 * { child, match, lines: all stdout lines so far (live), stop(signal) -> Promise<exit info> }.
 */
function startChild(cmd, args, { readyPattern = /^READY (.*)$/, timeoutMs = 10000, env, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: env || process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    let stderr = '';
    let buf = '';
    let ready = false;
    const timer = setTimeout(() => {
      if (!ready) {
        child.kill('SIGKILL');
        reject(new Error(`${path.basename(cmd)} did not get ready in ${timeoutMs} ms: ${stderr}`));
      }
    }, timeoutMs);
    const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        const m = !ready && line.match(readyPattern);
        if (m) {
          ready = true;
          clearTimeout(timer);
          resolve({
            child,
            match: m,
            lines,
            stderr: () => stderr,
            async stop(signal = 'SIGTERM') {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              const r = await exited;
              if (buf) lines.push(buf);
              return r;
            },
          });
        }
      }
    });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${path.basename(cmd)} exited (${code}) before it was ready: ${stderr}`));
      }
    });
  });
}

/** Runs a process to its end; resolves to the last JSON line it printed (throws otherwise). */
function runJson(cmd, args, { timeoutMs = 600000, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (code !== 0 || !line) {
        reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${code ?? signal}): ${err || out}`));
        return;
      }
      try {
        resolve(JSON.parse(line));
      } catch (e) {
        reject(new Error(`bad JSON from ${cmd}: ${line}`, { cause: e }));
      }
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = {
  ROOT,
  BENCH,
  BUILD,
  parseArgs,
  machineFacts,
  formatFacts,
  machineBusySeconds,
  loadProbe,
  procCpuSeconds,
  threadCpu,
  threadCpuDelta,
  median,
  percentile,
  fmt,
  pct,
  table,
  buildNative,
  libmodbusVersion,
  startChild,
  runJson,
  sleep,
};
