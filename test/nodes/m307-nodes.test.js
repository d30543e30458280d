'use strict';
// The M307 Node-RED nodes (fieldlink-m307-device / -status / -config / -log) under
// node-red-node-test-helper, against the JS M307 simulator over TCP: status output and
// alarm changes, the status dot, one shared connection (the device serves one client at a
// time), partial limit updates, the clock, log downloads in both modes with progress, errors
// at a Catch node, connect retries, and the connection released on redeploy.
const assert = require('node:assert');
const { collect, assertPolledEvery } = require('../support/messages');
const helper = require('node-red-node-test-helper');

const deviceNode = require('../../nodes/m307-device.js');
const statusNode = require('../../nodes/m307-status.js');
const configNode = require('../../nodes/m307-config.js');
const logNode = require('../../nodes/m307-log.js');
const catchNode = require('../support/node-red').coreNode('common/25-catch.js');
const pool = require('../../nodes/lib/m307-pool');
const { M307Client } = require('../..');
const { M307Simulator, serveTcp } = require('../../lib/sim/m307');

helper.init(require('../support/node-red').nodeRedRuntime());

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const MINUTE = 60 * 1000;

const { freePort } = require('../../scripts/lib/nodered');

/** Device config node settings for a port on 127.0.0.1. */
const deviceConfig = (port, extra = {}) => ({
  id: 'dev', type: 'fieldlink-m307-device', name: 'test M307', host: '127.0.0.1', port: String(port),
  timeout: '500', reconnectMinDelay: '100', reconnectMaxDelay: '400', ...extra,
});

/**
 * A flow: tab f1, device "dev", the given nodes (wired by their own `wires`), helper nodes
 * out/alarm/report/log and a Catch node wired to helper "caught".
 */
function makeFlow(port, nodes, { extra = [], device = {} } = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    deviceConfig(port, device),
    ...nodes.map((n) => ({ z: 'f1', device: 'dev', ...n })),
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'alarm', type: 'helper', z: 'f1' },
    { id: 'report', type: 'helper', z: 'f1' },
    { id: 'log', type: 'helper', z: 'f1' },
    { id: 'c1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    ...extra,
  ];
}

const statusNodeDef = (extra = {}) => ({ id: 'st', type: 'fieldlink-m307-status', interval: '0', topic: '', wires: [['out'], ['alarm']], ...extra });
const configNodeDef = (extra = {}) => ({ id: 'cfg', type: 'fieldlink-m307-config', wires: [['report']], ...extra });
const logNodeDef = (extra = {}) => ({ id: 'lg', type: 'fieldlink-m307-log', mode: 'single', reset: true, topic: '', wires: [['log']], ...extra });

function load(flow) {
  return new Promise((resolve, reject) => {
    helper.load([deviceNode, statusNode, configNode, logNode, catchNode], flow, (err) => (err ? reject(err) : resolve()));
  });
}

// Records every status a node shows; wait(pred) resolves with the first (also past) match.
function watchStatus(node) {
  const seen = [];
  const waiters = [];
  node.on('call:status', (call) => {
    const st = call.args[0];
    seen.push(st);
    for (const w of [...waiters]) {
      if (w.pred(st)) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(st);
      }
    }
  });
  return {
    seen,
    last: () => seen[seen.length - 1],
    wait(pred, ms = 4000, what = 'status') {
      const past = seen.find(pred);
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no ${what} within ${ms} ms; seen: ${JSON.stringify(seen)}`));
        }, ms);
        waiters.push(w);
      });
    },
  };
}

/** Counts what arrives at a helper node from now on. */
function counter(node) {
  const msgs = [];
  node.on('input', (m) => msgs.push(m));
  return msgs;
}

const connected = (st) => st.fill === 'green';

/** Sends msg to node `id`, resolves with the next message at helper `at`. */
async function ask(id, msg, at = 'out', ms = 4000) {
  const got = collect(helper.getNode(at), 1, ms);
  helper.getNode(id).receive(msg);
  return (await got)[0];
}

describe('Node-RED nodes: M307', function () {
  this.timeout(10000);
  let sim;
  let served;
  const closers = [];

  beforeEach(async function () {
    sim = new M307Simulator({ logRecords: 1200, logHistory: 'flat' });
    served = await serveTcp(sim, { port: 0 });
    await new Promise((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
    for (const c of closers.splice(0)) await c();
    if (served) await served.close();
    served = null;
    sim.close();
    assert.strictEqual(pool.linkCount(), 0, 'every shared connection was released');
  });

  it('status: output 1 is the status, JSON-safe; the dot shows both probes', async function () {
    await load(makeFlow(served.port, [statusNodeDef({ topic: 'cold-room' })]));
    const st = watchStatus(helper.getNode('st'));
    const alarms = counter(helper.getNode('alarm'));
    const before = Date.now();
    const m = await ask('st', { payload: 'tick', keep: 'me' });
    const p = m.payload;
    assert.strictEqual(m.topic, 'cold-room');
    assert.strictEqual(m.keep, 'me', 'the rest of the input message passes through');
    assert.deepStrictEqual(p.temperatureSensor1, { reading: 4.2, readingStatus: 'value', raw: 42, timeOutOfLimits: 0, inAlarm: false });
    assert.strictEqual(p.temperatureSensor2.reading, -18.5);
    assert.strictEqual(p.internalTemperature.reading, 22.3);
    assert.strictEqual(p.internalHumidity.reading, 45);
    assert.deepStrictEqual(p.door1, { state: 'closed', timeOutOfLimits: 0, inAlarm: false, raw: 1 });
    assert.strictEqual(p.mainPower, true);
    assert.strictEqual(p.batteryVoltage, 3.24);
    assert.strictEqual(p.temperatureUnit, 'C');
    assert.strictEqual(p.temperatureResolution, 0.1);
    assert.deepStrictEqual(p.alarms, []);
    assert.ok(Date.parse(p.timestamp) >= before - 5);
    assert.strictEqual((await st.wait((x) => x.shape === 'dot')).text, '4.2 °C / -18.5 °C');
    assert.strictEqual(st.last().fill, 'green');

    // Special values: null readings with a readingStatus saying why; nothing non-finite.
    sim.setReadings({ temp1: 'open', temp2: 'no-sensor', internal: 'shorted', humidity: 'failed' });
    sim.setDoor(2, 'open');
    sim.setPower(false);
    sim.setBattery(2.95);
    const q = (await ask('st', { payload: '' })).payload;
    assert.deepStrictEqual(
      ['temperatureSensor1', 'temperatureSensor2', 'internalTemperature', 'internalHumidity'].map((k) => [q[k].reading, q[k].readingStatus]),
      [[null, 'open-circuit'], [null, 'no-sensor'], [null, 'shorted'], [null, 'failed']],
    );
    assert.strictEqual(q.door2.state, 'open');
    assert.strictEqual(q.mainPower, false);
    assert.strictEqual(q.batteryVoltage, 2.95);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(q)), q, 'the payload survives JSON');
    assert.strictEqual(st.last().text, 'open circuit / no sensor');
    assert.strictEqual(alarms.length, 0, 'no alarm changed');
  });

  it('status: output 2 reports every alarm flag change; the dot turns into a red ALARM ring', async function () {
    sim.setReading('temp1', 30.0);
    sim.setLimits('temp1', { lower: -200, upper: 50, delay: 1 }); // raw: -20.0 .. 5.0 °C, 1 min
    sim.setName('temp1', 'Freezer');
    await load(makeFlow(served.port, [statusNodeDef()]));
    const st = watchStatus(helper.getNode('st'));
    const alarms = counter(helper.getNode('alarm'));

    let m = await ask('st', { payload: '' });
    assert.strictEqual(m.payload.temperatureSensor1.inAlarm, false, 'out of limits, but not for longer than the delay');
    assert.strictEqual(alarms.length, 0);

    sim.advance(2 * MINUTE);
    const gotAlarm = collect(helper.getNode('alarm'), 1);
    m = await ask('st', { payload: '' });
    const [a] = await gotAlarm;
    assert.strictEqual(a.topic, 'm307/alarm');
    assert.deepStrictEqual(a.payload, {
      input: 'temperatureSensor1', label: 'temp1', inAlarm: true, previous: false, reading: 30, readingStatus: 'value',
      timeOutOfLimits: a.payload.timeOutOfLimits, changed: ['temperatureSensor1'], timestamp: m.payload.timestamp,
    });
    assert.ok(a.payload.timeOutOfLimits >= 2, `minutes out of limits: ${a.payload.timeOutOfLimits}`);
    assert.deepStrictEqual(m.payload.alarms, ['temperatureSensor1']);
    assert.deepStrictEqual(st.last(), { fill: 'red', shape: 'ring', text: 'ALARM temp1' });

    // Unchanged flags: nothing on output 2.
    await ask('st', { payload: '' });
    assert.strictEqual(alarms.length, 1);

    // A door alarm comes up while the probe recovers: two messages, both naming both changes.
    sim.setName('door2', 'Back door');
    sim.setLimits('door2', { delay: 1 });
    sim.setDoor(2, 'open');
    sim.advance(2 * MINUTE);
    sim.setReading('temp1', 3.5);
    const two = collect(helper.getNode('alarm'), 2);
    await ask('st', { payload: '' });
    const changes = await two;
    const byInput = Object.fromEntries(changes.map((x) => [x.payload.input, x.payload]));
    assert.deepStrictEqual(Object.keys(byInput).sort(), ['door2', 'temperatureSensor1']);
    assert.strictEqual(byInput.temperatureSensor1.inAlarm, false);
    assert.strictEqual(byInput.temperatureSensor1.reading, 3.5);
    assert.strictEqual(byInput.door2.inAlarm, true);
    assert.strictEqual(byInput.door2.state, 'open');
    assert.strictEqual(byInput.door2.reading, null);
    for (const x of changes) assert.deepStrictEqual(x.payload.changed, ['temperatureSensor1', 'door2']);
    assert.deepStrictEqual(st.last(), { fill: 'red', shape: 'ring', text: 'ALARM door2' });

    sim.setDoor(2, 'closed');
    const cleared = collect(helper.getNode('alarm'), 1);
    await ask('st', { payload: '' });
    assert.deepStrictEqual((await cleared)[0].payload.changed, ['door2']);
    assert.deepStrictEqual(st.last(), { fill: 'green', shape: 'dot', text: '3.5 °C / -18.5 °C' });
  });

  it('status: polls on its interval, first right after connecting; an alarm present at start is reported', async function () {
    sim.setReading('temp2', -5);
    sim.setLimits('temp2', { lower: -300, upper: -150, delay: 0 });
    sim.setName('temp2', 'Freezer');
    sim.advance(MINUTE);
    await load(makeFlow(served.port, [statusNodeDef({ interval: '0.2' })]));
    const first = collect(helper.getNode('alarm'), 1);
    const msgs = await collect(helper.getNode('out'), 4);
    assertPolledEvery(msgs, 200);
    for (const m of msgs) assert.strictEqual(m.payload.temperatureSensor2.reading, -5);
    const [a] = await first;
    assert.strictEqual(a.payload.input, 'temperatureSensor2');
    assert.strictEqual(a.payload.previous, null, 'the first reading has nothing to compare with');
    assert.strictEqual(a.payload.inAlarm, true);
    assert.ok(sim.stats.byCommand.status >= 5);
  });

  it('every node naming the same host:port shares ONE connection (the device serves one client)', async function () {
    const flow = makeFlow(served.port, [
      statusNodeDef(),
      statusNodeDef({ id: 'st2', device: 'dev2', wires: [['out'], []] }),
      configNodeDef({ device: 'dev2' }),
      logNodeDef(),
    ], { extra: [deviceConfig(served.port, { id: 'dev2', name: 'same unit, second config node' })] });
    await load(flow);
    const got = collect(helper.getNode('out'), 2);
    helper.getNode('st').receive({ payload: '' });
    helper.getNode('st2').receive({ payload: '' });
    const msgs = await got;
    assert.deepStrictEqual(msgs.map((m) => m.payload.temperatureSensor1.reading), [4.2, 4.2]);
    const report = await ask('cfg', { payload: { settings: { alarmReminderDelay: 7 } } }, 'report');
    assert.strictEqual(report.payload.after.settings.alarmReminderDelay, 7);
    const log = await ask('lg', { payload: '' }, 'log');
    assert.strictEqual(log.payload.length, 1200);

    assert.strictEqual(sim.stats.connections, 1, 'the simulator accepted one connection');
    assert.strictEqual(sim.stats.refused, 0, 'and turned none away');
    assert.strictEqual(sim.clients(), 1);
    assert.strictEqual(pool.linkCount(), 1);
    assert.ok(helper.getNode('dev').client);
    assert.strictEqual(helper.getNode('dev').client, helper.getNode('dev2').client, 'both config nodes hold the same M307Client');
  });

  it('config: a partial limits update keeps every other field; names, settings and info in one message', async function () {
    sim.setLimits('temp1', { lower: -300, upper: 80, delay: 5 });
    sim.setLimits('temp2', { lower: -250, upper: -150, delay: 10 });
    sim.setLimits('door1', { delay: 3 });
    sim.setCorrection('temp1', -2);
    const rec0 = sim.userRecord(0);
    await load(makeFlow(served.port, [configNodeDef()]));
    const st = watchStatus(helper.getNode('cfg'));

    const m = await ask('cfg', { payload: { limits: { tempSensor1: { upperLimit: 60 } } }, keep: 1 }, 'report');
    const r = m.payload;
    assert.strictEqual(m.keep, 1);
    assert.deepStrictEqual(Object.keys(r).sort(), ['after', 'applied', 'before', 'changed']);
    assert.deepStrictEqual(r.applied, { limits: { tempSensor1: { upperLimit: 60 } } });
    assert.deepStrictEqual(r.before.limits.tempSensor1, { lowerLimit: -300, upperLimit: 80, timeDelay: 5 });
    assert.deepStrictEqual(r.after.limits.tempSensor1, { lowerLimit: -300, upperLimit: 60, timeDelay: 5 });
    assert.deepStrictEqual(r.after.limits.tempSensor2, { lowerLimit: -250, upperLimit: -150, timeDelay: 10 });
    assert.strictEqual(r.after.limits.door1TimeDelay, 3);
    assert.strictEqual(r.after.limits.tempSensor1Correction, -2);
    assert.deepStrictEqual(r.changed, ['limits.tempSensor1.upperLimit']);
    // The device itself: only bytes 10..11 (temp1 upper limit) differ, undocumented ones included.
    const now0 = sim.userRecord(0);
    assert.strictEqual(now0.readInt16BE(10), 60);
    const diff = [];
    for (let i = 0; i < 60; i++) if (now0[i] !== rec0[i]) diff.push(i);
    assert.deepStrictEqual(diff, [11], '80 -> 60 changes the low byte of the upper limit only');
    assert.deepStrictEqual(st.last(), { fill: 'green', shape: 'dot', text: 'applied: limits' });

    const all = (await ask('cfg', {
      payload: {
        deviceInfo: { deviceName: 'Cold room 3' },
        temperatureSensorNames: ['Chiller', null],
        doorSensorNames: ['Front door', 'Back door'],
        internalSensorNames: [undefined, 'Room RH'],
        settings: { buzzerEnabled: false, alarmReminderDelay: 30 },
      },
    }, 'report')).payload;
    assert.deepStrictEqual(Object.keys(all.applied), ['deviceInfo', 'temperatureSensorNames', 'doorSensorNames', 'internalSensorNames', 'settings']);
    assert.strictEqual(all.after.deviceInfo.deviceName, 'Cold room 3');
    assert.strictEqual(all.after.deviceInfo.serialNumber, 'M307000001', 'read-only fields are kept');
    assert.deepStrictEqual(all.after.temperatureSensorNames, ['Chiller', '']);
    assert.deepStrictEqual(all.after.doorSensorNames, ['Front door', 'Back door']);
    assert.deepStrictEqual(all.after.internalSensorNames, ['', 'Room RH']);
    assert.deepStrictEqual(all.after.settings, { relayLogic: 0, alarmReminderDelay: 30, buzzerEnabled: false, twoStageDoorAlarmDelay: 0 });
    assert.ok(all.changed.includes('settings.buzzerEnabled') && all.changed.includes('deviceInfo.deviceName'));
    assert.ok(!all.changed.includes('settings.relayLogic'));
    const d = sim.describe();
    assert.strictEqual(d.name, 'Cold room 3');
    assert.strictEqual(sim.userRecord(4)[10], 0, 'buzzer off in record 4');
    assert.strictEqual(sim.userRecord(2).toString('latin1', 8, 15), 'Chiller');
    assert.strictEqual(sim.userRecord(3).toString('latin1', 28, 37), 'Back door');
  });

  it('config: sets the clock (ISO time or true) and the log rate, read back and verified', async function () {
    await load(makeFlow(served.port, [configNodeDef()]));
    const iso = '2026-03-01T08:30:00.000Z';
    const r = (await ask('cfg', { payload: { clock: iso, logRateMinutes: 10 } }, 'report')).payload;
    const want = new Date(iso); // the device keeps this host's local wall-clock time
    const c = sim.clock();
    assert.deepStrictEqual([c.year, c.month, c.date, c.hour, c.minute],
      [want.getFullYear(), want.getMonth() + 1, want.getDate(), want.getHours(), want.getMinutes()]);
    assert.strictEqual(sim.logRate, 10);
    assert.strictEqual(r.applied.clock.logRateMinutes, 10);
    assert.strictEqual(r.applied.clock.datetime, iso);
    assert.strictEqual(r.after.clock.datetime, iso);
    assert.strictEqual(r.after.clock.logRateMinutes, 10);
    assert.strictEqual(r.before.clock.logRateMinutes, 5);
    assert.strictEqual(r.after.clock.totalRecords, 1200);

    // clock: true is this host's time now; the rate is kept.
    const r2 = (await ask('cfg', { payload: { clock: true } }, 'report')).payload;
    const read = Date.parse(r2.after.clock.datetime);
    assert.ok(Math.abs(read - Date.now()) < 2 * MINUTE, `device clock ${r2.after.clock.datetime}`);
    assert.strictEqual(r2.after.clock.logRateMinutes, 10);
    const c2 = sim.clock();
    const now = new Date();
    assert.strictEqual(c2.year, now.getFullYear());
    assert.strictEqual(c2.date, now.getDate());
  });

  it('errors reach a Catch node with msg.error.code: EINVAL before sending, EVERIFY, ERANGE, ETIMEDOUT', async function () {
    await load(makeFlow(served.port, [configNodeDef(), statusNodeDef()], { device: { timeout: '300' } }));
    const cfg = watchStatus(helper.getNode('cfg'));
    await cfg.wait(connected, 3000, 'connected');
    const requests = sim.stats.requests;

    let caught = collect(helper.getNode('caught'), 1);
    helper.getNode('cfg').receive({ payload: { limits: { tempSensor1: { upperLimit: 1 } }, colour: 'red' } });
    let [e] = await caught;
    assert.strictEqual(e.error.code, 'EINVAL');
    assert.match(e.error.message, /colour/);
    assert.strictEqual(e.error.source.id, 'cfg');
    assert.strictEqual(sim.stats.requests, requests, 'nothing was sent');

    caught = collect(helper.getNode('caught'), 1);
    helper.getNode('cfg').receive({ payload: { clock: 'yesterday' } });
    assert.strictEqual((await caught)[0].error.code, 'EINVAL');
    caught = collect(helper.getNode('caught'), 1);
    helper.getNode('cfg').receive({ payload: { logRateMinutes: 90 } });
    assert.strictEqual((await caught)[0].error.code, 'ERANGE');
    assert.strictEqual(sim.stats.requests, requests, 'still nothing was sent');

    // A write that does not stick: EVERIFY, and the parts after it are not tried.
    const settingsBefore = sim.userRecord(4);
    sim.setFault('verify-mismatch', { offset: 9, times: 1 });
    caught = collect(helper.getNode('caught'), 1);
    helper.getNode('cfg').receive({ payload: { temperatureSensorNames: ['Probe A'], settings: { alarmReminderDelay: 9 } } });
    [e] = await caught;
    assert.strictEqual(e.error.code, 'EVERIFY');
    assert.strictEqual(e.report.failed, 'temperatureSensorNames');
    assert.deepStrictEqual(e.report.applied, {});
    assert.deepStrictEqual(sim.userRecord(4), settingsBefore, 'the settings were not written');
    assert.deepStrictEqual(cfg.last(), { fill: 'red', shape: 'ring', text: 'EVERIFY' });

    // A bad value inside a part is the client's ValidationError; msg.report has what went before.
    caught = collect(helper.getNode('caught'), 1);
    helper.getNode('cfg').receive({ payload: { deviceInfo: { deviceName: 'Unit 7' }, settings: { alarmReminderDelay: 300 } } });
    [e] = await caught;
    assert.strictEqual(e.error.code, 'ERANGE');
    assert.match(e.error.message, /alarmReminderDelay/);
    assert.strictEqual(e.report.failed, 'settings');
    assert.deepStrictEqual(e.report.applied, { deviceInfo: { deviceName: 'Unit 7' } });
    assert.strictEqual(e.report.after.deviceInfo.deviceName, 'Unit 7');
    assert.strictEqual(sim.describe().name, 'Unit 7');
    assert.deepStrictEqual(sim.userRecord(4), settingsBefore);

    // No reply in time.
    sim.setFault('silent');
    caught = collect(helper.getNode('caught'), 1);
    helper.getNode('st').receive({ payload: '', tag: 'mine' });
    [e] = await caught;
    assert.strictEqual(e.error.code, 'ETIMEDOUT');
    assert.strictEqual(e.tag, 'mine');
    assert.strictEqual(e.error.source.id, 'st');
    sim.clearFault('silent');
  });

  it('a first connect that fails is retried with backoff (device busy, then refused), never stuck', async function () {
    // Another program holds the device: the node is told EBUSY and keeps trying.
    const other = await M307Client.connect('127.0.0.1', { port: served.port, timeout: 500 });
    await load(makeFlow(served.port, [statusNodeDef({ interval: '0.2' })]));
    const st = watchStatus(helper.getNode('st'));
    const busy = await st.wait((x) => /reconnecting in \d+s \(EBUSY\)/.test(x.text), 3000, 'reconnecting (EBUSY)');
    assert.deepStrictEqual([busy.fill, busy.shape], ['yellow', 'ring']);
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('st').receive({ payload: '' });
    assert.strictEqual((await caught)[0].error.code, 'ENOTCONNECTED', 'a message meanwhile fails at once');
    // Tried again and again (each attempt is refused after the device's grace period).
    await st.wait(() => helper.getNode('dev').state.attempt >= 3, 5000, 'a third attempt');
    assert.ok(sim.stats.refused >= 3, `refused ${sim.stats.refused}`);
    await other.close();
    const [m] = await collect(helper.getNode('out'), 1);
    assert.strictEqual(m.payload.temperatureSensor1.reading, 4.2);
    assert.strictEqual(helper.getNode('dev').state.state, 'open');
  });

  it('a device that is not there yet (ECONNREFUSED) is found once it listens; a lost one comes back', async function () {
    const port = await freePort();
    await load(makeFlow(port, [statusNodeDef({ interval: '0.2' })]));
    const st = watchStatus(helper.getNode('st'));
    await st.wait((x) => /reconnecting in \d+s \(ECONNREFUSED\)/.test(x.text), 3000, 'reconnecting (ECONNREFUSED)');
    const late = await serveTcp(sim, { port });
    closers.push(() => late.close());
    await st.wait((x) => x.text === '4.2 °C / -18.5 °C', 3000, 'a reading once it listens');

    // The device server restarts: the client reconnects by itself and polling resumes.
    await late.close();
    closers.pop();
    await st.wait((x) => x.fill === 'yellow' && /reconnecting/.test(x.text), 3000, 'reconnecting after the loss');
    const again = await serveTcp(sim, { port });
    closers.push(() => again.close());
    sim.setReading('temp1', 5.1);
    await st.wait((x) => x.text === '5.1 °C / -18.5 °C', 5000, 'a reading after the restart');
  });

  it('log, mode single: every record in one message, progress "log N%" in the status', async function () {
    sim.setFault('split', { segment: 900, gapMs: 4 }); // 18,000 bytes in ~20 pieces: visible progress
    await load(makeFlow(served.port, [logNodeDef()]));
    const st = watchStatus(helper.getNode('lg'));
    await st.wait(connected, 3000, 'connected');
    const m = await ask('lg', { payload: 'go', keep: true }, 'log', 8000);
    assert.strictEqual(m.count, 1200);
    assert.strictEqual(m.payload.length, 1200);
    assert.strictEqual(m.topic, 'm307/log');
    assert.strictEqual(m.keep, true);
    const r = m.payload[0];
    assert.deepStrictEqual(Object.keys(r), ['datetime', 'temp1', 'temp2', 'internalTemp', 'internalHumidity', 'readingStatus',
      'door1State', 'door2State', 'powerStatus', 'flags']);
    assert.match(r.datetime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    assert.deepStrictEqual([r.temp1, r.temp2, r.internalTemp, r.internalHumidity], [4.2, -18.5, 22.3, 45]);
    assert.deepStrictEqual(r.readingStatus, { temp1: 'value', temp2: 'value', internalTemp: 'value', internalHumidity: 'value' });
    assert.strictEqual(Date.parse(m.payload[1].datetime) - Date.parse(r.datetime), 5 * MINUTE);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(m.payload[1199])), m.payload[1199]);

    const percents = st.seen.map((x) => /^log (\d+)%$/.exec(x.text)).filter(Boolean).map((x) => Number(x[1]));
    assert.ok(percents.some((p) => p > 0 && p < 100), `progress seen: ${percents.join(',')}`);
    for (let i = 1; i < percents.length; i++) assert.ok(percents[i] > percents[i - 1], `progress goes up: ${percents.join(',')}`);
    assert.deepStrictEqual(st.last(), { fill: 'green', shape: 'dot', text: 'log: 1200 records' });

    // msg.reset false continues after the last record received: nothing new yet, then two.
    sim.clearFault('split');
    const none = await ask('lg', { payload: '', reset: false }, 'log');
    assert.deepStrictEqual(none.payload, []);
    sim.advance(10 * MINUTE);
    const two = await ask('lg', { payload: '', reset: false }, 'log');
    assert.strictEqual(two.count, 2);
    assert.ok(Date.parse(two.payload[0].datetime) > Date.parse(m.payload[1199].datetime));
  });

  it('log, mode each: one message per record with parts; special readings as null + readingStatus', async function () {
    sim.clearLog();
    sim.setReadings({ temp1: 'open', temp2: 'shorted' });
    sim.advance(15 * MINUTE); // three new records at 5-minute intervals
    sim.setReadings({ temp1: 6.5, temp2: 'no-sensor', humidity: 'failed' });
    sim.advance(10 * MINUTE);
    const total = sim.logCount;
    assert.ok(total >= 4, `${total} records`);
    await load(makeFlow(served.port, [logNodeDef({ mode: 'each' })]));
    const st = watchStatus(helper.getNode('lg'));
    const msgs = counter(helper.getNode('log'));
    helper.getNode('lg').receive({ payload: '', _msgid: 'dl-1' });
    await st.wait((x) => /^log: \d+ records$/.test(x.text), 4000, 'done');
    await sleep(50);
    assert.strictEqual(st.last().text, `log: ${total} records`);
    assert.strictEqual(msgs.length, total);
    msgs.forEach((m, i) => {
      assert.strictEqual(m.parts.id, 'dl-1');
      assert.strictEqual(m.parts.index, i);
      assert.strictEqual(typeof m.payload.temp1 === 'number' || m.payload.temp1 === null, true);
    });
    const last = msgs[total - 1];
    assert.strictEqual(last.complete, true);
    assert.strictEqual(last.parts.count, total);
    assert.ok(msgs.slice(0, -1).every((m) => m.complete === undefined && m.parts.count === undefined));
    const first = msgs[0].payload;
    assert.deepStrictEqual([first.temp1, first.temp2], [null, null]);
    assert.deepStrictEqual(first.readingStatus, { temp1: 'open-circuit', temp2: 'shorted', internalTemp: 'value', internalHumidity: 'value' });
    assert.deepStrictEqual([last.payload.temp1, last.payload.temp2, last.payload.internalHumidity], [6.5, null, null]);
    assert.deepStrictEqual(last.payload.readingStatus, { temp1: 'value', temp2: 'no-sensor', internalTemp: 'value', internalHumidity: 'failed' });
  });

  it('log: a second download while one runs is refused with EBUSY (also from another log node)', async function () {
    sim.setFault('split', { segment: 600, gapMs: 10 }); // ~0.3 s for 1,200 records
    await load(makeFlow(served.port, [logNodeDef(), logNodeDef({ id: 'lg2', wires: [['log']] })]));
    await watchStatus(helper.getNode('lg')).wait(connected, 3000, 'connected');
    const caught = collect(helper.getNode('caught'), 2);
    const done = collect(helper.getNode('log'), 1);
    helper.getNode('lg').receive({ payload: 'first' });
    await sleep(30);
    helper.getNode('lg').receive({ payload: 'second' });
    helper.getNode('lg2').receive({ payload: 'third' });
    const errs = await caught;
    assert.deepStrictEqual(errs.map((x) => [x.payload, x.error.code]), [['second', 'EBUSY'], ['third', 'EBUSY']]);
    assert.match(errs[0].error.message, /already running/);
    const [m] = await done;
    assert.strictEqual(m.payload.length, 1200);
    assert.strictEqual(m.topic, 'm307/log');
    assert.strictEqual(sim.stats.byCommand.readLog, 1);
    // Once it is over, the next one runs.
    sim.clearFault('split');
    assert.strictEqual((await ask('lg2', { payload: '' }, 'log')).count, 1200);
  });

  it('unload (redeploy, stop) closes the connection within 2 s, even mid-download; the device accepts a new client', async function () {
    sim.setFault('split', { segment: 300, gapMs: 20 }); // a download of ~1.2 s, cut short
    await load(makeFlow(served.port, [statusNodeDef({ interval: '0.1' }), logNodeDef()]));
    await collect(helper.getNode('out'), 2);
    helper.getNode('lg').receive({ payload: '' });
    await watchStatus(helper.getNode('lg')).wait((x) => /^log \d+%$/.test(x.text), 3000, 'download running');
    assert.strictEqual(sim.clients(), 1);
    const t0 = Date.now();
    await helper.unload();
    const took = Date.now() - t0;
    assert.ok(took < 2000, `unload took ${took} ms`);
    assert.strictEqual(pool.linkCount(), 0);
    sim.clearFault('split');
    const c = await M307Client.connect('127.0.0.1', { port: served.port, timeout: 500 }); // EBUSY if still held
    try {
      assert.strictEqual((await c.readStatus()).temperatureSensor1.reading, 4.2);
      assert.strictEqual(sim.clients(), 1);
    } finally {
      await c.close();
    }
  });

  it('full and modified-nodes deploys: the connection stays for a modified flow node, is renewed on a full deploy', async function () {
    const flow = makeFlow(served.port, [statusNodeDef()]);
    await load(flow);
    assert.strictEqual((await ask('st', { payload: '' })).payload.temperatureSensor1.reading, 4.2);
    const firstClient = helper.getNode('dev').client;

    await helper.setFlows(flow.map((n) => (n.id === 'st' ? { ...n, topic: 'renamed' } : n)), 'nodes');
    assert.strictEqual(helper.getNode('dev').client, firstClient);
    const m = await ask('st', { payload: '' });
    assert.strictEqual(m.topic, 'renamed');
    assert.strictEqual(sim.stats.connections, 1);

    await helper.setFlows(flow, 'full');
    await watchStatus(helper.getNode('st')).wait(connected, 3000, 'connected after a full deploy');
    assert.notStrictEqual(helper.getNode('dev').client, firstClient);
    assert.strictEqual((await ask('st', { payload: '' })).payload.temperatureSensor1.reading, 4.2);
    assert.strictEqual(sim.stats.connections, 2);
    assert.strictEqual(sim.stats.refused, 0, 'the old connection was gone before the new one came');
    assert.strictEqual(sim.clients(), 1);
  });

  it('bad settings: no device, a bad interval, a refused port: red status and EINVAL/ERANGE, no retry', async function () {
    await load(makeFlow(0, [
      statusNodeDef({ interval: '-1' }),
      logNodeDef({ id: 'lg', device: 'nowhere' }),
      statusNodeDef({ id: 'st3', wires: [[], []] }),
    ], { device: { port: '70000' } }));
    const caught = collect(helper.getNode('caught'), 3);
    helper.getNode('st').receive({ payload: '' });
    helper.getNode('lg').receive({ payload: '' });
    helper.getNode('st3').receive({ payload: '' });
    const codes = (await caught).map((m) => `${m.error.source.id}:${m.error.code}`).sort();
    assert.deepStrictEqual(codes, ['lg:EINVAL', 'st3:ERANGE', 'st:ERANGE']);
    assert.strictEqual(helper.getNode('dev').state.state, 'failed');
    const st3 = watchStatus(helper.getNode('st3'));
    await sleep(300);
    assert.strictEqual(helper.getNode('dev').state.state, 'failed', 'a bad setting is not retried');
    assert.strictEqual(st3.seen.length, 0);
    assert.strictEqual(sim.stats.connections, 0);
  });
});
