'use strict';
// The MATE Node-RED nodes (fieldlink-mate-bus, -mx, -fx, -dc, -fx-control) under
// node-red-node-test-helper, against the JS MATE simulator on a pseudo-terminal with the
// 'capture' preset (fixed values: MX battery 25.4 V, FX 230 V, DC SOC 76 %): status payloads
// with units and text, auto-find, register reads, MX log pages, the FX control opt-ins, one
// shared MateBus, errors reaching a Catch node, master duties, the first open retried until
// the port appears, and the port released on unload.
const assert = require('node:assert');
const { collect } = require('../support/messages');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const helper = require('node-red-node-test-helper');

const busNode = require('../../nodes/mate-bus.js');
const mxNode = require('../../nodes/mate-mx.js');
const fxNode = require('../../nodes/mate-fx.js');
const dcNode = require('../../nodes/mate-dc.js');
const fxControlNode = require('../../nodes/mate-fx-control.js');
const catchNode = require('../support/node-red').coreNode('common/25-catch.js');
const pool = require('../../nodes/lib/mate-pool');
const { MateBus } = require('../..');
const { MateSimulator, servePty } = require('../../lib/sim/mate');

helper.init(require('../support/node-red').nodeRedRuntime());

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-mate-nodes-'));
let linkCounter = 0;
const newLink = () => path.join(tmp, `tty${++linkCounter}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Small timeouts: a scan of the hub costs timeout x 2 for each of the 7 empty ports.
const BUS = { timeout: '150', retries: '1', parityMode: 'auto', transport: 'serial', reconnectMinDelay: '100', reconnectMaxDelay: '400' };

/**
 * A flow: tab f1, bus config "bus" on `link`, the given flow nodes (wired to helper "out" unless
 * they say otherwise), a Catch node wired to helper "caught".
 */
function makeFlow(link, nodes, { bus = {}, extra = [] } = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'bus', type: 'fieldlink-mate-bus', name: 'test bus', serialPort: link, masterDuties: false, allowControl: false, ...BUS, ...bus },
    ...nodes.map((n) => ({ z: 'f1', bus: 'bus', interval: '0', topic: '', wires: [['out']], ...n })),
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'c1', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    ...extra,
  ];
}

function load(flow) {
  return new Promise((resolve, reject) => {
    helper.load([busNode, mxNode, fxNode, dcNode, fxControlNode, catchNode], flow, (err) => (err ? reject(err) : resolve()));
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

/** Sends msg to node id and resolves with the one message that comes out at "out". */
async function ask(id, payload, ms = 4000) {
  const got = collect(helper.getNode('out'), 1, ms);
  helper.getNode(id).receive({ payload });
  return (await got)[0];
}

const isReading = (st) => st.fill === 'green' && st.shape === 'dot';

describe('Node-RED nodes: MATE bus', function () {
  let sim;
  let served;

  async function serve(opts = { preset: 'capture' }, link = newLink()) {
    sim = new MateSimulator(opts);
    served = await servePty(sim, { link });
    return link;
  }

  beforeEach(function (done) {
    helper.startServer(done);
  });

  afterEach(async function () {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
    if (served) await served.close();
    served = null;
    if (sim) sim.close();
    sim = null;
  });

  it('MX, FX and DC status on explicit hub ports: capture values, units, text and green summaries', async function () {
    const link = await serve();
    await load(makeFlow(link, [
      { id: 'mx', type: 'fieldlink-mate-mx', port: '1' },
      { id: 'fx', type: 'fieldlink-mate-fx', port: '2' },
      { id: 'dc', type: 'fieldlink-mate-dc', port: '3', topic: 'battery' },
    ]));
    const st = { mx: watchStatus(helper.getNode('mx')), fx: watchStatus(helper.getNode('fx')), dc: watchStatus(helper.getNode('dc')) };

    const mx = await ask('mx', 'tick');
    assert.strictEqual(mx.kind, 'status');
    assert.strictEqual(mx.topic, 'mate/mx');
    assert.strictEqual(mx.payload.batteryVoltage, 25.4);
    assert.strictEqual(mx.payload.pvVoltage, 68);
    assert.strictEqual(mx.payload.pvCurrent, 4);
    assert.strictEqual(mx.payload.kilowattHours, 2.1);
    assert.strictEqual(mx.payload.chargerMode, 'bulk');
    assert.strictEqual(mx.payload.pvPower, 272, '68 V x 4 A');
    assert.strictEqual(mx.payload.chargerPower, 251, '25.4 V x 9.9 A');
    assert.strictEqual(mx.payload.port, 1);
    assert.strictEqual(mx.payload.units.batteryVoltage, 'V');
    assert.strictEqual(mx.payload.units.pvPower, 'W');
    assert.strictEqual(mx.payload.text.batteryVoltage, '25.4 V');
    assert.strictEqual(mx.payload.text.kilowattHours, '2.10 kWh');
    assert.strictEqual(mx.payload.text.pvPower, '272 W');
    assert.deepStrictEqual(JSON.parse(JSON.stringify(mx.payload)), mx.payload, 'the payload is plain JSON');
    assert.strictEqual((await st.mx.wait(isReading)).text, '272 W 25.4 V bulk');

    const fx = await ask('fx', {});
    assert.strictEqual(fx.payload.acOutputVoltage, 230);
    assert.strictEqual(fx.payload.batteryVoltage, 25.6);
    assert.strictEqual(fx.payload.operationalMode, 'silent');
    assert.strictEqual(fx.payload.acMode, 'ac-use');
    assert.strictEqual(fx.payload.is230V, true);
    assert.deepStrictEqual(fx.payload.errors, []);
    assert.strictEqual(fx.payload.text.acOutputVoltage, '230.0 V');
    assert.strictEqual(fx.payload.port, 2);
    assert.strictEqual((await st.fx.wait(isReading)).text, 'silent 230 V');

    const dc = await ask('dc', {});
    assert.strictEqual(dc.topic, 'battery');
    assert.strictEqual(dc.payload.stateOfCharge, 76);
    assert.strictEqual(dc.payload.batteryVoltage, 25.6);
    assert.strictEqual(dc.payload.minSocToday, 71);
    assert.strictEqual(dc.payload.text.stateOfCharge, '76 %');
    assert.strictEqual(dc.payload.shuntA.current, -5.6);
    assert.strictEqual(dc.payload.shuntA.units.current, 'A');
    assert.strictEqual(dc.payload.shuntA.text.current, '-5.6 A');
    assert.strictEqual((await st.dc.wait(isReading)).text, 'SOC 76 %');
    // Explicit ports: no scan happened (port 0, the hub, was never asked).
    assert.strictEqual(sim.stats.byPort[0], undefined);
  });

  it('polls on its interval, and auto-find locates each device by type with one shared scan', async function () {
    const link = await serve({ preset: 'capture', devices: [{ port: 4, type: 'mx' }, { port: 7, type: 'dc' }] });
    await load(makeFlow(link, [
      { id: 'mx', type: 'fieldlink-mate-mx', port: 'auto', interval: '0.3' },
      { id: 'dc', type: 'fieldlink-mate-dc', port: 'auto', interval: '0.3', pages: '3' },
    ]));
    const msgs = await collect(helper.getNode('out'), 6);
    const mx = msgs.filter((m) => m.topic === 'mate/mx');
    const dc = msgs.filter((m) => m.topic === 'mate/dc');
    assert.ok(mx.length >= 2 && dc.length >= 2, `${mx.length} MX and ${dc.length} DC messages`);
    assert.strictEqual(mx[0].payload.port, 4);
    assert.strictEqual(mx[0].payload.batteryVoltage, 25.4);
    assert.strictEqual(dc[0].payload.port, 7);
    assert.strictEqual(dc[0].payload.pages, 3);
    assert.strictEqual(dc[0].payload.stateOfCharge, 76);
    // One scan for both nodes: the hub port and each empty port were probed once (+1 retry each).
    assert.strictEqual(sim.stats.byPort[0].commands, 1);
    assert.strictEqual(sim.stats.byPort[5].commands, 2, 'an empty port: one try and one retry');
  });

  it('reads a named register; an unknown name is EINVAL at the Catch node with nothing sent', async function () {
    const link = await serve();
    await load(makeFlow(link, [
      { id: 'mx', type: 'fieldlink-mate-mx', port: '1' },
      { id: 'dc', type: 'fieldlink-mate-dc', port: '3' },
    ]));
    const m = await ask('mx', { register: 'chargerMode' });
    assert.strictEqual(m.kind, 'register');
    assert.strictEqual(m.payload.register, 'chargerMode');
    assert.strictEqual(m.payload.value, 2);
    assert.strictEqual(m.payload.address, 0x01c8);
    assert.strictEqual(m.payload.port, 1);
    const d = await ask('dc', { register: 'stateOfCharge' });
    assert.strictEqual(d.payload.value, 76);
    assert.strictEqual(d.payload.unit, '%');
    assert.deepStrictEqual(d.payload.units, { value: '%' });
    assert.deepStrictEqual(d.payload.text, { value: '76 %' });

    const before = sim.stats.bytesReceived;
    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('mx').receive({ payload: { register: 'noSuchRegister' } });
    helper.getNode('dc').receive({ payload: { register: 42 } });
    const errs = await caught;
    assert.deepStrictEqual(errs.map((e) => `${e.error.source.id}:${e.error.code}`).sort(), ['dc:EINVAL', 'mx:EINVAL']);
    assert.match(errs.find((e) => e.error.source.id === 'mx').error.message, /noSuchRegister/);
    assert.strictEqual(sim.stats.bytesReceived, before);
  });

  it('MX log: one page (logPage) and the last N days in one message (logDays)', async function () {
    const link = await serve();
    await load(makeFlow(link, [{ id: 'mx', type: 'fieldlink-mate-mx', port: '1' }]));

    const today = await ask('mx', { logPage: 0 });
    assert.strictEqual(today.kind, 'logPage');
    assert.strictEqual(today.payload.day, 0);
    assert.strictEqual(today.payload.kilowattHours, 2.2);
    assert.strictEqual(today.payload.peakPvVoltage, 85);
    assert.strictEqual(today.payload.units.kilowattHours, 'kWh');
    assert.strictEqual(today.payload.text.peakKilowatts, '1.047 kW');
    const old = await ask('mx', { logPage: '-127' });
    assert.strictEqual(old.payload.day, -127);
    assert.strictEqual(old.payload.kilowattHours, 2.4);
    assert.strictEqual(old.payload.floatMinutes, 492);

    const log = await ask('mx', { logDays: 30 });
    assert.strictEqual(log.kind, 'log');
    assert.strictEqual(log.payload.days, 30);
    assert.strictEqual(log.payload.pages.length, 30);
    assert.deepStrictEqual(log.payload.pages.map((p) => p.day), Array.from({ length: 30 }, (_, i) => (i === 0 ? 0 : -i)));
    assert.strictEqual(log.payload.pages[0].kilowattHours, 2.2);
    for (const p of log.payload.pages) {
      assert.ok(p.kilowattHours >= 0 && p.kilowattHours < 20, `day ${p.day}: ${p.kilowattHours} kWh`);
      assert.match(p.date, /^\d{4}-\d\d-\d\d$/);
      assert.strictEqual(p.units.kilowattHours, 'kWh');
    }
    const d0 = new Date(`${log.payload.pages[0].date}T12:00:00`);
    const d29 = new Date(`${log.payload.pages[29].date}T12:00:00`);
    assert.strictEqual(Math.round((d0 - d29) / 86400000), 29);
    assert.strictEqual(sim.stats.byPort[1].commands, 32, 'one LOG command per page');

    const caught = collect(helper.getNode('caught'), 3);
    helper.getNode('mx').receive({ payload: { logDays: 0 } });
    helper.getNode('mx').receive({ payload: { logDays: 'many' } });
    helper.getNode('mx').receive({ payload: { logPage: 3 } });
    const codes = (await caught).map((m) => m.error.code).sort();
    assert.deepStrictEqual(codes, ['EINVAL', 'ERANGE', 'ERANGE']);
  });

  describe('FX control', function () {
    const control = (extra = {}) => ({ id: 'ctl', type: 'fieldlink-mate-fx-control', port: '2', ...extra });

    for (const [what, busAllows, understood, pattern] of [
      ['neither opt-in', false, false, /does not allow control.*not ticked/],
      ['only the node\'s box', false, true, /does not allow control/],
      ['only the bus setting', true, false, /box is not ticked/],
    ]) {
      it(`is refused with ECONTROL and sends nothing with ${what}`, async function () {
        const link = await serve();
        await load(makeFlow(link, [control({ understood, port: 'auto' })], { bus: { allowControl: busAllows } }));
        const ctl = helper.getNode('ctl');
        const status = watchStatus(ctl);
        await status.wait((st) => st.fill === 'grey' && /locked/.test(st.text), 2000, 'locked status');
        const before = sim.stats.bytesReceived;
        const controls = { ...sim.fxState };
        const caught = collect(helper.getNode('caught'), 1);
        let sent = 0;
        helper.getNode('out').on('input', () => sent++);
        ctl.receive({ payload: { control: 'inverter', value: 'off' }, tag: 7 });
        const [e] = await caught;
        assert.strictEqual(e.error.code, 'ECONTROL');
        assert.match(e.error.message, pattern);
        assert.match(e.error.message, /Nothing was sent/);
        assert.strictEqual(e.tag, 7);
        assert.strictEqual((await status.wait((st) => st.fill === 'red')).text, 'ECONTROL');
        await sleep(100);
        assert.strictEqual(sim.stats.bytesReceived, before, 'no byte reached the simulator');
        assert.deepStrictEqual(sim.fxState, controls);
        assert.strictEqual(sent, 0);
      });
    }

    it('with both opt-ins it sets the control, reads it back and reports all controls', async function () {
      const link = await serve();
      await load(makeFlow(link, [control({ understood: true }), { id: 'fx', type: 'fieldlink-mate-fx', port: '2' }], { bus: { allowControl: true } }));
      const ctl = helper.getNode('ctl');
      const status = watchStatus(ctl);
      sim.fx().setConditions({ grid: false }); // off grid, the inverter mode shows in the status
      const m = await ask('ctl', { control: 'inverter', value: 'search' });
      assert.strictEqual(m.payload.control, 'inverter');
      assert.strictEqual(m.payload.value, 'search');
      assert.strictEqual(m.payload.port, 2);
      assert.deepStrictEqual(m.payload.controls, { inverter: 'search', acIn: 'use', charger: 'auto', aux: 'auto', eq: 'on' });
      assert.strictEqual(sim.fxState.inverter, 1, 'the simulated FX is in search');
      assert.strictEqual((await status.wait(isReading)).text, 'inverter → search');
      assert.strictEqual((await ask('fx', {})).payload.operationalMode, 'search');

      sim.fx().setConditions({ grid: true });
      await ask('ctl', { control: 'acIn', value: 'drop' });
      assert.strictEqual((await ask('fx', {})).payload.acMode, 'ac-drop');

      // A bad control or value is refused before anything is sent.
      const before = sim.stats.bytesReceived;
      const caught = collect(helper.getNode('caught'), 2);
      ctl.receive({ payload: { control: 'warp', value: 'on' } });
      ctl.receive({ payload: { control: 'inverter', value: 'sideways' } });
      const errs = (await caught).map((e) => e.error);
      assert.deepStrictEqual(errs.map((e) => e.code), ['EINVAL', 'EINVAL']);
      assert.match(errs[0].message, /inverter, acIn, charger, aux, eq/);
      assert.match(errs[1].message, /off, search, on/);
      assert.strictEqual(sim.stats.bytesReceived, before);
    });
  });

  it('nodes on two config nodes naming the same port share one MateBus', async function () {
    const link = await serve();
    await load(makeFlow(link, [
      { id: 'mx', type: 'fieldlink-mate-mx', port: '1' },
      { id: 'mx2', type: 'fieldlink-mate-mx', port: '1', bus: 'bus2' },
      { id: 'fx', type: 'fieldlink-mate-fx', port: '2', bus: 'bus2' },
    ], { extra: [{ id: 'bus2', type: 'fieldlink-mate-bus', serialPort: fs.realpathSync(link), ...BUS }] }));
    const got = collect(helper.getNode('out'), 3);
    for (const id of ['mx', 'mx2', 'fx']) helper.getNode(id).receive({ payload: '' });
    const msgs = await got;
    assert.deepStrictEqual(msgs.map((m) => m.topic).sort(), ['mate/fx', 'mate/mx', 'mate/mx']);
    assert.strictEqual(pool.busCount(), 1);
    assert.strictEqual(pool.userCount(link), 2, 'two config nodes, one share each');
    assert.ok(helper.getNode('bus').link.bus, 'the bus is open');
    assert.strictEqual(helper.getNode('bus').link, helper.getNode('bus2').link);
    assert.strictEqual(helper.getNode('bus').link.bus, helper.getNode('bus2').link.bus, 'one MateBus');
    // The port is held once: a second program is refused.
    await assert.rejects(MateBus.open(link), (err) => err.code === 'EBUSY');
  });

  it('a silent device: ETIMEDOUT reaches the Catch node with the failed message, status red; it recovers', async function () {
    const link = await serve();
    sim.setFault(1, 'silent');
    await load(makeFlow(link, [{ id: 'mx', type: 'fieldlink-mate-mx', port: '1' }]));
    const mx = helper.getNode('mx');
    const status = watchStatus(mx);
    await status.wait((st) => st.fill === 'green', 3000, 'connected status');
    let sent = 0;
    helper.getNode('out').on('input', () => sent++);
    const caught = collect(helper.getNode('caught'), 1);
    mx.receive({ payload: '', tag: 42 });
    const [e] = await caught;
    assert.strictEqual(e.error.code, 'ETIMEDOUT');
    assert.strictEqual(e.error.source.id, 'mx');
    assert.strictEqual(e.tag, 42, 'the Catch node gets the message that failed');
    const red = await status.wait((st) => st.fill === 'red');
    assert.strictEqual(red.shape, 'ring');
    assert.strictEqual(red.text, 'ETIMEDOUT');
    assert.strictEqual(sent, 0);

    sim.clearFault(1);
    await ask('mx', '');
    assert.strictEqual((await status.wait(isReading)).text, '272 W 25.4 V bulk');
  });

  it('poll errors reach the Catch node too, with the topic of the node', async function () {
    const link = await serve();
    sim.setFault(3, 'silent');
    await load(makeFlow(link, [{ id: 'dc', type: 'fieldlink-mate-dc', port: '3', interval: '0.2', topic: 'battery' }]));
    const [e] = await collect(helper.getNode('caught'), 1);
    assert.strictEqual(e.error.code, 'ETIMEDOUT');
    assert.strictEqual(e.error.source.id, 'dc');
    assert.strictEqual(e.topic, 'battery');
    sim.clearFault(3);
    const [m] = await collect(helper.getNode('out'), 1);
    assert.strictEqual(m.payload.stateOfCharge, 76);
  });

  it('a modified-nodes deploy keeps the bus; a full deploy reopens it', async function () {
    const link = await serve();
    const flow = makeFlow(link, [{ id: 'mx', type: 'fieldlink-mate-mx', port: '1' }, { id: 'fx', type: 'fieldlink-mate-fx', port: '2' }]);
    await load(flow);
    assert.strictEqual((await ask('mx', '')).payload.batteryVoltage, 25.4);
    const firstBus = helper.getNode('bus').link.bus;

    const changed = flow.map((n) => (n.id === 'fx' ? { ...n, topic: 'inverter' } : n));
    await helper.setFlows(changed, 'nodes');
    assert.strictEqual(helper.getNode('bus').link.bus, firstBus);
    assert.strictEqual((await ask('fx', '')).topic, 'inverter');

    await helper.setFlows(changed, 'full');
    await watchStatus(helper.getNode('mx')).wait((st) => st.fill === 'green', 3000, 'connected after a full deploy');
    assert.notStrictEqual(helper.getNode('bus').link.bus, firstBus);
    assert.strictEqual((await ask('mx', '')).payload.batteryVoltage, 25.4);
    assert.strictEqual(pool.busCount(), 1);
  });

  it('auto-find of a type that is not on the bus: ENODEVICE at the Catch node', async function () {
    const link = await serve({ preset: 'capture', devices: [{ port: 1, type: 'mx' }] });
    await load(makeFlow(link, [{ id: 'fx', type: 'fieldlink-mate-fx', port: 'auto' }]));
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('fx').receive({ payload: '' });
    const [e] = await caught;
    assert.strictEqual(e.error.code, 'ENODEVICE');
    assert.match(e.error.message, /mx@1/);
  });

  it('a missing port is retried until it appears (yellow meanwhile, ENOTCONNECTED at once for a message)', async function () {
    const link = newLink();
    await load(makeFlow(link, [{ id: 'dc', type: 'fieldlink-mate-dc', port: '3', interval: '0.2' }]));
    const dc = helper.getNode('dc');
    const status = watchStatus(dc);
    const st = await status.wait((x) => x.fill === 'yellow' && /reconnecting/.test(x.text), 3000, 'reconnecting status');
    assert.match(st.text, /reconnecting in \d+s \(ENOENT\)/);
    const caught = collect(helper.getNode('caught'), 1);
    dc.receive({ payload: '' });
    assert.strictEqual((await caught)[0].error.code, 'ENOTCONNECTED');

    await serve({ preset: 'capture' }, link); // the adapter is plugged in
    const [m] = await collect(helper.getNode('out'), 1);
    assert.strictEqual(m.payload.stateOfCharge, 76);
    assert.strictEqual((await status.wait(isReading)).text, 'SOC 76 %');
  });

  it('master duties run while deployed: the time and date reach the devices', async function () {
    const link = await serve({ preset: 'capture', devices: [{ port: 1, type: 'mx' }, { port: 2, type: 'dc' }] });
    const writes = [];
    sim.on('command', (ev) => {
      if (ev.typeName === 'write' && (ev.address === 0x4004 || ev.address === 0x4005)) writes.push(`${ev.port}:${ev.address.toString(16)}`);
    });
    await load(makeFlow(link, [], { bus: { masterDuties: true } }));
    const wanted = ['1:4004', '2:4004', '2:4005'];
    const t0 = Date.now();
    while (!wanted.every((w) => writes.includes(w)) && Date.now() - t0 < 3000) await sleep(20);
    assert.ok(sim.time, 'no time write reached the simulator');
    assert.ok(sim.date, 'no date write reached the simulator');
    assert.ok(helper.getNode('bus').link.dutiesRunning);
    assert.strictEqual(sim.stats.byPort[0].commands, 1, 'one scan of the hub');
    assert.deepStrictEqual(wanted.filter((w) => !writes.includes(w)), [], `writes seen: ${writes.join(' ')}`);
    const now = new Date();
    assert.strictEqual(sim.date.day, now.getDate());
  });

  it('unload (redeploy, stop) releases the port within 2 s; it can be opened again', async function () {
    const link = await serve();
    await load(makeFlow(link, [
      { id: 'mx', type: 'fieldlink-mate-mx', port: '1', interval: '0.2' },
      { id: 'dc', type: 'fieldlink-mate-dc', port: '3', interval: '0.2' },
    ]));
    await collect(helper.getNode('out'), 4);
    assert.strictEqual(pool.busCount(), 1);
    const t0 = Date.now();
    await helper.unload();
    const took = Date.now() - t0;
    assert.ok(took < 2000, `unload took ${took} ms`);
    assert.strictEqual(pool.busCount(), 0);
    const bus = await MateBus.open(link, { timeout: 40 }); // EBUSY if anything still held it
    try {
      assert.strictEqual((await bus.mx(1).getStatus()).batteryVoltage, 25.4);
    } finally {
      await bus.close();
    }
  });

  it('rejected settings leave a red status, not an endless retry', async function () {
    const link = await serve();
    await load(makeFlow(link, [
      { id: 'mx', type: 'fieldlink-mate-mx', port: '1' },
      { id: 'dc', type: 'fieldlink-mate-dc', port: '11' },
    ], { bus: { parityMode: 'nine' } }));
    const mx = watchStatus(helper.getNode('mx'));
    assert.match((await mx.wait((x) => x.fill === 'red', 3000, 'red status')).text, /EINVAL/);
    assert.strictEqual(helper.getNode('bus').state.state, 'failed');
    await sleep(300);
    assert.strictEqual(helper.getNode('bus').state.state, 'failed', 'no retry of a bad setting');
    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('mx').receive({ payload: '' });
    helper.getNode('dc').receive({ payload: '' });
    const codes = (await caught).map((m) => `${m.error.source.id}:${m.error.code}`).sort();
    assert.deepStrictEqual(codes, ['dc:ERANGE', 'mx:EINVAL']);
    assert.strictEqual(sim.stats.bytesReceived, 0);
  });

  it('GET /fieldlink/ports answers a JSON array of ports', async function () {
    const link = await serve();
    await load(makeFlow(link, []));
    const res = await helper.request().get('/fieldlink/ports').expect(200).expect('Content-Type', /json/);
    assert.ok(Array.isArray(res.body));
    for (const p of res.body) assert.strictEqual(typeof p.path, 'string');
  });
});
