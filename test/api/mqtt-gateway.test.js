'use strict';
// `fieldlink gateway` as a child process against a real Mosquitto (Debian's package, started
// here on an ephemeral loopback port with a generated config) and the three simulators over
// their real transports (M307 on TCP, Modbus RTU over TCP, MATE on a pseudo-terminal). An
// mqtt.js subscriber checks what Home Assistant would see. Every wait follows a message or a
// log line; the timeouts are only a safety net.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startBroker } = require('../support/mosquitto');
const { Subscriber, startGateway, checkDiscovery } = require('../support/mqtt-helpers');
const { M307Simulator, serveTcp: serveM307 } = require('../../lib/sim/m307');
const { ModbusSimulator, serveTcp: serveModbus } = require('../../lib/sim/modbus');
const { MateSimulator, servePty: serveMate } = require('../../lib/sim/mate');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-gw-'));
const json = (m) => JSON.parse(m.text);

describe('fieldlink gateway → Mosquitto → Home Assistant discovery', function () {
  this.timeout(30000);
  let broker;
  let m307;
  let m307Srv;
  let modbus;
  let modbusSrv;
  let mate;
  let mateSrv;
  let gw;
  let sub;
  let configFile;

  const DEVICES = ['coldroom', 'room1', 'room2', 'mx1', 'fx1', 'dc1'];

  before(async function () {
    broker = await startBroker();
    m307 = new M307Simulator({ logRecords: 40 });
    m307.setReading('temp1', 3.5);
    m307.setReading('temp2', -18.2);
    m307.setDoor(2, 'open');
    m307Srv = await serveM307(m307, { port: 0 });
    modbus = new ModbusSimulator({
      units: [
        { address: 1, temperature: 21.5, humidity: 40.2, drift: false },
        { address: 2, temperature: -5.5, humidity: 80.0, drift: false },
      ],
    });
    modbusSrv = await serveModbus(modbus, { port: 0 });
    mate = new MateSimulator({ preset: 'capture' });
    mateSrv = await serveMate(mate, { link: path.join(tmp, 'ttyMATE') });
    fs.writeFileSync(path.join(tmp, 'mqtt-password'), 'not-needed-by-this-broker\n');
    configFile = path.join(tmp, 'gateway.yaml');
    fs.writeFileSync(configFile, `
gateway:
  id: test-gw
mqtt:
  url: ${broker.url}
  username: fieldlink
  passwordFile: mqtt-password
  keepalive: 5
m307:
  - id: coldroom
    name: Cold room
    host: 127.0.0.1
    port: ${m307Srv.port}
    timeout: 1000
    interval: 0.3
modbus:
  - port: ${modbusSrv.url}
    timeout: 200
    interval: 0.3
    sensors:
      - { id: room1, unit: 1, name: Room 1 }
      - { id: room2, unit: 2 }
mate:
  - port: ${path.join(tmp, 'ttyMATE')}
    timeout: 200
    interval: 0.3
    devices:
      - { id: mx1, type: mx }
      - { id: fx1, type: fx }
      - { id: dc1, type: dc }
`);
    sub = await Subscriber.connect(broker.url);
    gw = startGateway(configFile);
    // Ready: every device has said online.
    await Promise.all(DEVICES.map((id) => sub.waitFor(`fieldlink/${id}/availability`, (m) => m.text === 'online', 20000)))
      .catch((err) => { throw new Error(`${err.message}\nbroker: ${broker.stderr.slice(-3000)}\ngateway: ${JSON.stringify(gw.lines.slice(-10))} ${gw.stderr}`); });
  });

  after(async function () {
    if (gw) await gw.kill('SIGTERM');
    if (sub) await sub.close();
    if (mateSrv) await mateSrv.close();
    if (mate) mate.close();
    if (modbusSrv) await modbusSrv.close();
    if (m307Srv) await m307Srv.close();
    if (broker) await broker.close();
  });

  it('announces every device with a discovery payload that has what Home Assistant requires', async function () {
    const seen = {};
    for (const id of DEVICES) {
      const m = await sub.waitFor(`homeassistant/device/${id}/config`);
      assert.strictEqual(m.retain, false, 'received live (the subscriber was there first)');
      seen[id] = checkDiscovery(m.topic, m.text);
      assert.deepStrictEqual(seen[id].cfg.availability.map((a) => a.topic), ['fieldlink/gateway/test-gw/availability', `fieldlink/${id}/availability`]);
      assert.strictEqual(seen[id].cfg.availability_mode, 'all');
      for (const c of Object.values(seen[id].comps)) {
        if (c.platform !== 'button') assert.strictEqual(c.state_topic, `fieldlink/${id}/state`);
        else assert.strictEqual(c.state_topic, undefined, 'a button has no state topic');
      }
      assert.strictEqual(seen[id].cfg.origin.name, 'fieldlink');
    }
    const ids = Object.values(seen).flatMap((s) => Object.values(s.comps).map((c) => c.unique_id));
    assert.strictEqual(new Set(ids).size, ids.length, 'unique_id is unique across devices');
    // Energy dashboard: MX and DC energy as total_increasing kWh.
    assert.deepStrictEqual([seen.mx1.comps.kilowattHours.device_class, seen.mx1.comps.kilowattHours.state_class, seen.mx1.comps.kilowattHours.unit_of_measurement], ['energy', 'total_increasing', 'kWh']);
    for (const k of ['todayInKwh', 'todayOutKwh']) assert.strictEqual(seen.dc1.comps[k].state_class, 'total_increasing');
    // M307: doors and alarms are binary sensors; the clock and log are buttons.
    assert.strictEqual(seen.coldroom.comps.door1Open.platform, 'binary_sensor');
    assert.strictEqual(seen.coldroom.comps.door1Open.device_class, 'door');
    assert.strictEqual(seen.coldroom.comps.temperature1Alarm.device_class, 'problem');
    assert.strictEqual(seen.coldroom.comps.setClock.command_topic, 'fieldlink/coldroom/set/clock');
    assert.strictEqual(seen.room1.comps.temperature.unit_of_measurement, '°C');
    assert.strictEqual(seen.room1.comps.humidity.device_class, 'humidity');
    assert.strictEqual(seen.room1.dev.name, 'Room 1');
    // No MATE control without the double opt-in.
    assert.ok(!Object.values(seen.fx1.comps).some((c) => c.platform === 'select'));
    assert.strictEqual(sub.last('fieldlink/gateway/test-gw/availability').text, 'online');
  });

  it('publishes states that match the simulators', async function () {
    const room1 = json(await sub.waitFor('fieldlink/room1/state'));
    assert.strictEqual(room1.temperature, 21.5);
    assert.strictEqual(room1.humidity, 40.2);
    assert.ok(room1.seq >= 1 && typeof room1.t === 'number');
    assert.strictEqual(json(await sub.waitFor('fieldlink/room2/state')).temperature, -5.5);
    assert.strictEqual((await sub.waitFor('fieldlink/room1/humidity')).text, '40.2');
    const cold = json(await sub.waitFor('fieldlink/coldroom/state'));
    assert.strictEqual(cold.temperature1, 3.5);
    assert.strictEqual(cold.temperature2, -18.2);
    assert.strictEqual(cold.door2Open, 'ON');
    assert.strictEqual(cold.door1Open, 'OFF');
    const mx = json(await sub.waitFor('fieldlink/mx1/state'));
    assert.deepStrictEqual([mx.pvVoltage, mx.pvCurrent, mx.batteryVoltage, mx.kilowattHours, mx.chargerMode], [68, 4, 25.4, 2.1, 'bulk']);
    const fx = json(await sub.waitFor('fieldlink/fx1/state'));
    assert.deepStrictEqual([fx.acOutputVoltage, fx.acInputVoltage, fx.batteryVoltage, fx.acMode], [230, 6, 25.6, 'ac-use']);
    const dc = json(await sub.waitFor('fieldlink/dc1/state'));
    assert.deepStrictEqual([dc.stateOfCharge, dc.batteryVoltage, dc.shuntA.current, dc.minSocToday], [76, 25.6, -5.6, 71]);
    // A change on the simulator shows up in the next state.
    modbus.setValues(1, { temperature: 23.0, humidity: 41.0 });
    m307.setReading('temp1', 9.5); // above the factory upper limit? the alarm flag follows the device
    await sub.next('fieldlink/room1/state', (m) => json(m).temperature === 23);
    await sub.next('fieldlink/coldroom/state', (m) => json(m).temperature1 === 9.5);
  });

  it('re-announces everything when Home Assistant publishes online on homeassistant/status', async function () {
    const waits = DEVICES.map((id) => sub.next(`homeassistant/device/${id}/config`));
    const states = DEVICES.map((id) => sub.next(`fieldlink/${id}/availability`, (m) => m.text === 'online'));
    await sub.publish('homeassistant/status', 'online');
    for (const m of await Promise.all(waits)) checkDiscovery(m.topic, m.text);
    await Promise.all(states);
    await gw.waitLog((l) => l.event === 'announced' && l.why === 'homeassistant-birth');
  });

  it('sets the M307 clock and downloads its log on command; results on topics', async function () {
    const result = sub.next('fieldlink/coldroom/result/clock');
    await sub.publish('fieldlink/coldroom/set/clock', 'PRESS');
    assert.strictEqual(json(await result).ok, true, (await result).text);
    const last = sub.next('fieldlink/coldroom/log', (m) => json(m).last === true);
    await sub.publish('fieldlink/coldroom/set/log', 'PRESS');
    const parts = [];
    await last;
    for (const m of sub.messages) if (m.topic === 'fieldlink/coldroom/log') parts.push(json(m));
    const records = parts.flatMap((p) => p.records);
    assert.strictEqual(records.length, 40);
    assert.ok('temp1' in records[0] && 'datetime' in records[0]);
    assert.strictEqual(json(await sub.waitFor('fieldlink/coldroom/result/log')).records, 40);
    // A command a device does not have is refused, with the reason on the result topic.
    const bad = sub.next('fieldlink/coldroom/result/reboot');
    await sub.publish('fieldlink/coldroom/set/reboot', 'PRESS');
    assert.strictEqual(json(await bad).ok, false);
  });

  it('marks a device offline when its simulator stops and online when it is back', async function () {
    const port = m307Srv.port;
    const offline = sub.next('fieldlink/coldroom/availability', (m) => m.text === 'offline');
    await m307Srv.close();
    await offline.catch((err) => { throw new Error(`${err.message}\nbroker: ${broker.stderr.slice(-2000)}\ngateway: ${JSON.stringify(gw.lines.filter((l) => l.level !== 'debug').slice(-20))}`); });
    const log = await gw.waitLog((l) => l.event === 'availability' && l.device === 'coldroom' && l.state === 'offline');
    assert.ok(log.reason, 'the log names the reason');
    // The others stay online meanwhile.
    assert.strictEqual(sub.last('fieldlink/room1/availability').text, 'online');
    const online = sub.next('fieldlink/coldroom/availability', (m) => m.text === 'online', 25000);
    m307Srv = await serveM307(m307, { port });
    await online;
    await sub.next('fieldlink/coldroom/state', (m) => json(m).temperature1 === 9.5);
  });

  it('a Modbus sensor that stops answering goes offline; the rest of its bus stays online', async function () {
    const offline = sub.next('fieldlink/room2/availability', (m) => m.text === 'offline');
    modbus.setFault(2, 'silent');
    await offline;
    const room1 = sub.next('fieldlink/room1/state');
    await room1;
    assert.strictEqual(sub.last('fieldlink/room1/availability').text, 'online');
    const online = sub.next('fieldlink/room2/availability', (m) => m.text === 'online', 25000);
    modbus.clearFault(2);
    await online;
  });

  it('keeps the latest state while the broker restarts and publishes it again (nothing retained survives the restart)', async function () {
    await sub.close();
    sub = null;
    await broker.stop();
    await gw.waitLog((l) => l.event === 'mqtt-disconnected');
    // Readings change while the broker is away; the gateway holds only the latest.
    modbus.setValues(1, { temperature: 24.5, humidity: 42.5 });
    const heldFrom = gw.lines.length;
    await gw.waitLog((l) => l.event === 'state-held' && l.device === 'room1' && gw.lines.indexOf(l) > heldFrom);
    await gw.waitLog((l) => l.event === 'state-held' && l.device === 'room1' && gw.lines.indexOf(l) > heldFrom + 1);
    const connects = gw.lines.filter((l) => l.event === 'mqtt-connected').length;
    await broker.restart();
    await gw.waitLog((l) => l.event === 'mqtt-connected' && l.connects === connects + 1, 20000);
    sub = await Subscriber.connect(broker.url);
    // A subscriber that arrives after the reconnect finds every device's retained state,
    // discovery and availability (the broker kept nothing across the restart).
    for (const id of DEVICES) {
      await sub.waitFor(`homeassistant/device/${id}/config`);
      await sub.waitFor(`fieldlink/${id}/state`);
      await sub.waitFor(`fieldlink/${id}/availability`, (m) => m.text === 'online');
    }
    const st = json(await sub.waitFor('fieldlink/room1/state', (m) => json(m).temperature === 24.5));
    assert.strictEqual(st.humidity, 42.5);
    assert.strictEqual(sub.last('fieldlink/gateway/test-gw/availability').text, 'online');
  });

  it('the broker publishes the last will (gateway offline, retained) when the gateway is killed with SIGKILL', async function () {
    const will = sub.next('fieldlink/gateway/test-gw/availability', (m) => m.text === 'offline');
    const r = await gw.kill('SIGKILL');
    gw = null;
    assert.strictEqual(r.signal, 'SIGKILL');
    await will;
    // Retained: a later subscriber sees the gateway offline, so HA shows every entity unavailable.
    const late = await Subscriber.connect(broker.url, ['fieldlink/gateway/test-gw/availability']);
    try {
      const m = await late.waitFor('fieldlink/gateway/test-gw/availability');
      assert.strictEqual(m.text, 'offline');
      assert.strictEqual(m.retain, true);
    } finally {
      await late.close();
    }
  });

  it('exits 0 on SIGTERM after publishing the gateway offline', async function () {
    const g = startGateway(configFile);
    try {
      await sub.next('fieldlink/gateway/test-gw/availability', (m) => m.text === 'online');
      const offline = sub.next('fieldlink/gateway/test-gw/availability', (m) => m.text === 'offline');
      const r = await g.kill('SIGTERM');
      assert.deepStrictEqual(r, { code: 0, signal: null });
      await offline;
      assert.ok(g.lines.some((l) => l.event === 'stopped'));
      for (const l of g.lines) assert.ok(l.ts && l.level && l.event, `every log line is JSON with ts, level, event: ${JSON.stringify(l)}`);
    } finally {
      await g.kill('SIGKILL');
    }
  });
});
