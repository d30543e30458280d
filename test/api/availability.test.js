'use strict';
// lib/availability.js: the one rule for "is this device answering", shared by the Node-RED
// device nodes, the "to Home Assistant" node and the gateway. Fed here with the outcomes of
// real requests to the Modbus simulator over a pseudo-terminal, fault by fault.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ModbusBus } = require('../..');
const { Availability } = require('../../lib/availability');
const { ModbusSimulator, servePty } = require('../../lib/sim/modbus');

describe('availability rule (lib/availability.js) over a real bus', function () {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-avail-'));
  let sim;
  let served;
  let bus;

  before(async function () {
    sim = new ModbusSimulator({ units: [{ address: 1, drift: false }] });
    served = await servePty(sim, { link: path.join(tmp, 'bus') });
    bus = await ModbusBus.open(served.link, { timeout: 300, offlineAfter: 0 });
  });
  after(async function () {
    if (bus) await bus.close();
    if (served) await served.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** One request; its outcome goes to `a`. Returns whether the state changed. */
  async function poll(a) {
    try {
      await bus.readInputRegisters(1, 1, 2);
      return a.success();
    } catch (err) {
      return a.failure(err);
    }
  }

  it('online on an answer; offline at once when nothing answers; online again', async function () {
    const a = new Availability();
    assert.strictEqual(await poll(a), true);
    assert.strictEqual(a.state, 'online');
    sim.setFault(1, 'silent');
    assert.strictEqual(await poll(a), true);
    assert.deepStrictEqual([a.state, a.code], ['offline', 'ETIMEDOUT']);
    assert.ok(a.since instanceof Date);
    sim.clearFault(1);
    assert.strictEqual(await poll(a), true);
    assert.deepStrictEqual(a.toJSON().state, 'online');
  });

  it('garbled answers: offline only after three in a row; a refusal never changes it', async function () {
    const a = new Availability();
    await poll(a);
    sim.setFault(1, 'bad-crc');
    assert.strictEqual(await poll(a), false);
    assert.strictEqual(await poll(a), false);
    assert.strictEqual(a.state, 'online', 'two bad frames must not flap the device');
    assert.strictEqual(await poll(a), true);
    assert.deepStrictEqual([a.state, a.code], ['offline', 'ECHECKSUM']);
    assert.match(a.reason, /3 garbled answers in a row/);
    sim.setFault(1, 'exception', { code: 2 });
    const b = new Availability();
    b.success();
    for (let i = 0; i < 4; i++) assert.strictEqual(await poll(b), false);
    assert.strictEqual(b.state, 'online', 'a device that refuses is still talking');
    sim.clearFault(1);
  });

  it('link states: reconnecting or failed is offline; closed (a redeploy) and open are not news', function () {
    const a = new Availability();
    a.success();
    assert.strictEqual(a.linkState({ state: 'closed', error: null }), false);
    assert.strictEqual(a.linkState({ state: 'open' }), false);
    assert.strictEqual(a.linkState({ state: 'reconnecting', error: { code: 'ECONNLOST', message: 'gone' } }), true);
    assert.deepStrictEqual([a.state, a.code, a.reason], ['offline', 'ECONNLOST', 'link lost (ECONNLOST), reconnecting: gone']);
  });
});
