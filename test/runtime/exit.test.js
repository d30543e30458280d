'use strict';
// A process that has loaded fieldlink ends as soon as its own work is done, on whichever Node
// line runs this file (the test command runs it on Node 20, 22, 24 and 26). Each scenario is a
// child process (test/support/exit-child.js) against simulators served from here; it prints
// "mark <ms>" when its work is done, and the time from there to its exit is compared with a
// plain Node script that does nothing (the baseline: V8 and Node's own teardown).
//
// A hang (Node 24/26 deadlocked in the addon's finalizer) fails every attempt. Scheduling noise
// on a busy machine does not: a timing check passes when one of up to three attempts does.
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ModbusSimulator, servePty: serveModbusPty } = require('../../lib/sim/modbus');
const { M307Simulator, serveTcp } = require('../../lib/sim/m307');
const { MateSimulator, servePty: serveMatePty } = require('../../lib/sim/mate');

const ROOT = path.join(__dirname, '..', '..');
const CHILD = path.join(ROOT, 'test', 'support', 'exit-child.js');
const CLI = path.join(ROOT, 'bin', 'fieldlink.js');
const HANG_MS = 10000; // a child still alive this long after its mark is hung
const IDLE_MARGIN_MS = 100; // the bound for an idle process, over the baseline
const ATTEMPTS = 3;

/**
 * Runs a child; resolves { code, signal, stdout, stderr, markAt, exitAt, reports, lastOutputAt }.
 * `onLine(line, child)` sees each stdout line as it arrives.
 */
function run(args, { env = {}, onLine, killAfterMark = HANG_MS } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const res = { stdout: '', stderr: '', markAt: null, exitAt: null, lastOutputAt: null, reports: [], hung: false };
    let pending = '';
    let hangTimer = null;
    const armHang = () => {
      if (!hangTimer) hangTimer = setTimeout(() => { res.hung = true; child.kill('SIGKILL'); }, killAfterMark);
    };
    child.stdout.on('data', (d) => {
      res.lastOutputAt = Date.now();
      res.stdout += d;
      pending += d;
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        const m = /^mark (\d+)$/.exec(line);
        if (m) {
          res.markAt = Number(m[1]);
          armHang();
        }
        if (line.startsWith('report ')) res.reports.push(JSON.parse(line.slice(7)));
        if (onLine) onLine(line, child, armHang);
      }
    });
    child.stderr.on('data', (d) => { res.stderr += d; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      res.exitAt = Date.now();
      clearTimeout(hangTimer);
      res.code = code;
      res.signal = signal;
      // stdout may still hold the last lines: wait for the streams to end.
      child.stdout.once('close', () => resolve(res));
      if (child.stdout.closed) resolve(res);
    });
  });
}

const latency = (r) => r.exitAt - r.markAt;

let baselineMs = null;
async function baseline() {
  if (baselineMs === null) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(latency(await run([CHILD, 'baseline'])));
    runs.sort((a, b) => a - b);
    baselineMs = runs[1];
  }
  return baselineMs;
}

/** Runs a scenario up to ATTEMPTS times until `check` passes; returns the last result. */
async function scenario(name, env, check) {
  let last;
  let lastErr;
  for (let i = 0; i < ATTEMPTS; i++) {
    last = await run([CHILD, name], { env });
    assert.ok(!last.hung, `${name}: still running ${HANG_MS} ms after its work was done (hung at exit)\n${last.stderr}`);
    assert.ok(last.markAt, `${name}: never finished its work (exit ${last.code}/${last.signal})\n${last.stderr}`);
    try {
      check(last);
      return last;
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

describe(`runtime: the process ends by itself (Node ${process.versions.node})`, function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-exit-'));
  const served = [];
  let sims;
  let m307srv;

  before(async function () {
    const modbus = await serveModbusPty(new ModbusSimulator({ units: [{ address: 1, temperature: 21.5, humidity: 40, drift: false }] }), { link: path.join(tmp, 'modbus') });
    const modbus2 = await serveModbusPty(new ModbusSimulator({ units: [{ address: 1, temperature: 7.5, humidity: 60, drift: false }] }), { link: path.join(tmp, 'modbus2') });
    const m307sim = new M307Simulator({ logRecords: 10 });
    m307sim.setReading('temp1', 4.2);
    m307srv = await serveTcp(m307sim, { port: 0 });
    const mate = await serveMatePty(new MateSimulator({ preset: 'capture' }), { link: path.join(tmp, 'mate') });
    served.push(modbus, modbus2, m307srv, mate);
    sims = { modbus: modbus.link, modbus2: modbus2.link, m307: m307srv.port, mate: mate.link };
  });

  after(async function () {
    for (const s of served) await s.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const env = () => ({ FIELDLINK_EXIT_SIMS: JSON.stringify(sims) });

  it('loading fieldlink and doing nothing: exits within 100 ms of a plain script', async function () {
    const base = await baseline();
    const r = await scenario('idle', env(), (x) => {
      assert.strictEqual(x.code, 0, x.stderr);
      assert.ok(latency(x) <= base + IDLE_MARGIN_MS, `exit took ${latency(x)} ms after the work (plain script: ${base} ms)`);
    });
    this.test.title += ` (${latency(r)} ms; plain ${base} ms)`;
  });

  it('with a Modbus bus, an M307 connection and a MATE bus open and idle: exits within 100 ms', async function () {
    const base = await baseline();
    const r = await scenario('open-idle', env(), (x) => {
      assert.strictEqual(x.code, 0, x.stderr);
      assert.ok(latency(x) <= base + IDLE_MARGIN_MS, `exit took ${latency(x)} ms with idle links open (plain script: ${base} ms)`);
    });
    assert.deepStrictEqual(r.reports[0], { temperature: 21.5, status: 4.2, devices: r.reports[0].devices });
    assert.ok(r.reports[0].devices >= 3, `MATE scan found ${r.reports[0].devices} devices`);
    this.test.title += ` (${latency(r)} ms)`;
  });

  it('reads a Modbus sensor, an M307 status and a MATE scan, closes them, and exits within 100 ms of the last close', async function () {
    const base = await baseline();
    const r = await scenario('read-close', env(), (x) => {
      assert.strictEqual(x.code, 0, x.stderr);
      assert.ok(latency(x) <= base + IDLE_MARGIN_MS, `exit took ${latency(x)} ms after the last close (plain script: ${base} ms)`);
    });
    assert.strictEqual(r.reports[0].temperature, 21.5);
    assert.strictEqual(r.reports[0].status, 4.2);
    this.test.title += ` (${latency(r)} ms)`;
  });

  it('an uncaught error with links open ends the process at once, with exit code 1', async function () {
    const base = await baseline();
    const r = await scenario('uncaught', env(), (x) => {
      assert.strictEqual(x.code, 1, `exit code ${x.code}/${x.signal}`);
      assert.match(x.stderr, /an uncaught error with three links open/);
      assert.ok(latency(x) <= base + IDLE_MARGIN_MS, `exit took ${latency(x)} ms after the throw (plain script: ${base} ms)`);
    });
    this.test.title += ` (${latency(r)} ms)`;
  });

  it('worker threads that load the addon and end (closed or not) leave no engine thread and no fd behind', async function () {
    const r = await scenario('workers', env(), (x) => {
      assert.strictEqual(x.code, 0, x.stderr);
    });
    const rep = r.reports[0];
    assert.strictEqual(rep.before.engines, 0);
    for (const w of rep.results) {
      assert.strictEqual(w.code, 0, JSON.stringify(w));
      assert.strictEqual(w.messages[0].temperature, 21.5);
    }
    assert.strictEqual(rep.after.engines, 0, 'the engine thread outlived the last worker that used it');
    assert.strictEqual(rep.after.fds, rep.before.fds, `link descriptors before ${rep.before.fds}, after ${rep.after.fds}`);
    assert.strictEqual(m307srv.connections(), 0, 'the M307 simulator still has a connection from an ended worker');
  });

  it('a worker that ends with its links open closes them on the engine the main thread still uses', async function () {
    const r = await scenario('worker-alongside', env(), (x) => assert.strictEqual(x.code, 0, x.stderr));
    const rep = r.reports[0];
    assert.strictEqual(rep.result.code, 0);
    assert.strictEqual(rep.engines, 1);
    assert.strictEqual(rep.fdsAfter, rep.fdsBefore, `the worker left ${rep.fdsAfter - rep.fdsBefore} link descriptors open`);
    assert.strictEqual(rep.temperature, 7.5);
    assert.strictEqual(m307srv.connections(), 0);
  });

  it('terminating a worker while its request waits on a silent device (no unit 9 on its bus) does not hang or crash', async function () {
    const r = await scenario('worker-terminate', env(), (x) => assert.strictEqual(x.code, 0, x.stderr));
    assert.strictEqual(r.reports[0].code, 1); // worker.terminate() resolves with exit code 1
    assert.strictEqual(r.reports[0].engines, 1); // the main thread still holds the engine
  });

  describe('the CLI', function () {
    it('`fieldlink m307 status` ends as soon as it has printed', async function () {
      const base = await baseline();
      let r;
      for (let i = 0; i < ATTEMPTS; i++) {
        r = await run([CLI, 'm307', 'status', '--host', '127.0.0.1', '--port', String(m307srv.port)]);
        assert.strictEqual(r.code, 0, r.stderr);
        if (r.exitAt - r.lastOutputAt <= base + IDLE_MARGIN_MS) break;
      }
      assert.match(r.stdout, /4\.2/);
      assert.ok(r.exitAt - r.lastOutputAt <= base + IDLE_MARGIN_MS, `exited ${r.exitAt - r.lastOutputAt} ms after its output`);
    });

    for (const signal of ['SIGINT', 'SIGTERM']) {
      for (const [family, args] of [['m307', ['--port', '0']], ['modbus', ['--pty', null]], ['mate', ['--pty', null]]]) {
        it(`\`fieldlink simulate ${family}\` stops within 1 s of ${signal}`, async function () {
          const a = args.map((x) => (x === null ? path.join(tmp, `cli-${family}-${signal}`) : x));
          let signalledAt = 0;
          const r = await run([CLI, 'simulate', family, ...a], {
            onLine: (line, child, armHang) => {
              if (!signalledAt && /press Ctrl-C/.test(line)) {
                signalledAt = Date.now();
                armHang();
                child.kill(signal);
              }
            },
          });
          assert.ok(signalledAt, `the simulator never said it was ready:\n${r.stdout}\n${r.stderr}`);
          assert.ok(!r.hung, `still running ${HANG_MS} ms after ${signal}`);
          assert.ok(r.code === 0 || r.code === 130 || r.code === 143, `exit ${r.code}/${r.signal}\n${r.stderr}`);
          assert.ok(r.exitAt - signalledAt < 1000, `stopped ${r.exitAt - signalledAt} ms after ${signal}`);
        });
      }
    }
  });
});
