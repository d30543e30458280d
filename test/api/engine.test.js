'use strict';
// The engine's adaptive spin: configuration and validation, and the rule that it spins only
// while idle periods are short (a fast link) and stops by itself when they are long.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const fieldlink = require('../..');
const { ModbusBus, configureEngine, engineStats, errors } = fieldlink;
const { ModbusSimulator, servePty } = require('../../lib/sim/modbus');

const ROOT = path.join(__dirname, '..', '..');

describe('engine: adaptive spin', function () {
  let original;
  before(function () {
    original = engineStats().spinMicros;
  });
  after(function () {
    configureEngine({ spinMicros: original });
  });

  it('configureEngine validates spinMicros and unknown options before changing anything', function () {
    const start = engineStats().spinMicros;
    for (const bad of [-1, 10001, 1.5, '50', NaN]) {
      assert.throws(() => configureEngine({ spinMicros: bad }), (e) => e instanceof errors.ValidationError && e.argument === 'spinMicros', String(bad));
    }
    try {
      configureEngine({ spinMicros: 20000 });
      assert.fail('accepted 20000');
    } catch (e) {
      assert.ok(e instanceof errors.ValidationError);
      assert.strictEqual(e.argument, 'spinMicros');
      assert.match(e.message, /0\.\.10000/);
    }
    assert.throws(() => configureEngine({ spin: 5 }), (e) => e instanceof errors.ValidationError && /spinMicros/.test(e.message));
    assert.throws(() => configureEngine(5), errors.ValidationError);
    assert.strictEqual(engineStats().spinMicros, start, 'a rejected call changed the setting');
    const s = configureEngine({ spinMicros: 0 });
    assert.strictEqual(s.spinMicros, 0);
    assert.strictEqual(configureEngine({ spinMicros: 75 }).spinMicros, 75);
    for (const k of ['idlePeriods', 'spins', 'spinHits', 'sleeps', 'hitRate']) assert.strictEqual(typeof s[k], 'number', k);
  });

  it('FIELDLINK_SPIN_US sets the window at load time; a bad value fails the load naming the variable', function () {
    const script = "console.log(JSON.stringify(require('./').engineStats()))";
    const ok = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, FIELDLINK_SPIN_US: '123' } }).toString());
    assert.strictEqual(ok.spinMicros, 123);
    let stderr = '';
    try {
      execFileSync(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, FIELDLINK_SPIN_US: 'fast' }, stdio: 'pipe' });
      assert.fail('loaded with FIELDLINK_SPIN_US=fast');
    } catch (e) {
      stderr = String(e.stderr);
    }
    assert.match(stderr, /FIELDLINK_SPIN_US must be an integer 0\.\.10000, got "fast"/);
  });

  describe('over a pseudo-terminal', function () {
    let sim;
    let srv;
    let bus;
    let tmp;
    beforeEach(async function () {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-engine-'));
      sim = new ModbusSimulator({ units: [{ address: 1, temperature: 21.5, humidity: 40, drift: false }] });
      srv = await servePty(sim, { link: path.join(tmp, 'tty') });
      bus = await ModbusBus.open(srv.link || srv.path, { timeout: 500, offlineAfter: 0 });
    });
    afterEach(async function () {
      if (bus) await bus.close();
      await srv.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('spins while the gaps are short, stops by itself when replies take long, and every reply is right', async function () {
      // The largest window (10 ms), far above any gap of this loop (a JS round trip, the
      // simulator's reply) even on a machine whose cores are all busy.
      configureEngine({ spinMicros: 10000 });
      const s0 = engineStats();
      for (let i = 0; i < 200; i++) assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [215, 400]);
      const s1 = engineStats();
      assert.ok(s1.spins - s0.spins > 0, `no spin in 200 fast polls: ${JSON.stringify({ s0, s1 })}`);
      assert.ok(s1.spinHits - s0.spinHits > 0, 'spinning never found work');
      assert.ok(s1.hitRate > 0.75, `hit rate ${s1.hitRate}`);

      // Now a slow device polled at intervals, as in the field: replies take 40 ms, four times
      // the window, and the poller waits 40 ms between polls. Both waits are misses; the short
      // idle periods left (a loaded machine adds a few) are outnumbered, so the rate falls
      // under the 0.75 needed to spin.
      sim.turnaroundMs = 40;
      const slowPoll = async () => {
        const r = await bus.readInputRegisters(1, 1, 2);
        await new Promise((resolve) => setTimeout(resolve, 40));
        return r;
      };
      for (let i = 0; i < 20; i++) await slowPoll();
      const s2 = engineStats();
      assert.ok(s2.hitRate < 0.75, `hit rate still ${s2.hitRate} after 20 slow polls`);
      for (let i = 0; i < 10; i++) assert.deepStrictEqual(await slowPoll(), [215, 400]);
      const s3 = engineStats();
      // A spin that did not adapt would spin in every idle period (3 to 4 per poll here).
      const spun = s3.spins - s2.spins;
      assert.ok(spun < 10, `spun ${spun} times in 10 slow polls (${s3.idlePeriods - s2.idlePeriods} idle periods): it does not adapt`);
      assert.ok(s3.sleeps - s2.sleeps >= 10, 'it should sleep through each slow reply');
    });

    it('with spinMicros 0 it never spins, and requests work the same', async function () {
      configureEngine({ spinMicros: 0 });
      const s0 = engineStats();
      for (let i = 0; i < 100; i++) assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [215, 400]);
      const s1 = engineStats();
      assert.strictEqual(s1.spins - s0.spins, 0);
      assert.ok(s1.sleeps - s0.sleeps >= 100);
    });
  });
});
