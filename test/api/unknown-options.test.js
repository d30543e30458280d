'use strict';
// Typos must not pass silently: every call that takes options rejects an unknown key with
// ValidationError EINVAL naming it and suggesting the closest known one, before anything is
// opened or sent. Checked against the simulators over a real pty / TCP: nothing reaches them.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ModbusBus, M307Client, MateBus, errors, scanModbus, testM307, configureEngine } = require('../..');
const modbusSim = require('../../lib/sim/modbus');
const { M307Simulator, serveTcp } = require('../../lib/sim/m307');
const { MateSimulator, servePty: serveMatePty } = require('../../lib/sim/mate');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-opts-'));
let k = 0;
const newLink = () => path.join(tmp, `tty${++k}`);

async function rejectsTypo(promiseOrFn, key, suggestion) {
  const run = typeof promiseOrFn === 'function' ? (async () => promiseOrFn())() : promiseOrFn;
  const e = await run.then(() => null, (x) => x);
  assert.ok(e, `the typo "${key}" was accepted`);
  assert.ok(e instanceof errors.ValidationError, `expected ValidationError, got ${e.name}: ${e.message}`);
  assert.strictEqual(e.code, 'EINVAL', e.message);
  assert.match(e.message, new RegExp(`"${key}"`));
  if (suggestion) assert.match(e.message, new RegExp(`did you mean ${suggestion}\\?`));
  assert.strictEqual(e.argument, key);
}

describe('unknown option keys are rejected everywhere', function () {
  it('ModbusBus.open({ baudrate }) and bus.sensor(1, { profle }) / rawExchange: nothing opened or sent', async function () {
    const sim = new modbusSim.ModbusSimulator({ units: [{ address: 1, drift: false }] });
    const served = await modbusSim.servePty(sim, { link: newLink() });
    try {
      await rejectsTypo(ModbusBus.open(served.link, { baudrate: 19200 }), 'baudrate', 'baudRate');
      await rejectsTypo(ModbusBus.open(served.link, { timout: 100 }), 'timout', 'timeout');
      const bus = await ModbusBus.open(served.link, { timeout: 200 });
      try {
        const before = sim.stats ? JSON.stringify(sim.stats) : null;
        await rejectsTypo(() => bus.sensor(1, { profle: 'xy-md02' }), 'profle', 'profile');
        await rejectsTypo(() => bus.rawExchange(null, { timeoutMS: 10 }), 'timeoutMS', 'timeoutMs');
        if (before !== null) assert.strictEqual(JSON.stringify(sim.stats), before, 'bytes reached the simulator');
        assert.strictEqual((await bus.stats()).requests, 0);
        // Known keys still work.
        const s = bus.sensor(1, { profile: 'xy-md02' });
        assert.strictEqual(typeof (await s.readTemperature()), 'number');
      } finally {
        await bus.close();
      }
    } finally {
      await served.close();
    }
  });

  it('M307Client.connect({ prot }) rejects before connecting (no misleading EBUSY); readLog/setDeviceSettings too', async function () {
    const sim = new M307Simulator({ logRecords: 5 });
    const srv = await serveTcp(sim, { port: 0 });
    let connections = 0;
    srv.server.on('connection', () => { connections += 1; });
    try {
      await rejectsTypo(M307Client.connect('127.0.0.1', { prot: srv.port }), 'prot', 'port');
      assert.strictEqual(connections, 0, 'a connection was made despite the typo');
      const m = await M307Client.connect('127.0.0.1', { port: srv.port, timeout: 1000 });
      try {
        await rejectsTypo(m.readLog({ onprogress: () => {} }), 'onprogress', 'onProgress');
        await rejectsTypo(m.setDeviceSettings({ buzzerEnable: true }), 'buzzerEnable', 'buzzerEnabled');
        await rejectsTypo(m.setDeviceInfo({ devicename: 'x' }), 'devicename', 'deviceName');
        assert.strictEqual((await m.readLog()).length, 5);
      } finally {
        await m.close();
      }
      await rejectsTypo(testM307('127.0.0.1', { prt: srv.port }), 'prt', 'port');
    } finally {
      await srv.close();
    }
  });

  it('MateBus.open({ allowcontrol }) and bus.scan({ firmwre }) are rejected', async function () {
    const sim = new MateSimulator();
    const served = await serveMatePty(sim, { link: newLink() });
    try {
      await rejectsTypo(MateBus.open(served.link, { allowcontrol: true }), 'allowcontrol', 'allowControl');
      const bus = await MateBus.open(served.link, { timeout: 100 });
      try {
        await rejectsTypo(bus.scan({ firmwre: true }), 'firmwre', 'firmware');
        assert.ok((await bus.scan()).length >= 1);
      } finally {
        await bus.close();
      }
    } finally {
      await served.close();
      sim.close();
    }
  });

  it('scanModbus({ unit }) and configureEngine({ spinMicro }) are rejected; a key far from all gets the list', async function () {
    await rejectsTypo(scanModbus(newLink(), { unit: '1' }), 'unit', 'units');
    await rejectsTypo(() => configureEngine({ spinMicro: 0 }), 'spinMicro', 'spinMicros');
    const e = await ModbusBus.open('/dev/null', { zzzzzzzz: 1 }).catch((x) => x);
    assert.strictEqual(e.code, 'EINVAL');
    assert.doesNotMatch(e.message, /did you mean/);
    assert.match(e.message, /known: baudRate/);
  });
});
