'use strict';
// Diagnostics in Node-RED, against the simulators (Modbus and MATE on pseudo-terminals, Modbus
// RTU over TCP, M307 over TCP):
//  - the "link diagnostics" node (fieldlink-diagnostics) under node-red-node-test-helper: its
//    counters move with real traffic (requests after reads, timeouts and CRC errors after a
//    fault), on input and on its interval, for each family, and it says why while a link is down;
//  - the config panels' Test / Scan admin endpoints in a real Node-RED (scripts/lib/nodered.js)
//    with adminAuth: each refuses without its <config type>.write permission (and sends nothing)
//    and with it returns a real diagnosis: AB_LINES_SWAPPED for swapped lines, the simulated
//    units found with their profile, cancellation, a Test through the deployed flow's link (and
//    PORT_BUSY for a Scan there),
//    the M307's identity (through the flow's own connection when it holds the device), a
//    refusal by another client, and the MATE hub ports with device types and firmware.
const assert = require('node:assert');
const { collect } = require('../support/messages');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const bcrypt = require('bcryptjs');
const helper = require('node-red-node-test-helper');

const modbusBusNode = require('../../nodes/modbus-bus.js');
const sensorNode = require('../../nodes/modbus-sensor.js');
const m307DeviceNode = require('../../nodes/m307-device.js');
const m307StatusNode = require('../../nodes/m307-status.js');
const mateBusNode = require('../../nodes/mate-bus.js');
const mxNode = require('../../nodes/mate-mx.js');
const diagnosticsNode = require('../../nodes/diagnostics.js');
const catchNode = require('../support/node-red').coreNode('common/25-catch.js');
const { M307Client } = require('../..');
const { ModbusSimulator, servePty, serveTcp } = require('../../lib/sim/modbus');
const { M307Simulator, serveTcp: serveM307 } = require('../../lib/sim/m307');
const { MateSimulator, servePty: serveMate } = require('../../lib/sim/mate');
const { startNodeRed } = require('../../scripts/lib/nodered');
const F = require('../../lib/diagnostics/frames');

helper.init(require('../support/node-red').nodeRedRuntime());

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-diag-nodes-'));
let linkCounter = 0;
const newLink = () => path.join(tmp, `tty${++linkCounter}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
after(() => fs.rmSync(tmp, { recursive: true, force: true })); // root hook: after the whole run

const UNIT1 = { address: 1, temperature: 21.5, humidity: 45.0, drift: false };
const EXAMPLE_REQUEST = '01 04 00 01 00 02 20 0B'; // unit 1, fc 04, registers 1..2
// Unit 1's reply for 21.5 °C / 45.0 %RH (0x00D7, 0x01C2), with its CRC.
const CLEAN_REPLY = F.hex(F.withCrc([0x01, 0x04, 0x04, 0x00, 0xd7, 0x01, 0xc2]));

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

/**
 * Sends msg to node `id` and resolves with the first message at helper `at`; rejects with the
 * error when a Catch node (helper "caught") gets one from `id` instead.
 */
async function ask(id, at, msg = { payload: 'go' }, ms = 4000) {
  const caughtNode = helper.getNode('caught');
  let onCaught;
  const failed = new Promise((resolve, reject) => {
    onCaught = (m) => {
      if (m.error && m.error.source && m.error.source.id === id) reject(new Error(`${id} failed: ${m.error.message}`));
    };
    if (caughtNode) caughtNode.on('input', onCaught);
  });
  const got = collect(helper.getNode(at), 1, ms);
  got.catch(() => {}); // when the Catch node wins the race, the wait for `at` still times out
  helper.getNode(id).receive(msg);
  try {
    return (await Promise.race([got, failed]))[0];
  } finally {
    if (caughtNode) caughtNode.removeListener('input', onCaught);
  }
}

function load(flow) {
  return new Promise((resolve, reject) => {
    helper.load([modbusBusNode, sensorNode, m307DeviceNode, m307StatusNode, mateBusNode, mxNode, diagnosticsNode, catchNode], flow,
      (err) => (err ? reject(err) : resolve()));
  });
}

const tab = { id: 'f1', type: 'tab', label: 'diagnostics' };
const outs = [
  { id: 'out', type: 'helper', z: 'f1' },
  { id: 'sout', type: 'helper', z: 'f1' },
  { id: 'alarm', type: 'helper', z: 'f1' },
  { id: 'c1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper', z: 'f1' },
];
const diagNode = (extra) => ({ id: 'd1', type: 'fieldlink-diagnostics', z: 'f1', name: '', interval: '0', topic: '', wires: [['out']], ...extra });
const modbusBusConfig = (link, extra = {}) => ({
  id: 'bus', type: 'fieldlink-modbus-bus', name: 'test bus', connectionType: 'serial', serialPort: link, baudRate: '9600', parity: 'none',
  dataBits: '8', stopBits: '1', timeout: '100', retries: '0', interFrameDelay: '', reconnectMinDelay: '100', reconnectMaxDelay: '400', ...extra,
});

describe('Node-RED node: link diagnostics (fieldlink-diagnostics)', function () {
  this.timeout(20000);
  const closers = [];

  beforeEach(function (done) {
    helper.startServer(done);
  });

  afterEach(async function () {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function modbusSim(units = [UNIT1]) {
    const sim = new ModbusSimulator({ units });
    const served = await servePty(sim, { link: newLink() });
    closers.push(async () => {
      await served.close();
      sim.close();
    });
    return { sim, link: served.link };
  }

  it('Modbus: requests, replies, frames and latency move with real reads; a silent unit adds a timeout, a bad CRC a crcError', async function () {
    const { sim, link } = await modbusSim();
    await load([
      tab, modbusBusConfig(link),
      { id: 's1', type: 'fieldlink-modbus-sensor', z: 'f1', bus: 'bus', unit: 1, profile: 'xy-md02', interval: '0', topic: '', wires: [['sout']] },
      diagNode({ family: 'modbus', modbusBus: 'bus' }),
      ...outs,
    ]);
    const d1 = helper.getNode('d1');
    const status = watchStatus(d1);
    await status.wait((st) => st.text === 'connected', 4000, 'the bus open');

    const p0 = (await ask('d1', 'out', { payload: 'now', keep: 'me' })).payload;
    assert.strictEqual(p0.family, 'modbus');
    assert.strictEqual(p0.link, link);
    assert.strictEqual(p0.name, 'test bus');
    assert.strictEqual(p0.state, 'open');
    assert.strictEqual(p0.requests, 0);
    assert.strictEqual(p0.timeouts, 0);
    assert.strictEqual(p0.lastRequestHex, null);
    assert.deepStrictEqual(p0.latency, { p50: null, p90: null, p99: null, max: null, samples: 0 });

    for (let i = 0; i < 3; i++) {
      const m = await ask('s1', 'sout');
      assert.strictEqual(m.payload.temperature, 21.5);
    }
    const m1 = await ask('d1', 'out', { payload: 'now', keep: 'me' });
    const p1 = m1.payload;
    assert.strictEqual(m1.keep, 'me', 'the rest of the message passes through');
    assert.strictEqual(m1.topic, 'fieldlink/diagnostics/modbus');
    assert.strictEqual(p1.requests, p0.requests + 3);
    assert.strictEqual(p1.replies, p0.replies + 3);
    assert.strictEqual(sim.unit(1).stats.requests, 3, 'the simulator saw exactly the sensor\'s reads: the node sends nothing itself');
    assert.strictEqual(p1.timeouts, 0);
    assert.strictEqual(p1.crcErrors, 0);
    assert.strictEqual(p1.queueDepth, 0);
    assert.strictEqual(p1.retries, 0, 'three clean reads: no retry');
    assert.strictEqual(p1.lastRequestHex, EXAMPLE_REQUEST);
    assert.strictEqual(p1.lastReplyHex, CLEAN_REPLY);
    assert.strictEqual(p1.lastErrorCode, null);
    assert.strictEqual(p1.latency.samples, 3);
    for (const k of ['p50', 'p90', 'p99', 'max']) assert.ok(typeof p1.latency[k] === 'number' && p1.latency[k] > 0, `latency.${k} = ${p1.latency[k]}`);
    assert.ok(p1.latency.p50 <= p1.latency.p99 && p1.latency.p99 <= p1.latency.max);
    assert.strictEqual(p1.units['1'].requests, 3);
    assert.strictEqual(p1.units['1'].replies, 3);
    assert.strictEqual(p1.units['1'].offline, false);
    assert.ok(p1.bytesSent >= 24 && p1.bytesReceived >= 27, `${p1.bytesSent} / ${p1.bytesReceived}`);
    const st1 = status.last();
    assert.deepStrictEqual([st1.fill, st1.shape], ['green', 'dot']);
    assert.match(st1.text, /^p99 [\d.]+ ms, 0 timeouts$/);

    sim.setFault(1, 'silent');
    let caught = collect(helper.getNode('caught'), 1);
    helper.getNode('s1').receive({ payload: 'go' });
    assert.strictEqual((await caught)[0].error.source.id, 's1');
    const p2 = (await ask('d1', 'out')).payload;
    assert.strictEqual(p2.requests, p1.requests + 1);
    assert.strictEqual(p2.timeouts, p1.timeouts + 1);
    assert.strictEqual(p2.replies, p1.replies);
    assert.strictEqual(p2.lastErrorCode, 'ETIMEDOUT');
    assert.strictEqual(p2.units['1'].consecutiveTimeouts, 1);
    const st2 = status.last();
    assert.deepStrictEqual([st2.fill, st2.shape], ['yellow', 'dot'], 'a new timeout since the previous report');
    assert.match(st2.text, /^p99 [\d.]+ ms, 1 timeout$/);

    sim.setFault(1, 'bad-crc');
    caught = collect(helper.getNode('caught'), 1);
    helper.getNode('s1').receive({ payload: 'go' });
    assert.strictEqual((await caught)[0].error.source.id, 's1');
    const p3 = (await ask('d1', 'out')).payload;
    assert.strictEqual(p3.crcErrors, p2.crcErrors + 1);
    assert.strictEqual(p3.timeouts, p2.timeouts);
    assert.strictEqual(p3.lastErrorCode, 'ECHECKSUM');
    assert.strictEqual(p3.lastRequestHex, EXAMPLE_REQUEST);

    sim.clearFaults();
    await ask('s1', 'sout');
    const p4 = (await ask('d1', 'out')).payload;
    assert.strictEqual(p4.replies, p3.replies + 1);
    const st4 = status.last();
    assert.deepStrictEqual([st4.fill, st4.shape], ['green', 'dot'], 'no new trouble since the previous report');
    assert.match(st4.text, /, 1 timeout$/);
  });

  it('reports on its interval without input, with its own topic; the counters follow a sensor that polls', async function () {
    const { link } = await modbusSim();
    await load([
      tab, modbusBusConfig(link),
      { id: 's1', type: 'fieldlink-modbus-sensor', z: 'f1', bus: 'bus', unit: 1, profile: 'xy-md02', interval: '0.1', topic: '', wires: [['sout']] },
      diagNode({ family: 'modbus', modbusBus: 'bus', interval: '0.3', topic: 'health/rs485' }),
      ...outs,
    ]);
    const msgs = await collect(helper.getNode('out'), 3);
    for (const m of msgs) {
      assert.strictEqual(m.topic, 'health/rs485');
      assert.strictEqual(m.payload.family, 'modbus');
    }
    const reqs = msgs.map((m) => m.payload.requests);
    assert.ok(reqs[2] > reqs[0], `requests grow with the sensor's polls: ${reqs}`);
    assert.ok(msgs[2].payload.latency.samples > 0);
  });

  it('while the link is down: state and the outage\'s code, counters null, a yellow ring', async function () {
    await load([
      tab, modbusBusConfig(path.join(tmp, 'no-such-port')),
      diagNode({ family: 'modbus', modbusBus: 'bus' }),
      ...outs,
    ]);
    const d1 = helper.getNode('d1');
    const status = watchStatus(d1);
    await status.wait((st) => st.fill === 'yellow' && st.shape === 'ring' && /ENOENT/.test(st.text), 4000, 'reconnecting (ENOENT)');
    const p = (await ask('d1', 'out')).payload;
    assert.strictEqual(p.state, 'reconnecting');
    assert.strictEqual(p.lastErrorCode, 'ENOENT');
    for (const k of ['requests', 'replies', 'timeouts', 'crcErrors', 'queueDepth', 'lastRequestHex', 'units']) assert.strictEqual(p[k], null, k);
    assert.strictEqual(p.latency.samples, 0);
    assert.strictEqual(status.last().text, 'reconnecting (ENOENT)');
  });

  it('M307: requests and latency move with status reads over the one shared connection', async function () {
    const sim = new M307Simulator({ logRecords: 0 });
    const srv = await serveM307(sim, { port: 0 });
    closers.push(async () => {
      await srv.close();
      sim.close();
    });
    await load([
      tab,
      { id: 'dev', type: 'fieldlink-m307-device', name: 'cold room', host: '127.0.0.1', port: String(srv.port), timeout: '500', reconnectMinDelay: '100', reconnectMaxDelay: '400' },
      { id: 'st', type: 'fieldlink-m307-status', z: 'f1', device: 'dev', interval: '0', topic: '', wires: [['sout'], ['alarm']] },
      diagNode({ family: 'm307', m307Device: 'dev' }),
      ...outs,
    ]);
    const status = watchStatus(helper.getNode('d1'));
    await status.wait((st) => st.text === 'connected', 4000, 'the device open');
    const p0 = (await ask('d1', 'out')).payload;
    assert.strictEqual(p0.family, 'm307');
    assert.strictEqual(p0.link, `127.0.0.1:${srv.port}`);
    const reading = await ask('st', 'sout');
    assert.ok(reading.payload.temperatureSensor1);
    await ask('st', 'sout');
    const p1 = (await ask('d1', 'out')).payload;
    assert.strictEqual(p1.requests, p0.requests + 2);
    assert.strictEqual(p1.replies, p0.replies + 2);
    assert.strictEqual(p1.timeouts, 0);
    assert.ok(p1.latency.samples >= 2 && p1.latency.p99 > 0);
    assert.strictEqual(p1.queueDepth, 0);
    assert.match(p1.lastRequestHex, /^3F CD DC /, 'the status request');
    assert.match(p1.lastReplyHex, /^3F CD DC /);
    assert.strictEqual(p1.units, null, 'units: the M307 link has none');
    assert.strictEqual(p1.retries, 0, 'no reconnect, no retry');
    assert.strictEqual(sim.stats.connections, 1, 'one connection: the node asks the shared client, it never connects');
    assert.match(status.last().text, /^p99 [\d.]+ ms, 0 timeouts$/);
  });

  it('MATE: requests, frames and retries move; a silent MX adds timeouts and retries', async function () {
    const sim = new MateSimulator({ preset: 'capture' });
    const served = await serveMate(sim, { link: newLink() });
    closers.push(async () => {
      await served.close();
      sim.close();
    });
    await load([
      tab,
      { id: 'bus', type: 'fieldlink-mate-bus', name: 'solar', serialPort: served.link, timeout: '100', retries: '1', parityMode: 'auto', transport: 'serial', reconnectMinDelay: '100', reconnectMaxDelay: '400', masterDuties: false, allowControl: false },
      { id: 'mx', type: 'fieldlink-mate-mx', z: 'f1', bus: 'bus', port: '1', interval: '0', topic: '', wires: [['sout']] },
      diagNode({ family: 'mate', mateBus: 'bus' }),
      ...outs,
    ]);
    const status = watchStatus(helper.getNode('d1'));
    await status.wait((st) => st.text === 'connected', 4000, 'the bus open');
    const p0 = (await ask('d1', 'out')).payload;
    assert.strictEqual(p0.family, 'mate');
    assert.strictEqual(p0.link, served.link);
    const mx = await ask('mx', 'sout');
    assert.strictEqual(mx.payload.batteryVoltage, 25.4);
    const p1 = (await ask('d1', 'out')).payload;
    assert.ok(p1.requests > p0.requests, `${p0.requests} -> ${p1.requests}`);
    assert.ok(p1.replies > p0.replies);
    assert.match(p1.lastRequestHex, /^01 /, 'the last command went to hub port 1');
    assert.match(p1.lastReplyHex, /^[0-9A-F]{2}( [0-9A-F]{2})+$/);
    assert.strictEqual(typeof p1.retries, 'number');
    assert.strictEqual(p1.queueDepth, 0);
    assert.strictEqual(p1.units, null);

    sim.setFault(1, 'silent');
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('mx').receive({ payload: 'go' });
    assert.strictEqual((await caught)[0].error.source.id, 'mx');
    const p2 = (await ask('d1', 'out')).payload;
    assert.strictEqual(p2.timeouts, p1.timeouts + 2, 'the request and its one retry timed out');
    assert.strictEqual(p2.retries, p1.retries + 1);
    assert.strictEqual(p2.lastErrorCode, 'ETIMEDOUT');
    const st = status.last();
    assert.deepStrictEqual([st.fill, st.shape], ['yellow', 'dot']);
    assert.match(st.text, /, \d+ timeouts$/);
  });

  it('without a link chosen: a red ring, and input fails to a Catch node', async function () {
    await load([tab, diagNode({ family: 'modbus', modbusBus: '' }), ...outs]);
    const d1 = helper.getNode('d1');
    const status = watchStatus(d1);
    const caught = collect(helper.getNode('caught'), 1);
    d1.receive({ payload: 'go' });
    const [c] = await caught;
    assert.match(c.error.message, /choose the link/);
    await status.wait((st) => st.fill === 'red' && st.text === 'no link chosen');
  });
});

// ---------------------------------------------------------------------------------------------

describe('Node-RED admin endpoints: Test and Scan in the config panels (adminAuth)', function () {
  this.timeout(60000);
  let nr;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-nr-diag-'));
  const benches = [];
  let tokens;
  // Simulators: some used by the deployed flow, some only by the endpoints.
  let busy; // Modbus pty, deployed
  let swapped; // Modbus pty, unit 1 with A/B swapped
  let scanBench; // Modbus pty, units 3 and 7
  let tcpBusy; // Modbus RTU over TCP, deployed
  let m307Pooled; // deployed
  let m307Free; // not deployed
  let mateDeployed;
  let mateFree;

  async function modbusBench(units, fault) {
    const sim = new ModbusSimulator({ units });
    if (fault) sim.setFault(...fault);
    const served = await servePty(sim, { link: newLink() });
    benches.push(async () => {
      await served.close();
      sim.close();
    });
    return { sim, link: served.link };
  }

  async function m307Bench(name, serial) {
    const sim = new M307Simulator({ logRecords: 0, name, serial, mac: '00:20:4A:3D:47:11' });
    const srv = await serveM307(sim, { port: 0 });
    benches.push(async () => {
      await srv.close();
      sim.close();
    });
    return { sim, port: srv.port };
  }

  async function mateBench() {
    const sim = new MateSimulator({ preset: 'capture' });
    const served = await serveMate(sim, { link: newLink() });
    benches.push(async () => {
      await served.close();
      sim.close();
    });
    return { sim, link: served.link };
  }

  before(async function () {
    busy = await modbusBench([UNIT1]);
    swapped = await modbusBench([UNIT1], [1, 'swapped-ab']);
    scanBench = await modbusBench([{ ...UNIT1, address: 3 }, { address: 7, temperature: 19.0, humidity: 60.0, drift: false }]);
    {
      const sim = new ModbusSimulator({ units: [UNIT1] });
      const srv = await serveTcp(sim, { port: 0 });
      benches.push(async () => {
        await srv.close();
        sim.close();
      });
      tcpBusy = { sim, port: srv.port };
    }
    m307Pooled = await m307Bench('Cold Room 1', 'M307000001');
    m307Free = await m307Bench('Freezer 2', 'M307000002');
    mateDeployed = await mateBench();
    mateFree = await mateBench();

    const hash = bcrypt.hashSync('secret', 6);
    nr = await startNodeRed({
      userDir,
      logLevel: 'info',
      flows: [
        { id: 'f1', type: 'tab', label: 'deployed' },
        modbusBusConfig(busy.link, { id: 'mbus', name: 'deployed bus' }),
        modbusBusConfig(path.join(tmp, 'gone-modbus'), { id: 'mgone', name: 'waiting bus' }),
        {
          id: 'mtcp', type: 'fieldlink-modbus-bus', name: 'deployed tcp bus', connectionType: 'tcp', host: '127.0.0.1', port: String(tcpBusy.port),
          timeout: '200', retries: '0', reconnectMinDelay: '100', reconnectMaxDelay: '400',
        },
        { id: 'm307', type: 'fieldlink-m307-device', name: 'deployed m307', host: '127.0.0.1', port: String(m307Pooled.port), timeout: '1000', reconnectMinDelay: '100', reconnectMaxDelay: '400' },
        { id: 'mate', type: 'fieldlink-mate-bus', name: 'deployed mate', serialPort: mateDeployed.link, timeout: '40', retries: '1', parityMode: 'auto', transport: 'serial', reconnectMinDelay: '100', reconnectMaxDelay: '400', masterDuties: false, allowControl: false },
        { id: 'dg1', type: 'fieldlink-diagnostics', z: 'f1', family: 'modbus', modbusBus: 'mbus', interval: '0', topic: '', wires: [] },
        { id: 'dg2', type: 'fieldlink-diagnostics', z: 'f1', family: 'modbus', modbusBus: 'mtcp', interval: '0', topic: '', wires: [] },
        { id: 'dg3', type: 'fieldlink-diagnostics', z: 'f1', family: 'm307', m307Device: 'm307', interval: '0', topic: '', wires: [] },
        { id: 'dg4', type: 'fieldlink-diagnostics', z: 'f1', family: 'mate', mateBus: 'mate', interval: '0', topic: '', wires: [] },
      ],
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'viewer', password: hash, permissions: 'read' },
            { username: 'admin', password: hash, permissions: '*' },
          ],
        },
      },
    });
    tokens = {
      viewer: await token('viewer', 'read'),
      admin: await token('admin', '*'),
      // A token that may change Modbus buses and nothing else.
      modbusOnly: await token('admin', 'fieldlink-modbus-bus.write'),
    };
  });

  after(async function () {
    if (nr) await nr.stop();
    for (const c of benches.splice(0)) await c();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function token(username, scope) {
    const res = await fetch(`${nr.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: 'secret' }),
    });
    assert.strictEqual(res.status, 200, `login of ${username} (${scope}): ${nr.output()}`);
    return (await res.json()).access_token;
  }

  async function call(method, route, bearer, body) {
    const headers = {};
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${nr.url}/${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const textBody = await res.text();
    let json;
    try {
      json = textBody ? JSON.parse(textBody) : null;
    } catch {
      json = null;
    }
    return { status: res.status, body: json };
  }

  const post = (route, bearer, body) => call('POST', route, bearer, body);

  /** Starts a Test or Scan job and answers { status, body: the finished job } (or the refusal). */
  async function runJob(route, body) {
    const started = await post(route, tokens.admin, body);
    if (started.status !== 202) return started;
    const base = route.slice(0, route.lastIndexOf('/'));
    return { status: 200, body: await finished(started.body.id, 20000, base) };
  }

  /** Polls a job (a Modbus one unless `base` says otherwise) until it is no longer running. */
  async function finished(id, ms = 20000, base = 'fieldlink/modbus-bus') {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await call('GET', `${base}/jobs/${id}`, tokens.admin);
      assert.strictEqual(r.status, 200);
      if (r.body.state !== 'running') return r.body;
      if (Date.now() > deadline) throw new Error(`job ${id} still running after ${ms} ms: ${JSON.stringify(r.body.progress)}`);
      await sleep(100);
    }
  }

  // The Modbus bus panel as it is in the editor, for a pseudo-terminal.
  const panel = (link, extra = {}) => ({
    connectionType: 'serial', serialPort: link, baudRate: '9600', parity: 'none', dataBits: '8', stopBits: '1', timeout: '100', ...extra,
  });

  describe('permissions: each endpoint needs the write permission of its config type', function () {
    const cases = () => [
      ['fieldlink/modbus-bus/test', panel(swapped.link), swapped.sim],
      ['fieldlink/modbus-bus/scan', panel(swapped.link, { units: '1-3' }), swapped.sim],
      ['fieldlink/m307-device/test', { host: '127.0.0.1', port: String(m307Free.port) }, m307Free.sim],
      ['fieldlink/mate-bus/scan', { serialPort: mateFree.link, timeout: '40', retries: '1' }, mateFree.sim],
    ];
    const requestsOf = (sim) => (sim instanceof ModbusSimulator ? sim.stats.bytesReceived : sim instanceof M307Simulator ? sim.stats.connections + sim.stats.refused : sim.stats.commands);

    it('refuses anonymous requests and users with only "read" with 401, and sends nothing to the device', async function () {
      for (const [route, body, sim] of cases()) {
        const before = requestsOf(sim);
        assert.ok(Number.isInteger(before), `a counter of the simulator: ${before}`);
        assert.strictEqual((await post(route, null, body)).status, 401, `${route} anonymous`);
        assert.strictEqual((await post(route, tokens.viewer, body)).status, 401, `${route} viewer`);
        await sleep(50);
        assert.strictEqual(requestsOf(sim), before, `${route}: nothing reached the simulator`);
      }
    });

    it('a token scoped to fieldlink-modbus-bus.write may not use the M307 and MATE endpoints', async function () {
      for (const [route, body] of cases().slice(2)) {
        assert.strictEqual((await post(route, tokens.modbusOnly, body)).status, 401, route);
      }
    });

    it('the job endpoints refuse without the permission too', async function () {
      const started = await post('fieldlink/modbus-bus/test', tokens.modbusOnly, panel(swapped.link));
      assert.strictEqual(started.status, 202);
      const id = started.body.id;
      assert.strictEqual((await call('GET', `fieldlink/modbus-bus/jobs/${id}`, null)).status, 401);
      assert.strictEqual((await call('GET', `fieldlink/modbus-bus/jobs/${id}`, tokens.viewer)).status, 401);
      assert.strictEqual((await post(`fieldlink/modbus-bus/jobs/${id}/cancel`, tokens.viewer)).status, 401);
      const job = await finished(id);
      assert.strictEqual(job.state, 'done', 'the viewer could not cancel it');
    });

    it('answers 400 for settings that cannot work, without starting anything', async function () {
      const noPort = await post('fieldlink/modbus-bus/test', tokens.admin, panel(''));
      assert.strictEqual(noPort.status, 400);
      assert.strictEqual(noPort.body.argument, 'serialPort');
      const badUnits = await post('fieldlink/modbus-bus/scan', tokens.admin, panel(scanBench.link, { units: '1-300' }));
      assert.strictEqual(badUnits.status, 400);
      assert.match(badUnits.body.error, /units/);
      const badBaud = await post('fieldlink/modbus-bus/scan', tokens.admin, panel(scanBench.link, { baudRates: [9600, 12345] }));
      assert.strictEqual(badBaud.status, 400);
      assert.strictEqual((await post('fieldlink/m307-device/test', tokens.admin, { host: '' })).status, 400);
      assert.strictEqual((await post('fieldlink/mate-bus/scan', tokens.admin, { serialPort: mateFree.link, parityMode: 'none' })).status, 400);
      // Every Test and Scan checks what opening its link checks (checkOptions), all of it.
      const badModbus = await post('fieldlink/modbus-bus/test', tokens.admin, panel(scanBench.link, { reconnectMinDelay: '5000', reconnectMaxDelay: '1000' }));
      assert.strictEqual(badModbus.status, 400);
      assert.strictEqual(badModbus.body.argument, 'reconnectMaxDelay');
      const badM307 = await post('fieldlink/m307-device/test', tokens.admin, { host: '127.0.0.1', reconnectMinDelay: '5000', reconnectMaxDelay: '1000' });
      assert.strictEqual(badM307.status, 400);
      assert.strictEqual(badM307.body.argument, 'reconnectMaxDelay');
      const badDelays = await post('fieldlink/mate-bus/scan', tokens.admin, { serialPort: mateFree.link, reconnectMinDelay: '5000', reconnectMaxDelay: '1000' });
      assert.strictEqual(badDelays.status, 400);
      assert.strictEqual(badDelays.body.argument, 'reconnectMaxDelay');
      assert.strictEqual((await call('GET', 'fieldlink/modbus-bus/jobs/no-such-job', tokens.admin)).status, 404);
    });
  });

  describe('Modbus bus panel', function () {
    it('Test on the panel\'s settings: A/B swapped on the simulated bus gives AB_LINES_SWAPPED with every step and the bytes', async function () {
      const started = await post('fieldlink/modbus-bus/test', tokens.admin, panel(swapped.link, { address: '1', profile: 'xy-md02' }));
      assert.strictEqual(started.status, 202);
      assert.strictEqual(started.body.state, 'running');
      assert.strictEqual(started.body.kind, 'test');
      assert.deepStrictEqual(started.body.inUse, []);
      const job = await finished(started.body.id);
      assert.strictEqual(job.state, 'done', JSON.stringify(job.error));
      const steps = job.findings.map((f) => f.step);
      assert.deepStrictEqual(steps.slice(0, 3), ['port', 'open', 'listen']);
      const verdict = job.findings[job.findings.length - 1];
      assert.strictEqual(verdict.code, 'AB_LINES_SWAPPED');
      assert.strictEqual(verdict.ok, false);
      assert.match(verdict.suggestion, /Swap the A\+ and B- wires/);
      assert.match(verdict.rawData, /^FE FB FB FF/);
      assert.strictEqual(verdict.details.inverted, CLEAN_REPLY);
      assert.ok(swapped.sim.stats.framesReceived > 0, 'the simulated bus was really asked');
      assert.deepStrictEqual(job.settings, { baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1, timeout: 100, address: 1, profile: 'xy-md02' });
    });

    it('Test uses the form\'s values, not the deployed ones: a baud rate the bus does not use is diagnosed as BAUDRATE_MISMATCH', async function () {
      const started = await post('fieldlink/modbus-bus/test', tokens.admin, panel(scanBench.link, { baudRate: '19200', address: '3' }));
      assert.strictEqual(started.status, 202);
      const job = await finished(started.body.id);
      const verdict = job.findings[job.findings.length - 1];
      assert.strictEqual(verdict.code, 'BAUDRATE_MISMATCH', verdict.message);
      assert.strictEqual(verdict.details.found.baudRate, 9600);
      assert.strictEqual(verdict.details.found.address, 3);
      assert.ok(job.findings.some((f) => f.details && f.details.intermediate), 'the silent request step is kept, marked intermediate');
    });

    it('Scan finds the simulated units with their probed profile and reports progress', async function () {
      const started = await post('fieldlink/modbus-bus/scan', tokens.admin, panel(scanBench.link, { units: '1-8', baudRates: [9600], parities: ['none'] }));
      assert.strictEqual(started.status, 202);
      assert.strictEqual(started.body.kind, 'scan');
      const job = await finished(started.body.id);
      assert.strictEqual(job.state, 'done', JSON.stringify(job.error));
      assert.deepStrictEqual(job.findings, []);
      assert.deepStrictEqual(job.progress, { done: 8, total: 8, found: 2, address: 8, baudRate: 9600, parity: 'none' });
      assert.deepStrictEqual(job.units.map((u) => [u.address, u.baudRate, u.parity, u.answer]), [[3, 9600, 'none', 'reply'], [7, 9600, 'none', 'reply']]);
      assert.strictEqual(job.units[0].profile, 'xy-md02');
      assert.deepStrictEqual(job.units[0].values, { temperature: 21.5, humidity: 45 });
      assert.strictEqual(job.units[1].profile, 'xy-md02');
      assert.deepStrictEqual(job.units[1].values, { temperature: 19, humidity: 60 });
      assert.ok(job.units[0].profiles.length >= 1);
      assert.strictEqual(job.units[0].profiles[0].addressCheck, 'confirmed');
    });

    it('Cancel aborts a long scan at once and frees the port; one job per port at a time', async function () {
      const started = await post('fieldlink/modbus-bus/scan', tokens.admin, panel(scanBench.link, { units: '1-247', baudRates: [9600, 19200, 38400], parities: ['none', 'even'] }));
      assert.strictEqual(started.status, 202);
      const id = started.body.id;
      const second = await post('fieldlink/modbus-bus/test', tokens.admin, panel(scanBench.link));
      assert.strictEqual(second.status, 409);
      assert.strictEqual(second.body.code, 'EJOBRUNNING');
      assert.strictEqual(second.body.job, id);
      // Wait until it is past the two units at 9600 8N1.
      for (let i = 0; ; i++) {
        const r = await call('GET', `fieldlink/modbus-bus/jobs/${id}`, tokens.admin);
        if (r.body.progress && r.body.progress.done >= 10) break;
        assert.ok(i < 100, 'the scan made progress');
        await sleep(100);
      }
      const t0 = Date.now();
      const cancel = await post(`fieldlink/modbus-bus/jobs/${id}/cancel`, tokens.admin);
      assert.strictEqual(cancel.status, 200);
      const job = await finished(id, 3000);
      assert.strictEqual(job.state, 'cancelled');
      assert.ok(Date.now() - t0 < 2000, `cancelled in ${Date.now() - t0} ms`);
      assert.ok(job.progress.total === 247 * 6 && job.progress.done < job.progress.total);
      assert.deepStrictEqual(job.units.map((u) => u.address), [3, 7], 'the units found before the cancel are kept');
      // The port is free again: a test right after opens it and reads unit 3.
      const after = await post('fieldlink/modbus-bus/test', tokens.admin, panel(scanBench.link, { address: '3' }));
      assert.strictEqual(after.status, 202);
      const test = await finished(after.body.id);
      const verdict = test.findings[test.findings.length - 1];
      assert.strictEqual(verdict.code, 'OK', verdict.message);
      assert.deepStrictEqual(verdict.details.values, { temperature: 21.5, humidity: 45 });
    });

    it('a serial port the deployed flow holds: Test reads the unit through the flow\'s link; Scan needs the port to itself (PORT_BUSY, nothing opened)', async function () {
      const before = busy.sim.stats.bytesReceived;
      assert.strictEqual(before, 0, 'the deployed flow only holds the port');
      const started = await post('fieldlink/modbus-bus/test', tokens.admin, panel(busy.link, { address: '1' }));
      assert.strictEqual(started.status, 202);
      assert.deepStrictEqual(started.body.inUse.map((h) => [h.id, h.name]), [['mbus', 'deployed bus']]);
      assert.match(started.body.note, /deployed flow uses/);
      const job = await finished(started.body.id);
      assert.strictEqual(job.state, 'done', JSON.stringify(job.error));
      assert.strictEqual(job.via, 'pool');
      assert.deepStrictEqual(job.findings.map((f) => [f.step, f.code]), [['pool', 'OK'], ['read', 'OK']]);
      assert.deepStrictEqual(job.findings[1].details.values, { temperature: 21.5, humidity: 45 });
      assert.match(job.note, /needs the port to itself/, 'the full diagnosis says in one sentence why it did not run');
      assert.ok(busy.sim.stats.bytesReceived > before, 'the request went over the deployed link');

      const afterTest = busy.sim.stats.bytesReceived;
      const scan = await post('fieldlink/modbus-bus/scan', tokens.admin, panel(busy.link, { units: '1-3' }));
      const scanned = await finished(scan.body.id);
      assert.strictEqual(scanned.state, 'done');
      assert.deepStrictEqual(scanned.findings.map((f) => f.code), ['PORT_BUSY']);
      assert.match(scanned.findings[0].message, /needs the port to itself/);
      assert.deepStrictEqual(scanned.units, []);
      assert.strictEqual(busy.sim.stats.bytesReceived, afterTest, 'the scan sent nothing');
    });

    it('a TCP link the deployed flow holds: Test goes through the flow\'s connection, no second master', async function () {
      const before = tcpBusy.sim.stats.bytesReceived;
      assert.strictEqual(before, 0, 'the deployed flow only holds the connection');
      const started = await post('fieldlink/modbus-bus/test', tokens.admin, { connectionType: 'tcp', host: '127.0.0.1', port: String(tcpBusy.port), timeout: '200' });
      assert.strictEqual(started.status, 202);
      assert.strictEqual(started.body.target, `tcp://127.0.0.1:${tcpBusy.port}`);
      const job = await finished(started.body.id);
      assert.strictEqual(job.via, 'pool');
      assert.deepStrictEqual(job.findings.map((f) => [f.step, f.code]), [['pool', 'OK'], ['read', 'OK']]);
      assert.deepStrictEqual(job.inUse.map((h) => h.id), ['mtcp']);
      assert.ok(tcpBusy.sim.stats.bytesReceived > before, 'asked over the deployed connection');
    });

    it('a port the deployed flow is still trying to open: the Test opens it itself and says so', async function () {
      const started = await post('fieldlink/modbus-bus/test', tokens.admin, panel(path.join(tmp, 'gone-modbus')));
      assert.strictEqual(started.status, 202);
      assert.deepStrictEqual(started.body.inUse.map((h) => [h.id, h.state]), [['mgone', 'reconnecting']]);
      const job = await finished(started.body.id);
      assert.strictEqual(job.via, 'direct');
      assert.match(job.note, /trying to open .* has no link now, so the test opens the port itself/);
      assert.strictEqual(job.findings[0].code, 'PORT_NOT_FOUND');
    });

    it('a Test through the deployed link of a unit that does not answer: NO_DEVICE_RESPONSE, the link stays the flow\'s', async function () {
      const started = await post('fieldlink/modbus-bus/test', tokens.admin, panel(busy.link, { address: '9' }));
      assert.strictEqual(started.status, 202);
      const job = await finished(started.body.id);
      assert.strictEqual(job.via, 'pool');
      assert.deepStrictEqual(job.findings.map((f) => [f.step, f.code]), [['pool', 'OK'], ['read', 'NO_DEVICE_RESPONSE']]);
      assert.strictEqual(job.findings[1].ok, false);
    });
  });

  describe('M307 device panel', function () {
    it('Test through the deployed flow\'s connection: the identity from the pooled client, no second connection', async function () {
      const r = await runJob('fieldlink/m307-device/test', { host: '127.0.0.1', port: String(m307Pooled.port), timeout: '1000' });
      assert.strictEqual(r.status, 200, JSON.stringify(r.body));
      assert.strictEqual(r.body.via, 'pool');
      assert.match(r.body.note, /deployed flow's connection/);
      assert.deepStrictEqual(r.body.inUse.map((h) => [h.id, h.state]), [['m307', 'open']]);
      assert.deepStrictEqual(r.body.findings.map((f) => [f.step, f.code]), [['pool', 'OK'], ['protocol', 'OK'], ['identity', 'OK']]);
      assert.match(r.body.findings[0].message, /only TCP connection/);
      const id = r.body.findings[2].details;
      assert.strictEqual(id.deviceName, 'Cold Room 1');
      assert.strictEqual(id.serialNumber, 'M307000001');
      assert.strictEqual(id.macAddress, '00:20:4A:3D:47:11');
      assert.strictEqual(m307Pooled.sim.stats.connections, 1, 'only the flow\'s connection');
      assert.strictEqual(m307Pooled.sim.stats.refused, 0);
    });

    it('Test of a device the flow does not use: reachable, speaks M307, its identity', async function () {
      const before = m307Free.sim.stats.connections;
      const r = await runJob('fieldlink/m307-device/test', { host: '127.0.0.1', port: String(m307Free.port), timeout: '1000' });
      assert.strictEqual(r.status, 200, JSON.stringify(r.body));
      assert.strictEqual(r.body.via, 'direct');
      assert.deepStrictEqual(r.body.inUse, []);
      assert.deepStrictEqual(r.body.findings.map((f) => [f.step, f.code]), [['tcp', 'OK'], ['protocol', 'OK'], ['identity', 'OK']]);
      assert.strictEqual(r.body.findings[2].details.deviceName, 'Freezer 2');
      assert.strictEqual(r.body.findings[2].details.serialNumber, 'M307000002');
      assert.ok(m307Free.sim.stats.connections > before);
      for (let i = 0; m307Free.sim.clients() > 0; i++) {
        assert.ok(i < 20, 'the test closed its connection');
        await sleep(50);
      }
    });

    it('another client holds the device: DEVICE_BUSY (the device turned the test away)', async function () {
      const other = await M307Client.connect('127.0.0.1', { port: m307Free.port, timeout: 1000 });
      try {
        const refusedBefore = m307Free.sim.stats.refused;
        const r = await runJob('fieldlink/m307-device/test', { host: '127.0.0.1', port: String(m307Free.port), timeout: '1000' });
        assert.strictEqual(r.status, 200);
        assert.strictEqual(r.body.via, 'direct');
        const last = r.body.findings[r.body.findings.length - 1];
        assert.strictEqual(last.code, 'DEVICE_BUSY');
        assert.match(last.message, /one TCP client at a time/);
        assert.ok(m307Free.sim.stats.refused > refusedBefore);
      } finally {
        await other.close();
      }
    });

    it('nothing listens: CONNECTION_REFUSED', async function () {
      const r = await runJob('fieldlink/m307-device/test', { host: '127.0.0.1', port: '1', timeout: '1000' });
      assert.strictEqual(r.status, 200);
      assert.deepStrictEqual(r.body.findings.map((f) => f.code), ['CONNECTION_REFUSED']);
    });
  });

  describe('every Test and Scan is a cancellable job', function () {
    async function cancelWhenProgress(base, id) {
      for (let i = 0; ; i++) {
        const r = await call('GET', `${base}/jobs/${id}`, tokens.admin);
        assert.strictEqual(r.status, 200);
        if (r.body.progress) break;
        assert.ok(i < 100, 'the job shows progress');
        await sleep(50);
      }
      const t0 = Date.now();
      const cancel = await post(`${base}/jobs/${id}/cancel`, tokens.admin);
      assert.strictEqual(cancel.status, 200);
      const job = await finished(id, 3000, base);
      return { job, ms: Date.now() - t0 };
    }

    it('a MATE scan shows the hub port it is at, and Cancel stops it and frees the port', async function () {
      // A long answer time: every empty hub port costs 2 x 1.5 s.
      const started = await post('fieldlink/mate-bus/scan', tokens.admin, { serialPort: mateFree.link, timeout: '1500', retries: '1' });
      assert.strictEqual(started.status, 202);
      assert.strictEqual(started.body.state, 'running');
      const second = await post('fieldlink/mate-bus/scan', tokens.admin, { serialPort: mateFree.link, timeout: '40' });
      assert.strictEqual(second.status, 409, 'one job per port');
      assert.strictEqual(second.body.job, started.body.id);
      const { job: scan, ms } = await cancelWhenProgress('fieldlink/mate-bus', started.body.id);
      assert.strictEqual(scan.state, 'cancelled');
      assert.ok(ms < 2000, `cancelled in ${ms} ms`);
      assert.strictEqual(typeof scan.progress.port, 'number');
      assert.strictEqual(scan.progress.of, 10);
      const again = await runJob('fieldlink/mate-bus/scan', { serialPort: mateFree.link, timeout: '40', retries: '1' });
      assert.strictEqual(again.body.state, 'done', 'the port was free again');
      assert.strictEqual(again.body.findings[again.body.findings.length - 1].code, 'OK');
    });

    it('an M307 test of a device that never answers shows its step, and Cancel ends it at once', async function () {
      const net = require('node:net');
      const sockets = new Set();
      const silent = net.createServer((sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
      });
      await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const started = await post('fieldlink/m307-device/test', tokens.admin, { host: '127.0.0.1', port: String(silent.address().port), timeout: '8000' });
        assert.strictEqual(started.status, 202);
        const { job: test, ms } = await cancelWhenProgress('fieldlink/m307-device', started.body.id);
        assert.strictEqual(test.state, 'cancelled');
        assert.ok(ms < 1000, `cancelled in ${ms} ms`);
        assert.strictEqual(test.via, 'direct');
        assert.strictEqual(test.progress.step, 'tcp');
        assert.strictEqual(test.progress.total, 3);
      } finally {
        for (const sock of sockets) sock.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });

  describe('MATE bus panel', function () {
    const expected = [[0, 'hub', null], [1, 'mx', '1.9.8'], [2, 'fx', '61'], [3, 'dc', '1.1.71']];
    const rows = (devices) => devices.map((d) => [d.port, d.type, d.firmware || null]);

    it('Scan through the deployed flow\'s bus: hub, MX, FX and DC with firmware', async function () {
      const before = mateDeployed.sim.stats.commands;
      const r = await runJob('fieldlink/mate-bus/scan', { serialPort: mateDeployed.link, timeout: '40', retries: '1' });
      assert.strictEqual(r.status, 200, JSON.stringify(r.body));
      assert.strictEqual(r.body.via, 'pool');
      assert.match(r.body.note, /deployed flow's bus/);
      assert.deepStrictEqual(r.body.inUse.map((h) => h.id), ['mate']);
      assert.deepStrictEqual(rows(r.body.devices), expected);
      const verdict = r.body.findings[r.body.findings.length - 1];
      assert.strictEqual(verdict.code, 'OK');
      assert.match(verdict.message, /MX\/FM charge controller on port 1 \(firmware 1\.9\.8\)/);
      assert.ok(mateDeployed.sim.stats.commands > before, 'the scan went over the bus');
    });

    it('Scan of a port the flow does not use: port check, then the hub ports with firmware', async function () {
      const r = await runJob('fieldlink/mate-bus/scan', { serialPort: mateFree.link, timeout: '40', retries: '1', parityMode: 'auto', transport: 'serial' });
      assert.strictEqual(r.status, 200, JSON.stringify(r.body));
      assert.strictEqual(r.body.via, 'direct');
      assert.deepStrictEqual(r.body.inUse, []);
      assert.deepStrictEqual(rows(r.body.devices), expected);
      assert.deepStrictEqual(r.body.findings.map((f) => [f.step, f.code]), [['port', 'OK'], ['scan', 'OK']]);
    });

    it('a missing port: PORT_NOT_FOUND', async function () {
      const r = await runJob('fieldlink/mate-bus/scan', { serialPort: path.join(tmp, 'no-mate'), timeout: '40' });
      assert.strictEqual(r.status, 200);
      // PORT_NOT_FOUND first; the verdict is NO_RS485_CONVERTER when this machine has no adapter.
      assert.strictEqual(r.body.findings[0].code, 'PORT_NOT_FOUND');
      assert.ok(['PORT_NOT_FOUND', 'NO_RS485_CONVERTER'].includes(r.body.findings[r.body.findings.length - 1].code));
      assert.deepStrictEqual(r.body.devices, []);
    });
  });
});
