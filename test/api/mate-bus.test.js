'use strict';
// MateBus against the JS MATE simulator over a real pseudo-terminal: scan with and without a
// hub, every decoder on the capture's values, controls (refused without opt-in), master
// duties, fault modes, and the 9th-bit decisions recorded at the link's interface.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { MateBus, errors, mate } = require('../..');
const { MateSimulator, servePty } = require('../../lib/sim/mate');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-mate-'));
let n = 0;
const newLink = () => path.join(tmp, `tty${++n}`);

async function rejects(promise, Cls, code) {
  const err = await promise.then(() => assert.fail(`expected ${Cls.name} ${code}, but it resolved`), (e) => e);
  assert.ok(err instanceof Cls, `expected ${Cls.name}, got ${err && err.name}: ${err && err.message}`);
  assert.strictEqual(err.code, code, err.message);
  return err;
}

async function setup(simOptions = {}, busOptions = {}) {
  const sim = new MateSimulator(simOptions);
  const served = await servePty(sim, { link: newLink() });
  const bus = await MateBus.open(served.link, { timeout: 100, ...busOptions });
  return {
    sim,
    bus,
    async close() {
      await bus.close();
      await served.close();
      sim.close();
    },
  };
}

describe('MateBus', function () {
  describe('with the capture preset (docs/protocols/mate.md §13)', function () {
    let t;
    before(async function () {
      t = await setup({ preset: 'capture' });
    });
    after(async function () {
      await t.close();
    });

    it('scans a hub with an MX on 1, an FX on 2 and a DC on 3, with firmware revisions', async function () {
      const found = await t.bus.scan({ firmware: true });
      assert.deepStrictEqual(found.map((d) => [d.port, d.type]), [[0, 'hub'], [1, 'mx'], [2, 'fx'], [3, 'dc']]);
      assert.strictEqual(found.find((d) => d.type === 'mx').firmware, '1.9.8');
      assert.strictEqual(found.find((d) => d.type === 'fx').firmware, '61');
      assert.strictEqual(found.find((d) => d.type === 'dc').firmware, '1.1.71');
    });

    it('MX status decodes to the capture values, with units and format()', async function () {
      const mx = await t.bus.find('mx');
      assert.strictEqual(mx.port, 1);
      const s = await mx.getStatus();
      assert.strictEqual(s.pvCurrent, 4);
      assert.strictEqual(s.batteryCurrent, 9.9);
      assert.strictEqual(s.kilowattHours, 2.1);
      assert.strictEqual(s.ampHours, 85);
      assert.strictEqual(s.batteryVoltage, 25.4);
      assert.strictEqual(s.pvVoltage, 68);
      assert.strictEqual(s.chargerMode, 'bulk');
      assert.strictEqual(s.chargerModeRaw, 2);
      assert.deepStrictEqual(s.errors, []);
      assert.strictEqual(s.units.batteryVoltage, 'V');
      assert.strictEqual(s.format('batteryVoltage'), '25.4 V');
      assert.strictEqual(s.raw, '89848900553f02001500fe02a8');
    });

    it('FX status: a 230 V unit doubles voltages', async function () {
      const s = await (await t.bus.find('fx')).getStatus();
      assert.strictEqual(s.is230V, true);
      assert.strictEqual(s.acOutputVoltage, 230);
      assert.strictEqual(s.acInputVoltage, 6);
      assert.strictEqual(s.operationalMode, 'silent');
      assert.strictEqual(s.acMode, 'ac-use');
      assert.strictEqual(s.batteryVoltage, 25.6);
      assert.deepStrictEqual(s.errors, []);
      assert.deepStrictEqual(s.warnings, []);
    });

    it('FLEXnet DC: six pages decoded as one block', async function () {
      const s = await (await t.bus.find('dc')).getStatus();
      assert.strictEqual(s.pages, 6);
      assert.strictEqual(s.stateOfCharge, 76);
      assert.strictEqual(s.batteryVoltage, 25.6);
      assert.strictEqual(s.shuntA.current, -5.6);
      assert.strictEqual(s.shuntB.current, 9.1);
      assert.strictEqual(s.daysSinceFull, 1.9);
      assert.strictEqual(s.minSocToday, 71);
      assert.strictEqual(s.format('stateOfCharge'), '76 %');
      const quick = await (await t.bus.find('dc')).getStatus({ pages: 3 });
      assert.strictEqual(quick.pages, 3);
      assert.strictEqual(quick.stateOfCharge, 76);
    });

    it('MX log pages: today and 127 days back (pyMATE day convention)', async function () {
      const mx = await t.bus.find('mx');
      const today = await mx.getLogPage(0);
      assert.strictEqual(today.day, 0);
      assert.strictEqual(today.peakAmps, 41.5);
      assert.strictEqual(today.batteryMax, 27);
      assert.strictEqual(today.kilowattHours, 2.2);
      assert.strictEqual(today.peakPvVoltage, 85);
      assert.strictEqual(today.ampHours, 89);
      assert.strictEqual(today.batteryMin, 22.7);
      assert.strictEqual(today.peakKilowatts, 1.047);
      const old = await mx.getLogPage(-127);
      assert.strictEqual(old.day, -127);
      assert.strictEqual(old.kilowattHours, 2.4);
      assert.strictEqual(old.absorbMinutes, 60);
      assert.strictEqual(old.floatMinutes, 492);
    });

    it('open() takes an AbortSignal: an aborted one rejects with its reason and leaves the port free', async function () {
      const portPath = t.bus.path;
      await t.bus.close();
      const ac = new AbortController();
      ac.abort(new Error('not now'));
      const e = await MateBus.open(portPath, { signal: ac.signal }).then(() => null, (x) => x);
      assert.strictEqual(e && e.message, 'not now');
      await rejects(MateBus.open(portPath, { signal: 42 }), errors.ValidationError, 'EINVAL');
      t.bus = await MateBus.open(portPath, { timeout: 100 });
      assert.strictEqual((await t.bus.find('mx')).port, 1);
    });

    it('find() scans again when the last scan had no such device (the hub was silent, then answers)', async function () {
      t.sim.setFault(0, 'silent');
      assert.deepStrictEqual(await t.bus.scan(), []);
      await rejects(t.bus.find('mx'), errors.DeviceError, 'ENODEVICE');
      t.sim.clearFault(0);
      const mx = await t.bus.find('mx');
      assert.strictEqual(mx.port, 1);
      // Now found in the cached result: no further scan (no read of register 0 on port 0).
      const commands = t.sim.stats.commands;
      assert.strictEqual((await t.bus.find('mx')).port, 1);
      assert.strictEqual(t.sim.stats.commands, commands);
    });

    it('named registers with scale and unit', async function () {
      const mx = await t.bus.find('mx');
      const mode = await mx.read('chargerMode');
      assert.strictEqual(mode.value, 2);
      const v = await (await t.bus.find('dc')).read('stateOfCharge');
      assert.strictEqual(v.value, 76);
      assert.strictEqual(v.unit, '%');
      await rejects((async () => mx.read('noSuchRegister'))(), errors.ValidationError, 'EINVAL');
    });
  });

  describe('default simulator (day/night model)', function () {
    let t;
    beforeEach(async function () {
      t = await setup();
    });
    afterEach(async function () {
      await t.close();
    });

    it('controls are refused without allowControl, and nothing reaches the wire', async function () {
      const fx = t.bus.fx(2);
      const before = t.sim.stats.bytesReceived;
      const e = await rejects(fx.setControl('inverter', 'search'), errors.ValidationError, 'ECONTROL');
      assert.match(e.message, /allowControl/);
      await rejects(fx.setControl('inverter', 'sideways'), errors.ValidationError, 'EINVAL');
      await rejects(fx.setControl('warp', 'on'), errors.ValidationError, 'EINVAL');
      await rejects(t.bus.mx(1).getLogPage(-128), errors.ValidationError, 'ERANGE');
      await rejects(t.bus.mx(1).getLogPage(1), errors.ValidationError, 'ERANGE');
      await rejects((async () => t.bus.mx(11))(), errors.ValidationError, 'ERANGE');
      await rejects(t.bus.readRegister(1, 70000), errors.ValidationError, 'ERANGE');
      await rejects(t.bus.writeRegister(1, 0x4004, -1), errors.ValidationError, 'ERANGE');
      // A raw write can set anything (the inverter mode register included): it needs
      // allowControl too, and the setting cannot be switched on after opening.
      const raw = await rejects(t.bus.writeRegister(2, 0x003d, 0), errors.ValidationError, 'ECONTROL');
      assert.match(raw.message, /register 0x003d.*allowControl/);
      assert.throws(() => { t.bus.allowControl = true; }, TypeError);
      await rejects(t.bus.writeRegister(2, 0x003d, 0), errors.ValidationError, 'ECONTROL');
      assert.strictEqual(t.sim.stats.bytesReceived, before);
      // Clearing the DC's daily statistics changes nothing in how the system runs: allowed.
      assert.strictEqual(typeof (await t.bus.dc(3).resetDailyMinimum()), 'number');
    });

    it('with allowControl, setControl changes the FX and is read back', async function () {
      await t.bus.close();
      t.bus = await MateBus.open(t.bus.path, { allowControl: true });
      const fx = await t.bus.find('fx');
      assert.strictEqual(await fx.setControl('inverter', 'search'), 'search');
      // A raw write is allowed too, and is what the device echoes.
      assert.strictEqual(typeof (await t.bus.writeRegister(fx.port, 0x003d, 2)), 'number');
      assert.strictEqual(await t.bus.readRegister(fx.port, 0x003d), 2);
      assert.strictEqual(await fx.setControl('inverter', 'search'), 'search');
      assert.strictEqual((await fx.getStatus()).operationalMode, 'search');
      assert.strictEqual((await fx.getControls()).inverter, 'search');
      t.sim.fx().setConditions({ grid: true });
      await fx.setControl('acIn', 'use');
      assert.strictEqual((await fx.getStatus()).acMode, 'ac-use');
      await fx.setControl('acIn', 'drop');
      assert.strictEqual((await fx.getStatus()).acMode, 'ac-drop');
    });

    it('master duties write time and date and relay the battery temperature', async function () {
      const events = [];
      t.sim.on('time', (x) => events.push(['time', x]));
      t.sim.on('date', (x) => events.push(['date', x]));
      t.sim.on('temperature', (x) => events.push(['temperature', x]));
      const fixed = new Date(2026, 10, 24, 21, 9, 48);
      const stop = t.bus.startMasterDuties({ timeInterval: 200, dateInterval: 400, temperatureInterval: 400, now: () => fixed });
      const t0 = Date.now();
      while (!(events.some((e) => e[0] === 'time') && events.some((e) => e[0] === 'date') && events.some((e) => e[0] === 'temperature')) &&
        Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      stop();
      assert.ok(t.sim.time, 'no time write reached the simulator');
      assert.strictEqual(t.sim.time.hours ?? t.sim.time.hour, 21);
      assert.strictEqual(t.sim.time.minutes ?? t.sim.time.minute, 9);
      assert.ok(t.sim.date, 'no date write reached the simulator');
      assert.strictEqual(t.sim.date.year, 2026);
      assert.strictEqual(t.sim.date.month, 11);
      assert.strictEqual(t.sim.date.day, 24);
      assert.ok(events.some((e) => e[0] === 'temperature'), 'no temperature relay');
    });

    it('FX errors and warnings registers decode to names', async function () {
      const fx = t.bus.fx(2);
      assert.deepStrictEqual(await fx.getErrors(), []);
      t.sim.fx().set({ errors: 0x41, warnings: 0x80 });
      assert.deepStrictEqual(await fx.getErrors(), ['low-vac-output', 'shorted-output']);
      assert.deepStrictEqual(await fx.getWarnings(), ['fan-failure']);
    });

    it('DC daily min/max resets', async function () {
      const dc = await t.bus.find('dc');
      assert.strictEqual(typeof (await dc.resetDailyMaximum()), 'number');
      assert.strictEqual(typeof (await dc.resetDailyMinimum()), 'number');
    });

    it('the parity decisions: MARK for byte 0, SPACE for the rest', async function () {
      await t.bus.readRegister(0, 0);
      const tr = await t.bus.parityTrace();
      assert.strictEqual(tr.mode, 'mark-space');
      assert.deepStrictEqual(tr.packets.at(-1), [{ parity: 'mark', bytes: 1 }, { parity: 'space', bytes: 7 }]);
    });

    it('odd/even emulation gives every byte the right 9th bit', async function () {
      await t.bus.close();
      t.bus = await MateBus.open(t.bus.path, { parityMode: 'odd-even' });
      assert.strictEqual(t.bus.parityMode, 'odd-even');
      const found = await t.bus.scan();
      assert.strictEqual(found.length, 4);
      const cmd = mate.encode.command(0, 2, 0, 0);
      const tr = await t.bus.parityTrace();
      const first = tr.packets[0];
      let i = 0;
      for (const step of first) {
        for (let k = 0; k < step.bytes; k++, i++) {
          const ones = cmd[i].toString(2).split('').filter((c) => c === '1').length;
          const bit = step.parity === 'even' ? ones & 1 : (ones & 1) ^ 1;
          assert.strictEqual(bit, i === 0 ? 1 : 0, `byte ${i}`);
        }
      }
      assert.strictEqual(i, 8);
    });

    describe('fault modes', function () {
      it('silent port: TimeoutError after the retries', async function () {
        t.sim.setFault(1, 'silent');
        const before = t.sim.stats.commands;
        await rejects(t.bus.readRegister(1, 0), errors.TimeoutError, 'ETIMEDOUT');
        assert.strictEqual(t.sim.stats.commands - before, 3, '1 try + 2 retries');
      });
      it('bad checksum once: the retry succeeds', async function () {
        t.sim.setFault(1, 'bad-checksum', { times: 1 });
        assert.strictEqual(await t.bus.readRegister(1, 0), 3);
        assert.ok((await t.bus.stats()).retries >= 1);
      });
      it('bad checksum always: ProtocolError ECHECKSUM', async function () {
        t.sim.setFault(1, 'bad-checksum');
        await rejects(t.bus.readRegister(1, 0), errors.ProtocolError, 'ECHECKSUM');
      });
      it('leading garbage is trimmed', async function () {
        t.sim.setFault(3, 'leading-garbage', { count: 4 });
        assert.strictEqual((await t.bus.dc(3).getStatus({ pages: 1 })).pages, 1);
      });
      it('slow beyond the timeout: ETIMEDOUT', async function () {
        t.sim.setFault(2, 'slow', { delayMs: 400 });
        await rejects(t.bus.fx(2).getStatus(), errors.TimeoutError, 'ETIMEDOUT');
      });
      it('invalid command: DeviceError EREJECTED, not retried', async function () {
        t.sim.setFault(1, 'invalid-command');
        const before = t.sim.stats.commands;
        await rejects(t.bus.readRegister(1, 0x0008), errors.DeviceError, 'EREJECTED');
        assert.strictEqual(t.sim.stats.commands - before, 1);
      });
      it('a device type with an upper byte set (FlexMax 0x1103) is still found', async function () {
        t.sim.setFault(1, 'upper-byte');
        const found = await t.bus.scan();
        assert.deepStrictEqual(found.find((d) => d.port === 1).type, 'mx');
      });
    });
  });

  it('scan without a hub finds the single device on port 0', async function () {
    const t = await setup({ hub: false, devices: [{ port: 0, type: 'mx' }] });
    try {
      const found = await t.bus.scan();
      assert.deepStrictEqual(found.map((d) => [d.port, d.type]), [[0, 'mx']]);
      const s = await (await t.bus.find('mx')).getStatus();
      assert.ok(s.batteryVoltage > 10 && s.batteryVoltage < 35, `battery ${s.batteryVoltage}`);
      await rejects(t.bus.find('fx'), errors.DeviceError, 'ENODEVICE');
    } finally {
      await t.close();
    }
  });

  it('Ah above 255 decode from the 12-bit field', function () {
    const p = Buffer.from('f0848900553f02001500fe02a8', 'hex'); // b0 = 0xF0: Ah bits 10..8 = 7, b4 = 0x55
    assert.strictEqual(mate.decode.mxStatus(p).ampHours, 0x755);
  });

  it('MX status: the documented vector, and every field from its documented bits for every bit and 3,000 mixtures', function () {
    const p = Buffer.from('838c9800390002001f010c03b9', 'hex');
    const s = mate.decode.mxStatus(p);
    assert.deepStrictEqual({ ...s }, {
      pvCurrent: 12, batteryCurrent: 24.3, chargerCurrentTenths: 3, kilowattHours: 3.1, ampHours: 57, ampHoursValid: true,
      pvVoltage: 95.3, batteryVoltage: 26.8, chargerMode: 'bulk', chargerModeRaw: 2, auxMode: 0, auxManual: false,
      auxOn: false, errors: [], errorsRaw: 0,
      units: { pvCurrent: 'A', batteryCurrent: 'A', kilowattHours: 'kWh', ampHours: 'Ah', pvVoltage: 'V', batteryVoltage: 'V' },
    });
    assert.strictEqual(s.format('batteryVoltage'), '26.8 V');
    // The oracle is the simulator's own MX status decoder (lib/sim/mate/codec.js, written from
    // docs/protocols/mate.md §9 apart from the C++ one), with the names the addon gives; the
    // field order is the addon's table (mate.mxStatusFields).
    const { decodeMxStatus } = require('../../lib/sim/mate/codec');
    const MODES = ['silent', 'float', 'bulk', 'absorb', 'equalize'];
    const ERRORS = ['bit-0', 'bit-1', 'bit-2', 'bit-3', 'bit-4', 'shorted-battery-sensor', 'too-hot', 'high-voc'];
    const oracle = (b) => {
      const r = decodeMxStatus(b);
      return {
        pvCurrent: r.pvCurrent,
        batteryCurrent: r.batteryCurrent,
        chargerCurrentTenths: b[0] & 0x0f, // folded into batteryCurrent by the simulator's decoder (values 10..15 too)
        kilowattHours: r.kwh,
        ampHours: r.ah,
        ampHoursValid: r.ahValid,
        pvVoltage: r.pvVoltage,
        batteryVoltage: r.batteryVoltage,
        chargerMode: MODES[r.chargerMode] || 'unknown',
        chargerModeRaw: r.chargerMode,
        auxMode: r.auxMode,
        auxManual: r.auxMode === 0x3f,
        auxOn: r.auxOn,
        errors: ERRORS.filter((name, bit) => r.errors & (1 << bit)),
        errorsRaw: r.errors,
      };
    };
    const payloads = [];
    for (let i = 0; i < 13; i++) for (let b = 0; b < 8; b++) payloads.push(Buffer.alloc(13).fill(1 << b, i, i + 1));
    let x = 0x2545f491;
    for (let k = 0; k < 3000; k++) {
      const q = Buffer.alloc(13);
      for (let i = 0; i < 13; i++) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        q[i] = x & 0xff;
      }
      payloads.push(q);
    }
    for (const q of payloads) {
      const { units, ...got } = mate.decode.mxStatus(q);
      assert.deepStrictEqual(got, oracle(q), q.toString('hex'));
      assert.deepStrictEqual(Object.keys(got), Object.keys(oracle(q)), `field order for ${q.toString('hex')}`);
      assert.ok(units && units.batteryVoltage === 'V');
    }
    const native = require('../../lib/native');
    assert.deepStrictEqual(native.mate.mxStatusFields.map((f) => f.name), Object.keys(oracle(payloads[0])));
    assert.throws(() => native.mate.decode.mxStatus(payloads[0]), /slots must be a Float64Array/);
    assert.throws(() => native.mate.decode.mxStatus(payloads[0], new Float64Array(3)), /slots must hold 13 numbers/);
  });

  it('the pure decoders accept whole frames and check their checksum', function () {
    const frame = Buffer.from('03 89 84 89 00 55 3F 02 00 15 00 FE 02 A8 03 EC'.replace(/ /g, ''), 'hex');
    assert.strictEqual(mate.decode.mxStatus(frame).batteryVoltage, 25.4);
    frame[15] ^= 1;
    assert.throws(() => mate.decode.mxStatus(frame), (e) => e.code === 'ECHECKSUM');
    assert.throws(() => mate.decode.mxStatus(Buffer.alloc(12)), errors.ValidationError);
    assert.deepStrictEqual(mate.decode.time(0xa938), { hour: 21, minute: 9, second: 48 });
    assert.strictEqual(mate.encode.time(21, 9, 49), 0xa938);
    assert.deepStrictEqual([...mate.encode.command(1, 4, 1, 0xff)], [0x01, 0x04, 0x00, 0x01, 0x00, 0xff, 0x01, 0x05]);
  });

  it('reconnects by itself when the adapter comes back', async function () {
    const sim = new MateSimulator();
    const link = newLink();
    let served = await servePty(sim, { link });
    const bus = await MateBus.open(link, { reconnectMinDelay: 50, reconnectMaxDelay: 200 });
    try {
      assert.strictEqual(await bus.readRegister(0, 0), 1);
      await served.close();
      await new Promise((r) => setTimeout(r, 100));
      const e = await bus.readRegister(0, 0).then(() => null, (x) => x);
      assert.ok(e instanceof errors.ConnectionError, String(e));
      served = await servePty(sim, { link });
      const t0 = Date.now();
      while (bus.state !== 'open' && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
      assert.strictEqual(await bus.readRegister(0, 0), 1);
    } finally {
      await bus.close();
      await served.close();
    }
  });

  it('a missing port is ConnectionError ENOENT', async function () {
    await rejects(MateBus.open('/dev/ttyFIELDLINK-NONE'), errors.ConnectionError, 'ENOENT');
    await rejects(MateBus.open('/dev/ttyUSB0', { parityMode: 'nine' }), errors.ValidationError, 'EINVAL');
  });
});
