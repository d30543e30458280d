'use strict';
// M307Client against the JS M307 simulator over real TCP: every command of the guide,
// verified partial writes, the log download, fault modes, validation with zero bytes sent.
const assert = require('node:assert');
const net = require('node:net');

const { M307Client, errors, m307 } = require('../..');
const { M307Simulator, serveTcp } = require('../../lib/sim/m307');

async function rejects(promise, Cls, code) {
  const err = await promise.then(() => assert.fail(`expected ${Cls.name} ${code}, but it resolved`), (e) => e);
  assert.ok(err instanceof Cls, `expected ${Cls.name}, got ${err && err.name}: ${err && err.message}`);
  assert.strictEqual(err.code, code, err.message);
  return err;
}

describe('M307Client', function () {
  let sim;
  let srv;
  let m;

  beforeEach(async function () {
    sim = new M307Simulator({ logRecords: 200 });
    srv = await serveTcp(sim, { port: 0 });
    m = await M307Client.connect('127.0.0.1', { port: srv.port, timeout: 1000 });
  });

  afterEach(async function () {
    if (m) await m.close();
    await srv.close();
    if (sim.close) sim.close();
  });

  it('readStatus() decodes every input the way the guide says', async function () {
    sim.setReading('temp1', 30.5);
    sim.setReading('temp2', 'no-sensor');
    sim.setReading('internalTemp', 'open');
    sim.setReading('humidity', 54.6);
    sim.setDoor(1, 'closed');
    sim.setDoor(2, 'open');
    sim.setPower(true);
    sim.setBattery(2.41);
    const s = await m.readStatus();
    assert.strictEqual(s.temperatureSensor1.reading, 30.5);
    assert.strictEqual(s.temperatureSensor2.reading, null);
    assert.strictEqual(s.temperatureSensor2.readingStatus, 'no-sensor');
    assert.strictEqual(s.internalTemperature.reading, Infinity);
    assert.strictEqual(s.internalHumidity.reading, 54.6);
    assert.strictEqual(s.door1.state, 'closed');
    assert.strictEqual(s.door2.state, 'open');
    assert.strictEqual(s.mainPower, true);
    assert.strictEqual(s.batteryVoltage, 2.41);
    assert.strictEqual(s.temperatureResolution, 0.1);
    assert.strictEqual(s.temperatureUnit, 'C');
    sim.setReading('temp1', 'shorted');
    assert.strictEqual(await m.getTemperature(1), -Infinity);
    assert.strictEqual(await m.getHumidity(), 54.6);
    assert.strictEqual(await m.getDoorState(2), 'open');
    assert.strictEqual(await m.getBatteryVoltage(), 2.41);
    sim.setPower(false);
    assert.strictEqual(await m.getPowerStatus(), false);
  });

  it('device info: get, partial set keeps the rest, read-only fields refused', async function () {
    const before = await m.getDeviceInfo();
    assert.strictEqual(typeof before.macAddress, 'string');
    assert.strictEqual(typeof before.serialNumber, 'string');
    const after = await m.setDeviceInfo({ deviceName: 'Lab Freezer #1' });
    assert.strictEqual(after.deviceName, 'Lab Freezer #1');
    assert.strictEqual(after.unitOfMeasure, before.unitOfMeasure);
    assert.strictEqual(after.serialNumber, before.serialNumber);
    await m.setDeviceInfo({ unitOfMeasure: 'F' });
    assert.strictEqual((await m.getDeviceInfo()).deviceName, 'Lab Freezer #1');
    assert.strictEqual((await m.readStatus()).temperatureUnit, 'F');
    await rejects(m.setDeviceInfo({ serialNumber: 'x' }), errors.ValidationError, 'EINVAL');
  });

  it('sensor names for all three records', async function () {
    assert.deepStrictEqual(await m.setTemperatureSensorNames('Probe 1', 'Probe 2'), ['Probe 1', 'Probe 2']);
    assert.deepStrictEqual(await m.getTemperatureSensorNames(), ['Probe 1', 'Probe 2']);
    assert.deepStrictEqual(await m.setTemperatureSensorNames(undefined, 'Ambient'), ['Probe 1', 'Ambient']);
    assert.deepStrictEqual(await m.setDoorSensorNames('Main Door', 'Access Door'), ['Main Door', 'Access Door']);
    assert.deepStrictEqual(await m.getDoorSensorNames(), ['Main Door', 'Access Door']);
    assert.deepStrictEqual(await m.setInternalSensorNames('Internal Temp', 'Internal RH'), ['Internal Temp', 'Internal RH']);
    assert.deepStrictEqual(await m.getInternalSensorNames(), ['Internal Temp', 'Internal RH']);
  });

  it('setSensorLimits: a partial update keeps every other field and undocumented byte', async function () {
    const raw0 = await m.readUserRecord(0);
    await m.setSensorLimits({
      tempSensor1: { lowerLimit: -20, upperLimit: 5, timeDelay: 15 },
      internalHumidity: { lowerLimit: 200, upperLimit: 800, timeDelay: 30 },
      door1TimeDelay: 5,
      tempSensor1Correction: -2,
    });
    const l1 = await m.getSensorLimits();
    assert.deepStrictEqual(l1.tempSensor1, { lowerLimit: -20, upperLimit: 5, timeDelay: 15 });
    assert.deepStrictEqual(l1.internalHumidity, { lowerLimit: 200, upperLimit: 800, timeDelay: 30 });
    assert.strictEqual(l1.door1TimeDelay, 5);
    assert.strictEqual(l1.tempSensor1Correction, -2);
    await m.setSensorLimits({ tempSensor2: { upperLimit: 80 } });
    const l2 = await m.getSensorLimits();
    assert.deepStrictEqual(l2.tempSensor1, l1.tempSensor1);
    assert.strictEqual(l2.tempSensor2.upperLimit, 80);
    assert.strictEqual(l2.tempSensor2.lowerLimit, l1.tempSensor2.lowerLimit);
    assert.strictEqual(l2.tempSensor1Correction, -2);
    const raw1 = await m.readUserRecord(0);
    // The guide's calibration example: CF -2 is stored as FF FE at offset 36.
    assert.strictEqual(raw1.readUInt16BE(36), 0xfffe);
    for (let i = 44; i < 60; i++) if (i !== 45 && i !== 46) assert.strictEqual(raw1[i], raw0[i], `byte ${i} changed`);
  });

  it('device settings', async function () {
    const s = await m.setDeviceSettings({ relayLogic: 1, alarmReminderDelay: 60, buzzerEnabled: false, twoStageDoorAlarmDelay: 30 });
    assert.deepStrictEqual(s, { relayLogic: 1, alarmReminderDelay: 60, buzzerEnabled: false, twoStageDoorAlarmDelay: 30 });
    const t = await m.setDeviceSettings({ buzzerEnabled: true });
    assert.strictEqual(t.buzzerEnabled, true);
    assert.strictEqual(t.alarmReminderDelay, 60);
  });

  it('a write that does not stick is DeviceError EVERIFY', async function () {
    sim.setFault('verify-mismatch');
    const e = await rejects(m.setDeviceSettings({ alarmReminderDelay: 9 }), errors.DeviceError, 'EVERIFY');
    assert.match(e.message, /did not stick/);
  });

  it('alarms follow the arming rule: name + limits + delay', async function () {
    sim.setReading('temp1', 30.0);
    await m.setSensorLimits({ tempSensor1: { lowerLimit: -200, upperLimit: 50, timeDelay: 1 } });
    sim.advance && sim.advance(5 * 60 * 1000);
    let s = await m.readStatus();
    assert.strictEqual(s.temperatureSensor1.inAlarm, false, 'no alarm without a name');
    await m.setTemperatureSensorNames('Freezer', undefined);
    sim.advance && sim.advance(5 * 60 * 1000);
    s = await m.readStatus();
    assert.strictEqual(s.temperatureSensor1.inAlarm, true);
    assert.ok(s.temperatureSensor1.timeOutOfLimits >= 1);
  });

  it('clock: set, read back, log info', async function () {
    const when = new Date(2026, 10, 24, 17, 45, 0);
    const c = await m.setLogDatetime(when, 5);
    assert.strictEqual(c.logRateMinutes, 5);
    const info = await m.getLogInfo();
    assert.strictEqual(info.logRateMinutes, 5);
    assert.ok(Math.abs(info.datetime - when) <= 61000, `clock reads ${info.datetime}`);
    assert.strictEqual(info.totalRecords, 200);
    const pm = await m.setLogDatetime(new Date(2026, 0, 1, 0, 5), 1);
    assert.strictEqual(pm.datetime.getHours(), 0);
    await rejects(m.setLogDatetime(when, 61), errors.ValidationError, 'ERANGE');
  });

  it('readLog: every record, in order, with progress; THE-END ends it', async function () {
    const progress = [];
    const streamed = [];
    const recs = await m.readLog({ resetPointer: true, onRecord: (r) => streamed.push(r), onProgress: (p) => progress.push(p) });
    assert.strictEqual(recs.length, 200);
    assert.strictEqual(streamed.length, 200);
    for (const r of recs) {
      assert.ok(r.datetime instanceof Date && !Number.isNaN(r.datetime.getTime()));
      assert.ok(typeof r.temp1 === 'number' || r.temp1 === null);
      assert.ok(['open', 'closed'].includes(r.door1State));
      assert.strictEqual(typeof r.powerStatus, 'boolean');
    }
    for (let i = 1; i < recs.length; i++) assert.ok(recs[i].datetime >= recs[i - 1].datetime, 'records out of order');
    assert.strictEqual(progress.at(-1).received, 200);
    assert.strictEqual(progress.at(-1).percent, 100);
  });

  it('readLog of 4,000 records: every field equals the decoder applied to the simulator\'s own bytes', async function () {
    await m.close();
    await srv.close();
    const frozen = Date.now(); // no record is added between the download and logData()
    sim = new M307Simulator({ logRecords: 4000, logRate: 1, now: () => frozen });
    srv = await serveTcp(sim, { port: 0 });
    m = await M307Client.connect('127.0.0.1', { port: srv.port, timeout: 1000 });
    const batches = [];
    const recs = await m.readLog({ onProgress: (p) => batches.push(p.received) });
    const bytes = sim.logData();
    assert.strictEqual(recs.length, 4000);
    assert.strictEqual(bytes.length, 4000 * 15);
    for (let i = 0; i < recs.length; i++) {
      const d = m307.decodeLogRecord(bytes.subarray(i * 15, i * 15 + 15), 0.1);
      const r = recs[i];
      const want = d.valid ? new Date(d.year, d.month - 1, d.day, d.hour, d.minute, 0).getTime() : null;
      assert.strictEqual(r.datetime ? r.datetime.getTime() : null, want, `record ${i} datetime`);
      assert.deepStrictEqual([r.temp1, r.temp2, r.internalTemp, r.internalHumidity, r.flags],
        [d.temp1, d.temp2, d.internalTemp, d.internalHumidity, d.flags], `record ${i}`);
      assert.strictEqual(r.door1State, d.input1 ? 'closed' : 'open');
      assert.strictEqual(r.powerStatus, d.mainPower);
    }
    // Batches coalesce while JS is busy, but progress only grows and ends at the total.
    for (let i = 1; i < batches.length; i++) assert.ok(batches[i] > batches[i - 1]);
    assert.strictEqual(batches.at(-1), 4000);
  });

  it('the addon lends each log batch only for the callback: an array kept past it is detached (length 0)', async function () {
    let kept = null;
    let seen = 0;
    await m._native.readLog(true, 0.1, (numbers, count) => {
      seen += count;
      assert.strictEqual(numbers.length, count * 15);
      kept = numbers;
    });
    assert.strictEqual(seen, 200);
    assert.ok(kept instanceof Float64Array);
    assert.strictEqual(kept.length, 0);
    assert.strictEqual(kept.buffer.byteLength, 0);
  });

  it('the log\'s cached local clock equals new Date(y, m, d, h, mi) across DST changes, in several zones', function () {
    // A child process per zone: the zone is fixed when a process starts.
    const { execFileSync } = require('node:child_process');
    const script = `
      const { _localClock } = require(${JSON.stringify(require.resolve('../../lib/m307/client'))});
      const clock = _localClock();
      let n = 0, bad = [];
      // Every minute of March, April, September, October and November 2026 (the northern and
      // southern changes), in order, as a log holds them.
      for (const mo of [3, 4, 9, 10, 11]) {
        for (let d = 1; d <= 31; d++) for (let h = 0; h < 24; h++) for (let mi = 0; mi < 60; mi++) {
          if (new Date(2026, mo - 1, d).getMonth() !== mo - 1) continue;
          n++;
          const want = new Date(2026, mo - 1, d, h, mi, 0).getTime();
          const got = clock(2026, mo, d, h, mi);
          if (got !== want && bad.length < 5) bad.push([mo, d, h, mi, got - want]);
        }
      }
      console.log(JSON.stringify({ n, bad }));`;
    for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/St_Johns']) {
      const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: tz } }).toString());
      assert.strictEqual(out.n, (31 + 30 + 30 + 31 + 30) * 1440, tz);
      assert.deepStrictEqual(out.bad, [], `${tz}: [month, day, hour, minute, ms off]`);
    }
  });

  it('logIdleTimeout bounds the silence inside the stream, not the whole download', async function () {
    await m.close();
    m = await M307Client.connect('127.0.0.1', { port: srv.port, timeout: 1000, logIdleTimeout: 200 });
    // 3,007 bytes in 300-byte pieces 60 ms apart: about 600 ms in all, three times the
    // timeout, but no gap near it.
    sim.setFault('split', { segment: 300, gapMs: 60, times: 1 });
    const t0 = Date.now();
    assert.strictEqual((await m.readLog()).length, 200);
    assert.ok(Date.now() - t0 >= 400, `took ${Date.now() - t0} ms: the pieces were not spaced out`);
    // Now a gap of 500 ms after the first piece: the stream counts as stopped.
    sim.setFault('split', { segment: 1500, gapMs: 500, times: 1 });
    const e = await rejects(m.readLog(), errors.TimeoutError, 'ETIMEDOUT');
    assert.match(e.message, /stopped after 100 records without THE-END/);
  });

  it('readLog tolerates a 60-byte echo before the records', async function () {
    sim.logEcho = true;
    if (sim.setOption) sim.setOption('logEcho', true);
    const recs = await m.readLog();
    assert.strictEqual(recs.length, 200);
  });

  it('logRecords() is an async iterator over the same records', async function () {
    let n = 0;
    for await (const r of m.logRecords({ resetPointer: true })) {
      assert.ok(r.datetime instanceof Date);
      n++;
    }
    assert.strictEqual(n, 200);
  });

  it('readLog can be aborted; the client keeps working', async function () {
    sim.setFault('slow', { delayMs: 300 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const e = await m.readLog({ signal: ac.signal }).then(() => null, (x) => x);
    assert.ok(e && e.name === 'AbortError', String(e));
    await rejects(m.readLog({ signal: 'stop' }), errors.ValidationError, 'EINVAL');
    sim.clearFault();
    const t0 = Date.now();
    while (m.state !== 'open' && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    assert.strictEqual((await m.readStatus()).temperatureUnit, 'C');
  });

  it('raw user records: read and verified write', async function () {
    const r = await m.readUserRecord(4);
    assert.strictEqual(r.length, 60);
    assert.deepStrictEqual([...r.subarray(0, 4)], [0xaa, 0xbb, 0xcc, 0x04]);
    r[9] = 42;
    const back = await m.writeUserRecord(4, r);
    assert.strictEqual(back[9], 42);
    assert.strictEqual((await m.getDeviceSettings()).alarmReminderDelay, 42);
  });

  it('bad arguments are rejected before anything reaches the wire', async function () {
    const before = sim.stats.bytesReceived;
    const calls = [
      () => m.getTemperature(3),
      () => m.getDoorState(0),
      () => m.setTemperatureSensorNames('x'.repeat(21)),
      () => m.setDoorSensorNames('Türe'),
      () => m.setSensorLimits({ tempSensor1: { lowerLimit: 1.5 } }),
      () => m.setSensorLimits({ tempSensor1: { lowerLimit: 40000 } }),
      () => m.setSensorLimits({ door3TimeDelay: 1 }),
      () => m.setSensorLimits({ input1Logic: 'magnet' }),
      () => m.setSensorLimits({}),
      () => m.setDeviceSettings({ relayLogic: 2 }),
      () => m.setDeviceSettings({ alarmReminderDelay: 256 }),
      () => m.setDeviceInfo({ unitOfMeasure: 'K' }),
      () => m.setLogDatetime(new Date(1999, 0, 1), 5),
      () => m.setLogDatetime(new Date('nope'), 5),
      () => m.readUserRecord(6),
      () => m.writeUserRecord(0, Buffer.alloc(59)),
    ];
    for (const call of calls) {
      const e = await Promise.resolve().then(call).then(() => null, (x) => x);
      assert.ok(e instanceof errors.ValidationError, `expected ValidationError, got ${e}`);
    }
    assert.strictEqual(sim.stats.bytesReceived, before, 'the simulator must not have seen a byte');
  });

  it('replies split into small TCP segments are reassembled', async function () {
    sim.setFault('split', { segment: 7 });
    assert.strictEqual((await m.readStatus()).temperatureUnit, 'C');
    assert.strictEqual((await m.readLog()).length, 200);
  });

  it('a slow reply past the timeout is a TimeoutError', async function () {
    sim.setFault('slow', { delayMs: 1500 });
    await rejects(m.readStatus(), errors.TimeoutError, 'ETIMEDOUT');
  });

  it('a connection dropped mid-reply: the call retries once after the reconnect', async function () {
    sim.setFault('drop', { afterBytes: 20, times: 1 });
    const states = [];
    m.on('state', (e) => states.push(e.state));
    // The first attempt is cut off; the client waits for the reconnect and tries again.
    assert.strictEqual((await m.readStatus()).temperatureUnit, 'C');
    assert.ok(states.includes('reconnecting') && states.includes('open'), states.join(','));
    const st = await m.stats();
    assert.ok(st.reconnects >= 1);
    assert.strictEqual(st.retries, 1, 'one request was tried again after the reconnect');
  });

  it('a connection that keeps dropping fails the call with a ConnectionError, then recovers by itself', async function () {
    sim.setFault('drop', { afterBytes: 20 });
    const e = await m.readStatus().then(() => null, (x) => x);
    assert.ok(e instanceof errors.ConnectionError, String(e));
    sim.clearFault();
    assert.strictEqual((await m.readStatus()).temperatureUnit, 'C');
  });

  it('a second client is told the device is busy', async function () {
    const e = await rejects(M307Client.connect('127.0.0.1', { port: srv.port, timeout: 500 }), errors.ConnectionError, 'EBUSY');
    assert.match(e.message, /one TCP client at a time/);
  });
});

describe('M307Client: a 4,000-record log download', function () {
  it('downloads all 4,000 records and reports the time', async function () {
    this.timeout(30000);
    const sim = new M307Simulator({ logRecords: 4000 });
    const srv = await serveTcp(sim, { port: 0 });
    const m = await M307Client.connect('127.0.0.1', { port: srv.port });
    try {
      const t0 = process.hrtime.bigint();
      const recs = await m.readLog({ resetPointer: true });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.strictEqual(recs.length, 4000);
      this.test.title += ` (${ms.toFixed(0)} ms)`;
    } finally {
      await m.close();
      await srv.close();
    }
  });
});

describe('M307Client: connecting', function () {
  it('refused: ConnectionError ECONNREFUSED', async function () {
    const server = net.createServer();
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();
    await new Promise((r) => server.close(r));
    await rejects(M307Client.connect('127.0.0.1', { port, timeout: 500 }), errors.ConnectionError, 'ECONNREFUSED');
  });

  it('an AbortSignal cuts connect() short (the status read hangs); the device is free again after', async function () {
    const sim = new M307Simulator();
    const srv = await serveTcp(sim, { port: 0 });
    try {
      sim.setFault('slow', { delayMs: 3000, times: 1 });
      const ac = new AbortController();
      const t0 = Date.now();
      setTimeout(() => ac.abort(), 100);
      const e = await M307Client.connect('127.0.0.1', { port: srv.port, timeout: 5000, signal: ac.signal }).then(() => null, (x) => x);
      assert.ok(e && e.name === 'AbortError', String(e));
      assert.strictEqual(e, ac.signal.reason);
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
      // The aborted connection was closed, so the one-client device takes the next one.
      const again = await M307Client.connect('127.0.0.1', { port: srv.port, timeout: 1000 });
      assert.strictEqual((await again.readStatus()).temperatureUnit, 'C');
      await again.close();
      const pre = new AbortController();
      pre.abort();
      assert.strictEqual(await M307Client.connect('127.0.0.1', { port: srv.port, signal: pre.signal }).then(() => null, (x) => x.name), 'AbortError');
      await rejects(M307Client.connect('127.0.0.1', { port: srv.port, signal: 'stop' }), errors.ValidationError, 'EINVAL');
    } finally {
      await srv.close();
    }
  });

  it('bad options are ValidationErrors', async function () {
    await rejects(M307Client.connect(''), errors.ValidationError, 'EINVAL');
    await rejects(M307Client.connect('127.0.0.1', { port: 70000 }), errors.ValidationError, 'ERANGE');
  });

  it('the error names of the original Python M307 client are aliases of the common classes', function () {
    const f = require('../..');
    assert.strictEqual(f.M307Error, errors.FieldlinkError);
    assert.strictEqual(f.M307ConnectionError, errors.ConnectionError);
    assert.strictEqual(f.M307ValidationError, errors.ValidationError);
    assert.strictEqual(f.M307CommandError, errors.DeviceError);
  });
});

describe('m307 pure decoders and static helpers', function () {
  it('decodeStatus / decodeLogRecord / hour and BCD helpers (docs/protocols/m307.md §11)', function () {
    const b = Buffer.alloc(60);
    b.set([0x3f, 0xcd, 0xdc, 0x00]);
    b.writeUInt16BE(0x0131, 4);
    b.writeUInt16BE(0x0222, 19);
    b.writeUInt16BE(0x00f1, 35);
    b[34] = 4;
    b[58] = 10;
    b[59] = 0x43;
    const s = m307.decodeStatus(b);
    assert.strictEqual(s.temperatureSensor1.reading, 30.5);
    assert.strictEqual(s.internalHumidity.reading, 54.6);
    assert.strictEqual(s.batteryVoltage, 2.41);
    assert.deepStrictEqual([0x72, 0x52, 0x65, 0x48].map(m307.decodeHour), [12, 0, 17, 8]);
    assert.strictEqual(M307Client.bcdToInt(0x59), 59);
    assert.strictEqual(M307Client.intToBcd(42), 0x42);
    assert.strictEqual(M307Client.bytesToInt16(0xff, 0xfe), -2);
    assert.deepStrictEqual(M307Client.int16ToBytes(-2), [0xff, 0xfe]);
    assert.strictEqual(M307Client.parseTemperature(0x03, 0xe8), null);
    assert.strictEqual(M307Client.parseTemperature(0x03, 0xe7), Infinity);
    assert.strictEqual(M307Client.parseTemperature(0xfc, 0x19), -Infinity);
    assert.strictEqual(M307Client.parseHumidity(0x02, 0x22), 54.6);
    const rec = Buffer.from([0x30, 0x72, 0x02, 0x15, 0x06, 0x24, 0x01, 0x31, 0x03, 0xe8, 0xff, 0x38, 0x02, 0x22, 0x05]);
    const r = m307.decodeLogRecord(rec, 0.1);
    assert.deepStrictEqual([r.year, r.month, r.day, r.hour, r.minute], [2024, 6, 15, 12, 30]);
    assert.strictEqual(r.temp1, 30.5);
    assert.strictEqual(r.temp2, null);
    assert.throws(() => m307.decodeStatus(Buffer.alloc(59)), errors.ValidationError);
  });
});
