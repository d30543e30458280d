'use strict';
// scanModbus() and probeProfile() against the Modbus simulator on a pseudo-terminal: a known
// set of units across two baud rates (and nothing else), early stop, progress, cancellation
// with an AbortSignal, the profile auto-probe, and "fieldlink modbus scan".
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const fieldlink = require('../..');
const { ModbusBus, scanModbus, probeProfile, errors } = fieldlink;
const { parseUnits } = require('../../lib/diagnostics');
const { ModbusSimulator, servePty } = require('../../lib/sim/modbus');
const { main } = require('../../bin/fieldlink');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-scan-'));
let linkCounter = 0;
const newLink = () => path.join(tmp, `tty${++linkCounter}`);

// Five units: three at 9600, two at 19200, with different register maps (md02-red and
// sht3x-asia know only 2400/4800/9600).
const UNITS = [
  { address: 1, baudRate: 9600, temperature: 21.5, humidity: 45, drift: false },
  { address: 7, baudRate: 9600, profile: 'sht3x-asia', temperature: 24, humidity: 60, drift: false },
  { address: 9, baudRate: 9600, profile: 'md02-red', temperature: 4.25, humidity: 81.5, drift: false },
  { address: 3, baudRate: 19200, profile: 'xy-md02-x100', temperature: -18.25, humidity: 30, drift: false },
  { address: 12, baudRate: 19200, temperature: 30.5, humidity: 54.6, drift: false },
];

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function bench(units = UNITS) {
  const sim = new ModbusSimulator({ units });
  const served = await servePty(sim, { link: newLink() });
  return {
    sim,
    link: served.link,
    async close() {
      await served.close();
      sim.close();
    },
  };
}

function capture(extra = {}) {
  const out = [];
  const err = [];
  return {
    io: { stdout: { write: (s) => out.push(s) }, stderr: { write: (s) => err.push(s) }, env: {}, ...extra },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('scanModbus()', function () {
  let b;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(async () => {
    await b.close();
  });

  it('finds exactly the five units across 9600 and 19200 baud, and nothing else', async function () {
    const progress = [];
    const found = await scanModbus(b.link, { units: '1-16', baudRates: [9600, 19200], timeout: 100, onProgress: (p) => progress.push(p) });
    assert.deepStrictEqual(found.map((u) => [u.address, u.baudRate, u.parity]),
      [[1, 9600, 'none'], [7, 9600, 'none'], [9, 9600, 'none'], [3, 19200, 'none'], [12, 19200, 'none']]);
    // A unit whose map has no input register 1 still answers (with an exception): it is there.
    assert.deepStrictEqual(found.map((u) => u.answer), ['reply', 'exception', 'reply', 'reply', 'reply']);
    assert.strictEqual(found[1].exception, 2);
    assert.deepStrictEqual(found[0].registers, [215]);
    assert.strictEqual(progress.length, 32);
    assert.deepStrictEqual(progress.map((p) => p.done), Array.from({ length: 32 }, (_, i) => i + 1));
    assert.ok(progress.every((p) => p.total === 32));
    assert.strictEqual(progress[progress.length - 1].found, 5);
    // Every probe went to the bus: 16 addresses at each rate.
    assert.strictEqual(b.sim.stats.framesReceived, 32);
  });

  it('stops early after stopAfter units', async function () {
    const progress = [];
    const found = await scanModbus(b.link, { units: '1-16', baudRates: [9600, 19200], timeout: 100, stopAfter: 2, onProgress: (p) => progress.push(p) });
    assert.deepStrictEqual(found.map((u) => u.address), [1, 7]);
    assert.strictEqual(progress[progress.length - 1].done, 7);
    assert.strictEqual(b.sim.stats.framesReceived, 7);
    assert.ok(progress[progress.length - 1].done < progress[0].total);
  });

  it('skips a baud rate the OS cannot set (14400) and says so through onProgress', async function () {
    const skipped = [];
    const found = await scanModbus(b.link, { units: [1, 2, 3], baudRates: [14400, 19200], timeout: 100, onProgress: (p) => p.skipped && skipped.push(p.skipped) });
    assert.deepStrictEqual(found.map((u) => [u.address, u.baudRate]), [[3, 19200]]);
    assert.deepStrictEqual(skipped.map((s) => s.baudRate), [14400]);
  });

  it('the profile auto-probe names each unit\'s register map and reads it', async function () {
    const found = await scanModbus(b.link, { units: [1, 3, 7, 9, 12], baudRates: [9600, 19200], timeout: 100, profileProbe: true });
    const by = Object.fromEntries(found.map((u) => [u.address, u]));
    assert.strictEqual(by[1].profile, 'xy-md02');
    assert.deepStrictEqual(by[1].values, { temperature: 21.5, humidity: 45 });
    assert.deepStrictEqual(by[1].profiles[0].sameAs, ['xy-md02-sht40']);
    assert.strictEqual(by[9].profile, 'md02-red');
    assert.deepStrictEqual(by[9].values, { temperature: 4.25, humidity: 81.5 });
    assert.strictEqual(by[3].profile, 'xy-md02-x100');
    assert.deepStrictEqual(by[3].values, { temperature: -18.25, humidity: 30 });
    assert.strictEqual(by[7].profile, 'sht3x-asia');
    assert.deepStrictEqual(by[7].values, { temperature: 24, humidity: 60 });
    assert.strictEqual(by[12].profile, 'xy-md02');
    assert.deepStrictEqual(by[12].values, { temperature: 30.5, humidity: 54.6 });
    // ...but ÷100 (3.05 °C, 5.46 %RH) is possible too: the tie is marked, the commoner map first.
    assert.deepStrictEqual(by[12].profiles.filter((p) => p.ambiguous).map((p) => p.profile), ['xy-md02', 'xy-md02-x100']);
    assert.strictEqual(by[1].profiles[0].ambiguous, false);
    for (const u of found) assert.strictEqual(u.profiles[0].addressCheck, 'confirmed');
  });

  it('cancellation: abort() mid-scan rejects with AbortError and closes the port', async function () {
    const ac = new AbortController();
    let events = 0;
    const t0 = Date.now();
    await assert.rejects(
      scanModbus(b.link, {
        units: '1-247', baudRates: [9600, 19200], timeout: 40, signal: ac.signal,
        onProgress: () => {
          if (++events === 5) ac.abort();
        },
      }),
      (err) => err.name === 'AbortError',
    );
    assert.ok(Date.now() - t0 < 2000);
    assert.strictEqual(events, 5);
    // The port was closed: it opens again at once (the lock is gone).
    const bus = await ModbusBus.open(b.link, {});
    await bus.close();
  });

  it('cancellation: rejects with the signal\'s own reason, and sends nothing when already aborted', async function () {
    const reason = new Error('operator stop');
    const ac = new AbortController();
    setTimeout(() => ac.abort(reason), 100);
    await assert.rejects(scanModbus(b.link, { units: '1-247', timeout: 40, signal: ac.signal }), (err) => err === reason);
    b.sim.resetStats();
    await assert.rejects(scanModbus(b.link, { units: '1-5', signal: AbortSignal.abort() }), (err) => err.name === 'AbortError');
    assert.strictEqual(b.sim.stats.bytesReceived, 0);
  });

  it('validates its options', async function () {
    await assert.rejects(scanModbus(b.link, { units: '0-5' }), errors.ValidationError);
    await assert.rejects(scanModbus(b.link, { parities: ['mark'] }), errors.ValidationError);
    await assert.rejects(scanModbus(b.link, { baudRates: [] }), errors.ValidationError);
    assert.deepStrictEqual(parseUnits('1-3,7, 9-10'), [1, 2, 3, 7, 9, 10]);
    assert.strictEqual(b.sim.stats.bytesReceived, 0);
  });
});

describe('probeProfile()', function () {
  it('keeps the maps that read plausible values; flags the ones the bytes cannot tell apart', async function () {
    const b = await bench([
      { address: 1, temperature: 21.5, humidity: 45, drift: false },
      { address: 2, profile: 'wb-generic', temperature: 21.5, humidity: 45, drift: false },
    ]);
    const bus = await ModbusBus.open(b.link, { timeout: 100, offlineAfter: 0 });
    try {
      const one = await probeProfile(bus, 1);
      assert.strictEqual(one[0].profile, 'xy-md02');
      assert.strictEqual(one[0].ambiguous, false);
      assert.ok(one.every((p) => p.profile !== 'sht3x-asia' && p.profile !== 'wb-generic'));
      // ×10 read as ×100 is in range too, but less likely (0.45 %RH) and ranks below.
      const x100 = one.find((p) => p.profile === 'xy-md02-x100');
      assert.ok(x100 && x100.score < one[0].score);
      const two = await probeProfile(bus, 2);
      assert.deepStrictEqual(two.map((p) => p.profile).sort(), ['sht3x-asia', 'wb-generic']);
      assert.ok(two.every((p) => p.ambiguous));
      assert.deepStrictEqual(two.find((p) => p.profile === 'wb-generic').values, { temperature: 21.5, humidity: 45 });
      assert.deepStrictEqual(await probeProfile(bus, 9), []);
    } finally {
      await bus.close();
      await b.close();
    }
  });
});

describe('fieldlink modbus scan', function () {
  let b;
  beforeEach(async () => {
    b = await bench();
  });
  afterEach(async () => {
    await b.close();
  });

  it('prints a summary table of the units found, exit 0', async function () {
    const c = capture();
    const code = await main(['modbus', 'scan', '--port', b.link, '--units', '1-12', '--bauds', '9600,19200', '--timeout', '40', '--profile-probe'], c.io);
    assert.strictEqual(code, 0, c.err());
    const lines = c.out().trim().split('\n');
    assert.match(lines[0], /^address\s+baud\s+parity\s+answer\s+profile\s+temperature\s+humidity$/);
    assert.deepStrictEqual(lines.slice(2, 7).map((l) => l.split(/\s+/).slice(0, 2)), [['1', '9600'], ['7', '9600'], ['9', '9600'], ['3', '19200'], ['12', '19200']]);
    assert.match(c.out(), /7\s+9600\s+none\s+exception 2\s+sht3x-asia\s+24\s+60/);
    // 30.5 °C / 54.6 %RH read as ×100 is 3.05 °C / 5.46 %RH: possible, so the table says it cannot tell.
    assert.match(c.out(), /12\s+19200\s+none\s+reply\s+xy-md02 \(\?\)\s+30\.5\s+54\.6/);
    assert.match(lines[7], /^\(\?\) several profiles read plausible values/);
  });

  it('--json; nothing found exits 1; a usage error exits 2', async function () {
    const c = capture();
    assert.strictEqual(await main(['modbus', 'scan', '--port', b.link, '--units', '1-3', '--timeout', '40', '--json'], c.io), 0);
    assert.deepStrictEqual(JSON.parse(c.out()).map((u) => u.address), [1]);
    const none = capture();
    assert.strictEqual(await main(['modbus', 'scan', '--port', b.link, '--units', '20-22', '--timeout', '40'], none.io), 1);
    assert.match(none.out(), /no unit answered/);
    const bad = capture();
    assert.strictEqual(await main(['modbus', 'scan', '--port', b.link, '--units', 'x'], bad.io), 2);
    assert.strictEqual(await main(['modbus', 'probe'], capture().io), 2);
  });

  it('an interrupt prints what was found so far, exit 130', async function () {
    const ac = new AbortController();
    // Units 1, 7 and 9 answer within ~0.4 s; the 19200 pass starts only after ~10 s.
    setTimeout(() => ac.abort(), 800);
    const c = capture({ signal: ac.signal });
    const code = await main(['modbus', 'scan', '--port', b.link, '--units', '1-247', '--bauds', '9600,19200', '--timeout', '40'], c.io);
    assert.strictEqual(code, 130);
    assert.match(c.err(), /interrupted: 3 units found so far/);
    assert.match(c.out(), /^1\s+9600/m);
  });
});
