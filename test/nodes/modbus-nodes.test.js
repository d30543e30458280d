'use strict';
// The Node-RED nodes (fieldlink-modbus-bus + fieldlink-modbus-sensor) under
// node-red-node-test-helper, against the JS simulator over a pseudo-terminal and over TCP
// (RTU over TCP): readings, polling, one shared link, errors reaching a Catch node, commands,
// the first open retried until the port appears, a lost link coming back, and the port
// released on redeploy.
const assert = require('node:assert');
const { collect, assertPolledEvery } = require('../support/messages');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const helper = require('node-red-node-test-helper');

const busNode = require('../../nodes/modbus-bus.js');
const sensorNode = require('../../nodes/modbus-sensor.js');
const catchNode = require('../support/node-red').coreNode('common/25-catch.js');
const registry = require('../../lib/registry');
const { ModbusBus } = require('../..');
const { ModbusSimulator, serveTcp, servePty } = require('../../lib/sim/modbus');

helper.init(require('../support/node-red').nodeRedRuntime());

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-nodes-'));
let linkCounter = 0;
const newLink = () => path.join(tmp, `tty${++linkCounter}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function makeSim() {
  return new ModbusSimulator({
    units: [
      { address: 1, temperature: 30.5, humidity: 54.6, drift: false },
      { address: 2, temperature: -20.5, humidity: 10.0, drift: false },
    ],
  });
}

// Bus config node settings for a served simulator.
const transports = {
  pty: async (sim, link = newLink()) => {
    const served = await servePty(sim, { link });
    return { bus: { connectionType: 'serial', serialPort: link }, link, close: () => served.close() };
  },
  tcp: async (sim) => {
    const served = await serveTcp(sim, { port: 0 });
    return { bus: { connectionType: 'tcp', host: '127.0.0.1', port: String(served.port) }, close: () => served.close() };
  },
};

/**
 * A flow: tab f1, bus config "bus", sensors (default one on unit 1) wired to helper "out",
 * a Catch node wired to helper "caught".
 */
function makeFlow(busSettings, { sensors = [{ id: 's1', unit: 1 }], extra = [] } = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    {
      id: 'bus', type: 'fieldlink-modbus-bus', name: 'test bus', baudRate: '9600', parity: 'none', dataBits: '8', stopBits: '1',
      timeout: '400', retries: '0', interFrameDelay: '', reconnectMinDelay: '100', reconnectMaxDelay: '400', ...busSettings,
    },
    ...sensors.map((s) => ({
      type: 'fieldlink-modbus-sensor', z: 'f1', bus: 'bus', profile: 'xy-md02', interval: '0', topic: '', wires: [['out']], ...s,
    })),
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'c1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    ...extra,
  ];
}

function load(flow) {
  return new Promise((resolve, reject) => {
    helper.load([busNode, sensorNode, catchNode], flow, (err) => (err ? reject(err) : resolve()));
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

const isReading = (st) => st.fill === 'green' && st.shape === 'dot';

describe('Node-RED nodes: Modbus T/H sensor', function () {
  let sim;
  let served;
  const closers = [];

  beforeEach(function (done) {
    sim = makeSim();
    helper.startServer(done);
  });

  afterEach(async function () {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
    for (const c of closers.splice(0)) await c();
    if (served) await served.close();
    served = null;
    sim.close();
  });

  for (const [name, serve] of Object.entries(transports)) {
    describe(`over ${name}`, function () {
      it('answers an input message with the reading: payload, topic and a green status', async function () {
        served = await serve(sim);
        await load(makeFlow(served.bus, { sensors: [{ id: 's1', unit: 1 }, { id: 's2', unit: 2, topic: 'cellar' }] }));
        const s1 = helper.getNode('s1');
        const status = watchStatus(s1);
        const out = helper.getNode('out');

        const before = Date.now();
        let got = collect(out, 1);
        s1.receive({ payload: 'anything', keep: 'me' });
        const [m1] = await got;
        assert.deepStrictEqual(Object.keys(m1.payload).sort(), ['address', 'humidity', 'temperature', 'timestamp', 'units', 'valid']);
        assert.strictEqual(m1.payload.temperature, 30.5);
        assert.strictEqual(m1.payload.humidity, 54.6);
        assert.strictEqual(m1.payload.valid, true);
        assert.strictEqual(m1.payload.address, 1);
        assert.deepStrictEqual(m1.payload.units, { temperature: '°C', humidity: '%RH' });
        assert.match(m1.payload.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(Date.parse(m1.payload.timestamp) >= before - 5);
        assert.strictEqual(m1.topic, 'modbus/1');
        assert.strictEqual(m1.keep, 'me', 'the rest of the message passes through');
        const st = await status.wait(isReading);
        assert.strictEqual(st.text, '30.5 °C 54.6 %RH');

        got = collect(out, 1);
        helper.getNode('s2').receive({ payload: { command: 'read' } });
        const [m2] = await got;
        assert.strictEqual(m2.payload.temperature, -20.5);
        assert.strictEqual(m2.payload.humidity, 10);
        assert.strictEqual(m2.topic, 'cellar');
        assert.strictEqual(sim.unit(1).stats.requests, 1);
        assert.strictEqual(sim.unit(2).stats.requests, 1);
      });

      it('polls on its interval without any input', async function () {
        served = await serve(sim);
        await load(makeFlow(served.bus, { sensors: [{ id: 's1', unit: 2, interval: '0.2' }] }));
        const msgs = await collect(helper.getNode('out'), 4);
        for (const m of msgs) {
          assert.strictEqual(m.payload.temperature, -20.5);
          assert.strictEqual(m.payload.address, 2);
        }
        // One read when the link opens, then every 0.2 s.
        assertPolledEvery(msgs, 200);
        assert.ok(sim.unit(2).stats.requests >= 4);
        assert.strictEqual(sim.unit(1).stats.requests, 0);
      });
    });
  }

  it('two sensors and two config nodes on one port share one link', async function () {
    served = await transports.pty(sim);
    const flow = makeFlow(served.bus, {
      sensors: [{ id: 's1', unit: 1 }, { id: 's2', unit: 2 }, { id: 's3', unit: 1, bus: 'bus2' }],
      extra: [{ id: 'bus2', type: 'fieldlink-modbus-bus', connectionType: 'serial', serialPort: fs.realpathSync(served.link), baudRate: '9600', timeout: '150' }],
    });
    await load(flow);
    const out = helper.getNode('out');
    const got = collect(out, 3);
    for (const id of ['s1', 's2', 's3']) helper.getNode(id).receive({ payload: '' });
    const msgs = await got;
    assert.deepStrictEqual(msgs.map((m) => m.payload.temperature).sort((a, b) => a - b), [-20.5, 30.5, 30.5]);
    assert.strictEqual(registry.openBusCount(), 1);
    assert.strictEqual(helper.getNode('bus').bus, helper.getNode('bus2').bus, 'both config nodes hold the same ModbusBus');
    // The port is held once: a second program is refused.
    await assert.rejects(ModbusBus.open(served.link), (err) => err.code === 'EBUSY');
  });

  it('a silent unit: ETIMEDOUT reaches a Catch node with msg.error.code and the status turns red', async function () {
    served = await transports.tcp(sim);
    sim.setFault(1, 'silent');
    await load(makeFlow(served.bus));
    const s1 = helper.getNode('s1');
    const status = watchStatus(s1);
    await status.wait((st) => st.fill === 'green', 3000, 'connected status');
    const caught = collect(helper.getNode('caught'), 1);
    let sent = 0;
    helper.getNode('out').on('input', () => sent++);
    s1.receive({ payload: '', _msgid: 'm-silent', tag: 42 });
    const [err] = await caught;
    assert.strictEqual(err.error.code, 'ETIMEDOUT');
    assert.strictEqual(err.error.source.id, 's1');
    assert.strictEqual(err.tag, 42, 'the Catch node gets the message that failed');
    const st = await status.wait((x) => x.fill === 'red');
    assert.strictEqual(st.shape, 'ring');
    assert.match(st.text, /ETIMEDOUT/);
    assert.strictEqual(sent, 0);

    // The unit answers again: the next read is green, without a redeploy.
    sim.clearFault(1);
    const got = collect(helper.getNode('out'), 1);
    s1.receive({ payload: '' });
    await got;
    assert.strictEqual((await status.wait(isReading)).text, '30.5 °C 54.6 %RH');
  });

  it('poll errors reach the Catch node too, and polls never overlap', async function () {
    served = await transports.pty(sim);
    sim.setFault(2, 'slow', { delayMs: 450 });
    const bus = { ...served.bus, timeout: '1000' };
    await load(makeFlow(bus, { sensors: [{ id: 's1', unit: 2, interval: '0.1' }] }));
    const msgs = await collect(helper.getNode('out'), 2);
    assert.strictEqual(msgs[0].payload.temperature, -20.5);
    // ~1 s of 0.1 s ticks with 0.45 s reads: without the guard ~8 reads would pile up in the
    // bus queue behind the one on the wire.
    const { queueDepth } = await helper.getNode('bus').bus.stats();
    assert.ok(queueDepth <= 1, `queue depth ${queueDepth}`);
    assert.ok(sim.unit(2).stats.requests <= 3, `${sim.unit(2).stats.requests} requests for 2 answers`);
    assert.ok(helper.getNode('s1').pollsSkipped >= 4, `skipped ${helper.getNode('s1').pollsSkipped}`);

    sim.setFault(2, 'silent');
    const [caught] = await collect(helper.getNode('caught'), 1);
    assert.strictEqual(caught.error.code, 'ETIMEDOUT');
    assert.strictEqual(caught.topic, 'modbus/2');
  });

  it('setTemperatureCorrection writes, verifies and reports; readConfig reads it back', async function () {
    served = await transports.pty(sim);
    await load(makeFlow(served.bus));
    const s1 = helper.getNode('s1');
    const out = helper.getNode('out');

    let got = collect(out, 1);
    s1.receive({ payload: { command: 'setTemperatureCorrection', value: '1.5' } });
    let [m] = await got;
    assert.strictEqual(m.payload.command, 'setTemperatureCorrection');
    assert.strictEqual(m.payload.result, 1.5);
    assert.strictEqual(m.payload.address, 1);
    assert.strictEqual(m.topic, 'modbus/1');
    assert.strictEqual(sim.unit(1).registers.temperatureCorrection, 15, 'the simulator holds +1.5 °C (×10)');

    got = collect(out, 1);
    s1.receive({ payload: { command: 'readConfig' } });
    [m] = await got;
    assert.strictEqual(m.payload.result.temperatureCorrection, 1.5);
    assert.strictEqual(m.payload.result.humidityCorrection, 0);
    assert.strictEqual(m.payload.result.address, 1);
    assert.strictEqual(m.payload.result.baudRate, 9600);

    got = collect(out, 1);
    s1.receive({ payload: {} });
    [m] = await got;
    assert.strictEqual(m.payload.temperature, 32, 'the sensor adds its correction');

    // Out of range: refused before anything is sent, reported to the Catch node.
    const frames = sim.stats.framesReceived;
    const caught = collect(helper.getNode('caught'), 1);
    s1.receive({ payload: { command: 'setHumidityCorrection', value: 25 } });
    const [e] = await caught;
    assert.strictEqual(e.error.code, 'ERANGE');
    assert.strictEqual(sim.stats.framesReceived, frames);
  });

  it('an unknown command is refused with EINVAL and nothing on the wire', async function () {
    served = await transports.tcp(sim);
    await load(makeFlow(served.bus));
    const s1 = helper.getNode('s1');
    const status = watchStatus(s1);
    await status.wait((st) => st.fill === 'green', 3000, 'connected status');
    const caught = collect(helper.getNode('caught'), 1);
    s1.receive({ payload: { command: 'reboot' } });
    const [e] = await caught;
    assert.strictEqual(e.error.code, 'EINVAL');
    assert.match(e.error.message, /reboot/);
    assert.strictEqual(sim.stats.framesReceived, 0);
  });

  it('a missing port is retried until it appears, with a yellow "reconnecting" status meanwhile', async function () {
    const link = newLink();
    await load(makeFlow({ connectionType: 'serial', serialPort: link }, { sensors: [{ id: 's1', unit: 1, interval: '0.2' }] }));
    const s1 = helper.getNode('s1');
    const status = watchStatus(s1);
    const st = await status.wait((x) => x.fill === 'yellow' && /reconnecting/.test(x.text), 3000, 'reconnecting status');
    assert.strictEqual(st.shape, 'ring');
    assert.match(st.text, /reconnecting in \d+s \(ENOENT\)/);
    assert.strictEqual(helper.getNode('bus').state.state === 'reconnecting' || helper.getNode('bus').state.state === 'connecting', true);

    // An input message meanwhile fails at once with ENOTCONNECTED instead of hanging.
    const caught = collect(helper.getNode('caught'), 1);
    s1.receive({ payload: '' });
    assert.strictEqual((await caught)[0].error.code, 'ENOTCONNECTED');

    served = await transports.pty(sim, link); // the adapter is plugged in
    const [m] = await collect(helper.getNode('out'), 1);
    assert.strictEqual(m.payload.temperature, 30.5);
    await status.wait(isReading);
    assert.strictEqual(helper.getNode('bus').state.state, 'open');
  });

  it('a lost link comes back by itself (unplug, replug) and the status follows', async function () {
    const link = newLink();
    served = await transports.pty(sim, link);
    await load(makeFlow(served.bus, { sensors: [{ id: 's1', unit: 1, interval: '0.2' }] }));
    const s1 = helper.getNode('s1');
    const status = watchStatus(s1);
    await status.wait(isReading, 3000, 'first reading');

    await served.close(); // unplugged
    served = null;
    const st = await status.wait((x) => x.fill === 'yellow' && /reconnecting/.test(x.text), 3000, 'reconnecting status');
    assert.strictEqual(st.shape, 'ring');

    await sleep(300);
    served = await transports.pty(sim, link); // plugged in again
    const n = status.seen.length;
    await status.wait((x) => isReading(x) && status.seen.indexOf(x) >= n, 5000, 'reading after the replug');
    assert.strictEqual(registry.openBusCount(), 1);
  });

  it('unload (redeploy, stop) releases the port within 2 s; it can be opened exclusively again', async function () {
    served = await transports.pty(sim);
    await load(makeFlow(served.bus, { sensors: [{ id: 's1', unit: 1, interval: '0.1' }, { id: 's2', unit: 2, interval: '0.1' }] }));
    await collect(helper.getNode('out'), 4);
    assert.strictEqual(registry.openBusCount(), 1);
    const t0 = Date.now();
    await helper.unload();
    const took = Date.now() - t0;
    assert.ok(took < 2000, `unload took ${took} ms`);
    assert.strictEqual(registry.openBusCount(), 0);
    const bus = await ModbusBus.open(served.link); // flock()ed: EBUSY if anything still held it
    try {
      assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
    } finally {
      await bus.close();
    }
  });

  it('full and modified-nodes deploys restart cleanly on the same link', async function () {
    served = await transports.pty(sim);
    const flow = makeFlow(served.bus, { sensors: [{ id: 's1', unit: 1 }, { id: 's2', unit: 2 }] });
    await load(flow);
    const readBoth = async () => {
      const out = helper.getNode('out'); // a full deploy makes new nodes
      const got = collect(out, 2);
      helper.getNode('s1').receive({ payload: '' });
      helper.getNode('s2').receive({ payload: '' });
      return (await got).map((m) => m.payload.temperature).sort((a, b) => a - b);
    };
    assert.deepStrictEqual(await readBoth(), [-20.5, 30.5]);
    const firstBus = helper.getNode('bus').bus;

    // Modified nodes only: the sensor restarts, the bus config node (and its link) stays.
    const changed = flow.map((n) => (n.id === 's2' ? { ...n, topic: 'renamed' } : n));
    await helper.setFlows(changed, 'nodes');
    assert.strictEqual(helper.getNode('bus').bus, firstBus);
    assert.deepStrictEqual(await readBoth(), [-20.5, 30.5]);

    // Full deploy: everything stops (the port is released) and starts again.
    await helper.setFlows(changed, 'full');
    const status = watchStatus(helper.getNode('s1'));
    await status.wait((st) => st.fill === 'green', 3000, 'connected after a full deploy');
    assert.notStrictEqual(helper.getNode('bus').bus, firstBus);
    assert.deepStrictEqual(await readBoth(), [-20.5, 30.5]);
    assert.strictEqual(registry.openBusCount(), 1);
  });

  it('rejected settings leave a red status, not an endless retry', async function () {
    served = await transports.pty(sim);
    await load(makeFlow({ ...served.bus, baudRate: '1234' }, { sensors: [{ id: 's1', unit: 1 }, { id: 's2', unit: 300, bus: 'bus' }] }));
    const s1 = watchStatus(helper.getNode('s1'));
    const st = await s1.wait((x) => x.fill === 'red', 3000, 'red status');
    assert.match(st.text, /EINVAL/);
    assert.strictEqual(helper.getNode('bus').state.state, 'failed');
    await sleep(300);
    assert.strictEqual(helper.getNode('bus').state.state, 'failed', 'no retry of a bad setting');
    assert.strictEqual(registry.openBusCount(), 0);

    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('s1').receive({ payload: '' });
    helper.getNode('s2').receive({ payload: '' });
    const codes = (await caught).map((m) => `${m.error.source.id}:${m.error.code}`).sort();
    assert.deepStrictEqual(codes, ['s1:EINVAL', 's2:ERANGE']);
    assert.strictEqual(sim.stats.framesReceived, 0);
  });

  it('GET /fieldlink/ports answers a JSON array of ports', async function () {
    served = await transports.tcp(sim);
    await load(makeFlow(served.bus));
    const res = await helper.request().get('/fieldlink/ports').expect(200).expect('Content-Type', /json/);
    assert.ok(Array.isArray(res.body));
    for (const p of res.body) {
      assert.strictEqual(typeof p.path, 'string');
      assert.ok('preferredPath' in p && 'manufacturer' in p && typeof p.isRs485 === 'boolean');
    }
  });
});
