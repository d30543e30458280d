'use strict';
// The "fieldlink to Home Assistant" node (fieldlink-ha) in the three example flows
// (examples/ha-*.json), run under node-red-node-test-helper with Node-RED's own mqtt nodes
// against a real Mosquitto and the simulators over their real transports. An mqtt.js
// subscriber checks what Home Assistant would see. The flows are loaded as shipped; only the
// broker port and the device addresses are pointed at this test's broker and simulators.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const helper = require('node-red-node-test-helper');
const { coreNode } = require('../support/node-red');

const { startBroker } = require('../support/mosquitto');
const { Subscriber, checkDiscovery } = require('../support/mqtt-helpers');
const { availabilityOf } = require('../../nodes/ha.js');
const { M307Simulator, serveTcp: serveM307 } = require('../../lib/sim/m307');
const { ModbusSimulator, servePty: serveModbus } = require('../../lib/sim/modbus');
const { MateSimulator, servePty: serveMate } = require('../../lib/sim/mate');

helper.init(require('../support/node-red').nodeRedRuntime());

const NODES = [
  require('../../nodes/ha.js'),
  require('../../nodes/modbus-bus.js'),
  require('../../nodes/modbus-sensor.js'),
  require('../../nodes/m307-device.js'),
  require('../../nodes/m307-status.js'),
  require('../../nodes/m307-config.js'),
  require('../../nodes/m307-log.js'),
  require('../../nodes/mate-bus.js'),
  require('../../nodes/mate-mx.js'),
  require('../../nodes/mate-fx.js'),
  require('../../nodes/mate-dc.js'),
  coreNode('network/10-mqtt.js'),
  coreNode('function/10-switch.js'),
  coreNode('common/25-catch.js'),
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-ha-'));
const example = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', name), 'utf8'));
const json = (m) => JSON.parse(m.text);

function load(flow) {
  return new Promise((resolve, reject) => helper.load(NODES, flow, (err) => (err ? reject(err) : resolve())));
}

/** The example with its broker on this test's port, polling faster; set(node) edits the rest. */
function adapt(flow, broker, set) {
  for (const n of flow) {
    if (n.type === 'mqtt-broker') n.port = String(broker.port);
    if (/^fieldlink-(modbus-sensor|m307-status|mate-(mx|fx|dc))$/.test(n.type)) n.interval = '0.3';
    set(n);
  }
  return flow;
}

describe('Node-RED: fieldlink to Home Assistant (example flows, real Mosquitto)', function () {
  this.timeout(30000);
  let broker;
  let sub;

  before(async function () {
    broker = await startBroker();
    sub = await Subscriber.connect(broker.url);
  });
  after(async function () {
    await helper.unload();
    if (sub) await sub.close();
    if (broker) await broker.close();
  });
  afterEach(async function () {
    await helper.unload();
  });

  it('reads availability in the documented formats', function () {
    assert.deepStrictEqual(availabilityOf({ availability: 'online' }), { online: true });
    assert.deepStrictEqual(availabilityOf({ availability: { state: 'offline', since: 's', reason: 'ETIMEDOUT' } }), { online: false, since: 's', reason: 'ETIMEDOUT', code: null });
    // The device nodes' own message (nodes/lib/availability.js) carries the error code on to the gateway rule.
    assert.strictEqual(availabilityOf({ topic: 'availability', payload: { state: 'offline', since: 's', reason: 'no reply', code: 'ETIMEDOUT' } }).code, 'ETIMEDOUT');
    assert.deepStrictEqual(availabilityOf({ topic: 'room1/availability', payload: 'offline' }), { online: false });
    assert.strictEqual(availabilityOf({ topic: 'room1', payload: { temperature: 1 } }), null);
  });

  it('examples/ha-modbus.json: discovery, states, availability from a Catch node, and re-announce on HA birth', async function () {
    const sim = new ModbusSimulator({ units: [{ address: 1, temperature: 19.5, humidity: 55.5, drift: false }, { address: 2, temperature: 4.5, humidity: 90, drift: false }] });
    const served = await serveModbus(sim, { link: path.join(tmp, 'ttyMB') });
    try {
      await load(adapt(example('ha-modbus.json'), broker, (n) => {
        if (n.type === 'fieldlink-modbus-bus') {
          n.serialPort = served.link;
          n.timeout = '150';
          n.retries = '0';
        }
      }));
      for (const id of ['room1', 'room2']) {
        const d = checkDiscovery(...Object.values(await sub.waitFor(`homeassistant/device/${id}/config`)).slice(0, 2));
        assert.deepStrictEqual(d.cfg.availability.map((a) => a.topic), ['fieldlink/gateway/nodered/availability', `fieldlink/${id}/availability`]);
      }
      assert.strictEqual((await sub.waitFor('fieldlink/gateway/nodered/availability')).text, 'online');
      const s1 = json(await sub.waitFor('fieldlink/room1/state'));
      assert.deepStrictEqual([s1.temperature, s1.humidity], [19.5, 55.5]);
      assert.strictEqual(json(await sub.waitFor('fieldlink/room2/state')).humidity, 90);
      assert.strictEqual((await sub.waitFor('fieldlink/room1/availability')).text, 'online');
      // A sensor that stops answering: its errors reach the Catch node, then the HA node.
      const off = sub.next('fieldlink/room2/availability', (m) => m.text === 'offline');
      sim.setFault(2, 'silent');
      await off;
      const on = sub.next('fieldlink/room2/availability', (m) => m.text === 'online', 25000);
      sim.clearFault(2);
      await on;
      // Availability as the device nodes may send it (msg.availability, or a topic ending in
      // /availability), and removal.
      const ha1 = helper.getNode('ha-modbus-ha1');
      const down = sub.next('fieldlink/room1/availability', (m) => m.text === 'offline');
      ha1.receive({ availability: { state: 'offline', since: new Date().toISOString(), reason: 'ETIMEDOUT' } });
      await down;
      const up = sub.next('fieldlink/room1/availability', (m) => m.text === 'online');
      ha1.receive({ topic: 'room-1/availability', payload: 'online' });
      await up;
      // Home Assistant restarts: its birth message makes both devices announce again.
      const again = ['room1', 'room2'].map((id) => sub.next(`homeassistant/device/${id}/config`));
      await sub.publish('homeassistant/status', 'online');
      await Promise.all(again);
      const removed = sub.next('homeassistant/device/room2/config', (m) => m.text === '');
      helper.getNode('ha-modbus-ha2').receive({ remove: true });
      await removed;
    } finally {
      await helper.unload();
      await served.close();
      sim.close();
    }
  });

  it('examples/ha-m307.json: binary sensors for doors and alarms; HA buttons set the clock and publish the log', async function () {
    const sim = new M307Simulator({ logRecords: 30 });
    sim.setReading('temp1', 2.5);
    sim.setDoor(1, 'open');
    const srv = await serveM307(sim, { port: 0 });
    try {
      await load(adapt(example('ha-m307.json'), broker, (n) => {
        if (n.type === 'fieldlink-m307-device') {
          n.port = String(srv.port);
          n.timeout = '1000';
        }
      }));
      const d = checkDiscovery(...Object.values(await sub.waitFor('homeassistant/device/coldroom/config')).slice(0, 2));
      assert.strictEqual(d.comps.door1Open.platform, 'binary_sensor');
      assert.strictEqual(d.comps.downloadLog.command_topic, 'fieldlink/coldroom/set/log');
      const st = json(await sub.waitFor('fieldlink/coldroom/state'));
      assert.deepStrictEqual([st.temperature1, st.door1Open, st.door2Open], [2.5, 'ON', 'OFF']);
      await sub.waitFor('fieldlink/coldroom/availability', (m) => m.text === 'online');
      // The flow's mqtt in node must be subscribed before the button is pressed: the broker logs it.
      await broker.waitLog(/fieldlink\/coldroom\/set\/#/);
      await sub.publish('homeassistant/status', 'online'); // re-announce on HA's birth
      await sub.next('homeassistant/device/coldroom/config');
      const log = sub.next('fieldlink/coldroom/log', (m) => json(m).last === true);
      await sub.publish('fieldlink/coldroom/set/log', 'PRESS');
      assert.strictEqual(json(await log).records.length, 30);
      // The Set clock button: the M307 config node stores the clock on the device.
      const stored = new Promise((resolve) => sim.on('request', (ev) => { if (ev.command === 'setClock') resolve(ev); }));
      await sub.publish('fieldlink/coldroom/set/clock', 'PRESS');
      assert.strictEqual((await stored).outcome, 'reply');
    } finally {
      await helper.unload();
      await srv.close();
    }
  });

  it('examples/ha-mate.json: MX, FX and DC, with energy for the Energy dashboard', async function () {
    const sim = new MateSimulator({ preset: 'capture' });
    const served = await serveMate(sim, { link: path.join(tmp, 'ttyMATE') });
    try {
      await load(adapt(example('ha-mate.json'), broker, (n) => {
        if (n.type === 'fieldlink-mate-bus') n.serialPort = served.link;
      }));
      const mx = checkDiscovery(...Object.values(await sub.waitFor('homeassistant/device/mx1/config')).slice(0, 2));
      assert.strictEqual(mx.comps.kilowattHours.state_class, 'total_increasing');
      const dc = checkDiscovery(...Object.values(await sub.waitFor('homeassistant/device/dc1/config')).slice(0, 2));
      assert.strictEqual(dc.comps.todayInKwh.device_class, 'energy');
      checkDiscovery(...Object.values(await sub.waitFor('homeassistant/device/fx1/config')).slice(0, 2));
      assert.deepStrictEqual([json(await sub.waitFor('fieldlink/mx1/state')).kilowattHours, json(await sub.waitFor('fieldlink/dc1/state')).stateOfCharge,
        json(await sub.waitFor('fieldlink/fx1/state')).acOutputVoltage], [2.1, 76, 230]);
      assert.strictEqual((await sub.waitFor('fieldlink/mx1/kilowattHours')).text, '2.1');
    } finally {
      await helper.unload();
      await served.close();
      sim.close();
    }
  });
});
