'use strict';
// The fault matrix: for each family, each fault the simulators can produce. Every case
// checks that the call fails with the right error class and code, and that the very next
// call succeeds on the same object once the fault is gone: recovery by itself, no reopen,
// nothing left pending in the queue.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ModbusBus, M307Client, MateBus, errors } = require('../..');
const modbusSim = require('../../lib/sim/modbus');
const m307Sim = require('../../lib/sim/m307');
const mateSim = require('../../lib/sim/mate');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-matrix-'));
let k = 0;
const link = () => path.join(tmp, `tty${++k}`);

async function expectError(promise, Cls, codes) {
  const e = await promise.then(() => null, (x) => x);
  assert.ok(e, `expected ${Cls.name} (${codes}), but the call succeeded`);
  assert.ok(e instanceof Cls, `expected ${Cls.name}, got ${e.name} ${e.code}: ${e.message}`);
  assert.ok(codes.includes(e.code), `expected one of ${codes}, got ${e.code}: ${e.message}`);
}

async function waitOpen(obj, ms = 3000) {
  const t0 = Date.now();
  while (obj.state !== 'open' && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 20));
  assert.strictEqual(obj.state, 'open');
}

describe('fault matrix: Modbus', function () {
  let sim;
  let served;
  let bus;
  const L = link();
  before(async function () {
    sim = new modbusSim.ModbusSimulator({ units: [{ address: 1, drift: false, temperature: 30.5, humidity: 54.6 }] });
    served = await modbusSim.servePty(sim, { link: L });
    bus = await ModbusBus.open(L, { timeout: 400, offlineAfter: 0, reconnectMinDelay: 50, reconnectMaxDelay: 200 });
  });
  after(async function () {
    await bus.close();
    await served.close();
  });
  afterEach(async function () {
    sim.clearFaults();
    assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546], 'no recovery after the fault');
    assert.strictEqual((await bus.stats()).queueDepth, 0);
  });

  const cases = [
    ['silence', 'silent', {}, errors.TimeoutError, ['ETIMEDOUT']],
    ['bad CRC', 'bad-crc', {}, errors.ProtocolError, ['ECHECKSUM']],
    ['short frame', 'short', {}, errors.ProtocolError, ['EFRAME']],
    ['garbage frame', 'garbage', {}, errors.ProtocolError, ['EFRAME', 'ECHECKSUM', 'EMISMATCH']],
    ['another unit answers', 'wrong-unit', {}, errors.ProtocolError, ['EMISMATCH']],
    ['noise on the line', 'noise', { rate: 1 }, errors.ProtocolError, ['ECHECKSUM', 'EFRAME']],
    ['A/B swapped (inverted bytes)', 'swapped-ab', {}, errors.ProtocolError, ['EFRAME', 'ECHECKSUM', 'EMISMATCH']],
    ['floating ground (0xFF)', 'floating-ground', {}, errors.ProtocolError, ['EFRAME', 'ECHECKSUM', 'EMISMATCH']],
  ];
  for (const [name, mode, opts, Cls, codes] of cases) {
    it(`${name}: ${Cls.name} ${codes.join('/')}, then recovers`, async function () {
      sim.setFault(1, mode, opts);
      await expectError(bus.readInputRegisters(1, 1, 2), Cls, codes);
    });
  }

  it('split reply (leading garbage, then the frame): succeeds', async function () {
    sim.setFault(1, 'leading-garbage', { count: 5 });
    assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
  });

  it('port unplugged mid-request and replugged: ConnectionError, then recovers by itself', async function () {
    sim.setFault(1, 'slow', { delayMs: 100 });
    const pending = bus.readInputRegisters(1, 1, 2).then(() => null, (e) => e);
    await new Promise((r) => setTimeout(r, 20));
    await served.close();
    const e = await pending;
    assert.ok(e instanceof errors.ConnectionError || e instanceof errors.TimeoutError, String(e));
    sim.clearFaults();
    served = await modbusSim.servePty(sim, { link: L });
    await waitOpen(bus);
  });
});

describe('fault matrix: M307', function () {
  let sim;
  let srv;
  let m;
  before(async function () {
    sim = new m307Sim.M307Simulator({ logRecords: 50 });
    srv = await m307Sim.serveTcp(sim, { port: 0 });
    m = await M307Client.connect('127.0.0.1', { port: srv.port, timeout: 300, reconnectMinDelay: 50, reconnectMaxDelay: 200 });
  });
  after(async function () {
    await m.close();
    await srv.close();
  });
  afterEach(async function () {
    sim.clearFault();
    await waitOpen(m);
    assert.ok((await m.readStatus()).temperatureUnit, 'no recovery after the fault');
  });

  it('silence: TimeoutError ETIMEDOUT, then recovers', async function () {
    sim.setFault('silent');
    await expectError(m.readStatus(), errors.TimeoutError, ['ETIMEDOUT']);
  });
  it('garbage reply: ProtocolError EFRAME, then recovers', async function () {
    sim.setFault('garbage');
    await expectError(m.readStatus(), errors.ProtocolError, ['EFRAME']);
  });
  it('split reply: reassembled', async function () {
    sim.setFault('split', { segment: 3 });
    assert.strictEqual((await m.readStatus()).temperatureResolution, 0.1);
  });
  it('connection lost mid-reply, every time: ConnectionError, then recovers', async function () {
    sim.setFault('drop', { afterBytes: 10 });
    await expectError(m.readStatus(), errors.ConnectionError, ['ECONNLOST', 'ENOTCONNECTED']);
  });
  it('connection lost mid-log: the download fails, the client recovers', async function () {
    sim.setFault('drop', { afterBytes: 200 });
    await expectError(m.readLog(), errors.ConnectionError, ['ECONNLOST', 'ENOTCONNECTED']);
  });
  it('device restart (server gone, then back on the same port): recovers by itself', async function () {
    const port = srv.port;
    await srv.close();
    await expectError(m.readStatus(), errors.ConnectionError, ['ECONNLOST', 'ENOTCONNECTED']);
    srv = await m307Sim.serveTcp(sim, { port });
  });
});

describe('fault matrix: MATE', function () {
  let sim;
  let served;
  let bus;
  const L = link();
  before(async function () {
    sim = new mateSim.MateSimulator({ preset: 'capture' });
    served = await mateSim.servePty(sim, { link: L });
    bus = await MateBus.open(L, { timeout: 200, retries: 0, reconnectMinDelay: 50, reconnectMaxDelay: 200 });
  });
  after(async function () {
    await bus.close();
    await served.close();
  });
  afterEach(async function () {
    sim.clearFault();
    await waitOpen(bus);
    assert.strictEqual((await bus.mx(1).getStatus()).batteryVoltage, 25.4, 'no recovery after the fault');
  });

  const cases = [
    ['silence', 'silent', {}, errors.TimeoutError, ['ETIMEDOUT']],
    ['bad checksum', 'bad-checksum', {}, errors.ProtocolError, ['ECHECKSUM']],
    ['slow reply', 'slow', { delayMs: 300 }, errors.TimeoutError, ['ETIMEDOUT']],
    ['invalid command', 'invalid-command', {}, errors.DeviceError, ['EREJECTED']],
  ];
  for (const [name, mode, opts, Cls, codes] of cases) {
    it(`${name}: ${Cls.name} ${codes.join('/')}, then recovers`, async function () {
      sim.setFault(1, mode, opts);
      await expectError(bus.mx(1).getStatus(), Cls, codes);
      await new Promise((r) => setTimeout(r, 350)); // a late reply of the slow case passes
    });
  }

  it('leading garbage (split frame): succeeds', async function () {
    sim.setFault(1, 'leading-garbage', { count: 6 });
    assert.strictEqual((await bus.mx(1).getStatus()).pvVoltage, 68);
  });

  it('adapter unplugged and replugged: ConnectionError, then recovers by itself', async function () {
    await served.close();
    await new Promise((r) => setTimeout(r, 60));
    await expectError(bus.mx(1).getStatus(), errors.ConnectionError, ['ECONNLOST', 'ENOTCONNECTED']);
    served = await mateSim.servePty(sim, { link: L });
  });
});

// "Nothing leaks": many faults in a row leave no file descriptor or libuv handle behind, and
// nothing in the queue. The counts are taken after one warm-up cycle, so only growth counts.
// (Native memory is covered by LeakSanitizer on the Catch2 suite, npm run test:asan, and by
// the soak in bench/.)
describe('fault matrix: nothing left behind after many faults', function () {
  this.timeout(60000);
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  // Runs warmUp(), counts fds and libuv resources, runs the cycles, and checks the counts.
  async function expectNothingLeft(warmUp, cycles) {
    await warmUp();
    const fd0 = fds();
    const res0 = resources();
    await cycles();
    assert.strictEqual(fds(), fd0, 'file descriptors left open');
    assert.strictEqual(resources(), res0, `libuv resources left: ${process.getActiveResourcesInfo().join(', ')}`);
  }

  it('Modbus: 20 unplug/replug cycles and 100 faulted requests; fds and handles come back', async function () {
    const L2 = link();
    const sim = new modbusSim.ModbusSimulator({ units: [{ address: 1, drift: false, temperature: 30.5, humidity: 54.6 }] });
    let served = await modbusSim.servePty(sim, { link: L2 });
    const bus = await ModbusBus.open(L2, { timeout: 60, offlineAfter: 0, reconnectMinDelay: 20, reconnectMaxDelay: 50 });
    const cycle = async () => {
      await served.close();
      await expectError(bus.readInputRegisters(1, 1, 2), errors.ConnectionError, ['ECONNLOST', 'ENOTCONNECTED']);
      served = await modbusSim.servePty(sim, { link: L2 });
      await waitOpen(bus);
      for (const fault of ['silent', 'bad-crc', 'short', 'garbage', 'wrong-unit']) {
        sim.setFault(1, fault, { times: 1 });
        await bus.readInputRegisters(1, 1, 2).catch(() => null);
      }
      assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
    };
    try {
      await expectNothingLeft(cycle, async () => {
        for (let i = 0; i < 20; i++) await cycle();
      });
      assert.strictEqual((await bus.stats()).queueDepth, 0);
    } finally {
      await bus.close();
      await served.close();
    }
  });

  it('M307: 30 connections dropped mid-reply and 5 mid-log; fds and handles come back', async function () {
    const sim = new m307Sim.M307Simulator({ logRecords: 200 });
    const srv = await m307Sim.serveTcp(sim, { port: 0 });
    const m = await M307Client.connect('127.0.0.1', { port: srv.port, timeout: 300, reconnectMinDelay: 20, reconnectMaxDelay: 50 });
    const drop = async (what) => {
      sim.setFault('drop', { afterBytes: what === 'log' ? 300 : 10, times: 1 });
      if (what === 'log') await expectError(m.readLog(), errors.ConnectionError, ['ECONNLOST', 'ENOTCONNECTED']);
      else await m.readStatus(); // the client retries once after the reconnect
      await waitOpen(m);
    };
    try {
      await expectNothingLeft(() => drop('status'), async () => {
        for (let i = 0; i < 30; i++) await drop('status');
        for (let i = 0; i < 5; i++) await drop('log');
        assert.strictEqual((await m.readLog()).length, 200);
      });
      assert.strictEqual((await m.stats()).retries >= 30, true);
    } finally {
      await m.close();
      await srv.close();
    }
  });

  it('MATE: 20 adapter unplug/replug cycles and 60 faulted commands; fds and handles come back', async function () {
    const L3 = link();
    const sim = new mateSim.MateSimulator({ preset: 'capture' });
    let served = await mateSim.servePty(sim, { link: L3 });
    const bus = await MateBus.open(L3, { timeout: 60, retries: 0, reconnectMinDelay: 20, reconnectMaxDelay: 50 });
    const cycle = async () => {
      await served.close();
      await new Promise((r) => setTimeout(r, 30));
      await expectError(bus.mx(1).getStatus(), errors.ConnectionError, ['ECONNLOST', 'ENOTCONNECTED']);
      served = await mateSim.servePty(sim, { link: L3 });
      await waitOpen(bus);
      for (const fault of ['silent', 'bad-checksum', 'invalid-command']) {
        sim.setFault(1, fault, { times: 1 });
        await bus.mx(1).getStatus().catch(() => null);
      }
      assert.strictEqual((await bus.mx(1).getStatus()).batteryVoltage, 25.4);
    };
    try {
      await expectNothingLeft(cycle, async () => {
        for (let i = 0; i < 20; i++) await cycle();
      });
    } finally {
      await bus.close();
      await served.close();
    }
  });
});
