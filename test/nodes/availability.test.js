'use strict';
// Availability messages of the device nodes (issue 13): each node says by itself, on its last
// output, when its device stops answering and when it is back. The simulators are stopped
// (the pty / TCP server goes away) and started again on the same path / port; the waits
// follow the messages, never a fixed window.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const helper = require('node-red-node-test-helper');

const modbusSim = require('../../lib/sim/modbus');
const m307Sim = require('../../lib/sim/m307');
const mateSim = require('../../lib/sim/mate');

helper.init(require.resolve('node-red'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-avail-'));
let k = 0;
const newLink = () => path.join(tmp, `tty${++k}`);

function load(nodes, flow) {
  return new Promise((resolve, reject) => helper.load(nodes, flow, (err) => (err ? reject(err) : resolve())));
}

// Collects the messages a helper node receives; next(pred) resolves with the first match
// (also one that came earlier and was not taken yet).
function collect(node) {
  const seen = [];
  const waiters = [];
  node.on('input', (msg) => {
    seen.push(msg);
    for (const w of [...waiters]) {
      const i = seen.findIndex(w.pred);
      if (i >= 0) { waiters.splice(waiters.indexOf(w), 1); w.resolve(seen.splice(i, 1)[0]); }
    }
  });
  return {
    seen,
    next(pred, what, ms = 15000) {
      const i = seen.findIndex(pred);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(seen.map((m) => m.payload && m.payload.state))}`)), ms).unref();
      });
    },
  };
}

const isState = (state) => (m) => m.topic === 'availability' && m.payload && m.payload.state === state;

function checkShape(m, state, device) {
  assert.strictEqual(m.topic, 'availability');
  assert.strictEqual(m.payload.state, state);
  assert.ok(Math.abs(Date.now() - Date.parse(m.payload.since)) < 20000, m.payload.since);
  assert.strictEqual(m.payload.device, device);
  if (state === 'offline') {
    assert.ok(typeof m.payload.reason === 'string' && m.payload.reason.length > 0);
    assert.match(m.payload.code, /^E[A-Z]+$/);
  } else {
    assert.strictEqual(m.payload.reason, null);
    assert.strictEqual(m.payload.code, null);
  }
}

describe('device nodes: availability messages', function () {
  this.timeout(40000);
  beforeEach(function (done) { helper.startServer(done); });
  afterEach(async function () {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
  });

  it('modbus sensor: offline when the bus goes away, online when it is back; readings carry staleAt', async function () {
    const link = newLink();
    const sim = new modbusSim.ModbusSimulator({ units: [{ address: 1, temperature: 21.5, humidity: 40, drift: false }] });
    let served = await modbusSim.servePty(sim, { link });
    await load([require('../../nodes/modbus-bus.js'), require('../../nodes/modbus-sensor.js')], [
      { id: 'f1', type: 'tab' },
      { id: 'bus', type: 'fieldlink-modbus-bus', connectionType: 'serial', serialPort: link, baudRate: '9600', parity: 'none', dataBits: '8', stopBits: '1', timeout: '150', retries: '0', reconnectMinDelay: '100', reconnectMaxDelay: '300' },
      { id: 's1', type: 'fieldlink-modbus-sensor', z: 'f1', bus: 'bus', unit: '1', profile: 'xy-md02', interval: '0.2', topic: 'room/1', wires: [['out'], ['avail']] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'avail', type: 'helper', z: 'f1' },
    ]);
    const out = collect(helper.getNode('out'));
    const avail = collect(helper.getNode('avail'));
    try {
      checkShape(await avail.next(isState('online'), 'online'), 'online', 'room/1');
      const reading = await out.next((m) => m.payload && m.payload.temperature === 21.5, 'a reading');
      assert.ok(Date.parse(reading.staleAt) - Date.parse(reading.payload.timestamp) === 500, reading.staleAt);
      assert.strictEqual(out.seen.filter((m) => m.topic === 'availability').length, 0, 'availability on the readings output');
      await served.close(); // the simulator is gone
      checkShape(await avail.next(isState('offline'), 'offline'), 'offline', 'room/1');
      served = await modbusSim.servePty(sim, { link }); // back
      checkShape(await avail.next(isState('online'), 'online again'), 'online', 'room/1');
      await out.next((m) => m.payload && m.payload.temperature === 21.5, 'a reading after the restart');
    } finally {
      await served.close();
      sim.close();
    }
  });

  it('modbus sensor: a unit that stops answering (link still up) goes offline with ETIMEDOUT', async function () {
    const link = newLink();
    const sim = new modbusSim.ModbusSimulator({ units: [{ address: 1, drift: false }] });
    const served = await modbusSim.servePty(sim, { link });
    await load([require('../../nodes/modbus-bus.js'), require('../../nodes/modbus-sensor.js')], [
      { id: 'f1', type: 'tab' },
      { id: 'bus', type: 'fieldlink-modbus-bus', connectionType: 'serial', serialPort: link, baudRate: '9600', parity: 'none', dataBits: '8', stopBits: '1', timeout: '100', retries: '0', reconnectMinDelay: '100', reconnectMaxDelay: '300' },
      { id: 's1', type: 'fieldlink-modbus-sensor', z: 'f1', bus: 'bus', unit: '1', profile: 'xy-md02', interval: '0.2', topic: '', wires: [['out'], ['avail']] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'avail', type: 'helper', z: 'f1' },
      { id: 'c1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [[]] },
    ]);
    helper.getNode('s1').on('call:error', () => {});
    const avail = collect(helper.getNode('avail'));
    try {
      await avail.next(isState('online'), 'online');
      sim.setFault(1, 'silent');
      const off = await avail.next(isState('offline'), 'offline');
      checkShape(off, 'offline', 'modbus/1');
      assert.strictEqual(off.payload.code, 'ETIMEDOUT');
      sim.clearFaults();
      await avail.next(isState('online'), 'online again');
    } finally {
      await served.close();
      sim.close();
    }
  });

  it('m307 status: offline when the device server goes away, online when it is back', async function () {
    const sim = new m307Sim.M307Simulator({ drift: false });
    let srv = await m307Sim.serveTcp(sim, { port: 0 });
    const port = srv.port;
    await load([require('../../nodes/m307-device.js'), require('../../nodes/m307-status.js')], [
      { id: 'f1', type: 'tab' },
      { id: 'dev', type: 'fieldlink-m307-device', host: '127.0.0.1', port: String(port), timeout: '300', reconnectMinDelay: '100', reconnectMaxDelay: '300' },
      { id: 'st', type: 'fieldlink-m307-status', z: 'f1', device: 'dev', interval: '0.3', topic: 'coldroom', wires: [['out'], [], ['avail']] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'avail', type: 'helper', z: 'f1' },
    ]);
    helper.getNode('st').on('call:error', () => {});
    const avail = collect(helper.getNode('avail'));
    const out = collect(helper.getNode('out'));
    try {
      checkShape(await avail.next(isState('online'), 'online'), 'online', 'coldroom');
      const r = await out.next((m) => m.payload && m.payload.timestamp, 'a status');
      assert.ok(r.staleAt, 'no staleAt');
      await srv.close();
      checkShape(await avail.next(isState('offline'), 'offline'), 'offline', 'coldroom');
      srv = await m307Sim.serveTcp(sim, { port });
      checkShape(await avail.next(isState('online'), 'online again'), 'online', 'coldroom');
    } finally {
      await srv.close();
    }
  });

  it('mate dc: offline when the bus goes away, online when it is back', async function () {
    const link = newLink();
    const sim = new mateSim.MateSimulator();
    let served = await mateSim.servePty(sim, { link });
    await load([require('../../nodes/mate-bus.js'), require('../../nodes/mate-dc.js')], [
      { id: 'f1', type: 'tab' },
      { id: 'bus', type: 'fieldlink-mate-bus', serialPort: link, masterDuties: false, allowControl: false, timeout: '100', reconnectMinDelay: '100', reconnectMaxDelay: '300' },
      { id: 'dc', type: 'fieldlink-mate-dc', z: 'f1', bus: 'bus', port: 'auto', interval: '0.3', topic: 'battery', wires: [['out'], ['avail']] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'avail', type: 'helper', z: 'f1' },
    ]);
    helper.getNode('dc').on('call:error', () => {});
    const avail = collect(helper.getNode('avail'));
    try {
      checkShape(await avail.next(isState('online'), 'online'), 'online', 'battery');
      await served.close();
      checkShape(await avail.next(isState('offline'), 'offline'), 'offline', 'battery');
      served = await mateSim.servePty(sim, { link });
      checkShape(await avail.next(isState('online'), 'online again'), 'online', 'battery');
    } finally {
      await served.close();
      sim.close();
    }
  });
});
