'use strict';
// M307Client: the M307 Temperature Guard over TCP (port 10001), the Node way.
// All byte layouts live in native/core/m307; this file maps names and checks arguments.
const { EventEmitter } = require('node:events');
const native = require('../native');
const v = require('../validate');
const { ValidationError, ConnectionError, FieldlinkError } = require('../errors');

const defaults = require('../defaults').m307;

const DEFAULT_PORT = defaults.port; // exported for callers that named it before lib/defaults.js

// setSensorLimits() keys (the original Python M307 client's names, camelCase) -> record 0 fields.
const LIMIT_GROUPS = {
  tempSensor1: 'temp1',
  tempSensor2: 'temp2',
  internalTemp: 'internalTemp',
  internalHumidity: 'humidity',
};
const LIMIT_PARTS = { lowerLimit: 'LowerLimit', upperLimit: 'UpperLimit', timeDelay: 'TimeDelay' };
const LIMIT_SCALARS = {
  door1TimeDelay: 'door1TimeDelay',
  door2TimeDelay: 'door2TimeDelay',
  tempSensor1Correction: 'temp1Correction',
  tempSensor2Correction: 'temp2Correction',
  internalTempCorrection: 'internalTempCorrection',
  internalHumidityCorrection: 'humidityCorrection',
  input1Logic: 'input1Logic',
  input2Logic: 'input2Logic',
};
const INPUT_LOGIC = ['normally-open', 'normally-closed', 'water-sensor'];

const SETTINGS = {
  relayLogic: { field: 'relayLogic', min: 0, max: 1 },
  alarmReminderDelay: { field: 'alarmReminderDelay', min: 0, max: 255 },
  buzzerEnabled: { field: 'buzzerEnabled', bool: true },
  twoStageDoorAlarmDelay: { field: 'twoStageDoorAlarmDelay', min: 0, max: 255 },
};

function limitsFromFields(f) {
  const out = {};
  for (const [key, prefix] of Object.entries(LIMIT_GROUPS)) {
    out[key] = {};
    for (const [part, suffix] of Object.entries(LIMIT_PARTS)) out[key][part] = f[prefix + suffix];
  }
  for (const [key, field] of Object.entries(LIMIT_SCALARS)) out[key] = f[field];
  return out;
}

function fieldsFromLimits(limits) {
  const o = v.plainObject('limits', limits);
  const fields = {};
  for (const [key, val] of Object.entries(o)) {
    if (LIMIT_GROUPS[key]) {
      const group = v.plainObject(key, val);
      for (const [part, x] of Object.entries(group)) {
        if (!LIMIT_PARTS[part]) v.knownKeys(key, { [part]: x }, Object.keys(LIMIT_PARTS), 'limit');
        fields[LIMIT_GROUPS[key] + LIMIT_PARTS[part]] = intArg(`${key}.${part}`, x);
      }
    } else if (LIMIT_SCALARS[key]) {
      let x = val;
      if ((key === 'input1Logic' || key === 'input2Logic') && typeof x === 'string') {
        const i = INPUT_LOGIC.indexOf(x);
        if (i < 0) v.fail(key, `one of ${INPUT_LOGIC.join(', ')} or 0..2`, x, 'EINVAL');
        x = i;
      }
      fields[LIMIT_SCALARS[key]] = intArg(key, x);
    } else {
      v.knownKeys('limits', { [key]: val }, [...Object.keys(LIMIT_GROUPS), ...Object.keys(LIMIT_SCALARS)], 'setting');
    }
  }
  if (Object.keys(fields).length === 0) throw new ValidationError('limits names nothing to change', 'EINVAL', { argument: 'limits' });
  return fields;
}

function intArg(name, x) {
  if (typeof x !== 'number' || !Number.isInteger(x)) v.fail(name, 'an integer', x, 'EINVAL');
  return x;
}

function nameArg(name, x) {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'string') v.fail(name, 'a string of at most 20 printable ASCII characters', x, 'EINVAL');
  if (x.length > 20) v.fail(name, 'at most 20 characters', x);
  if (!/^[\x20-\x7e]*$/.test(x)) v.fail(name, 'printable ASCII (the device stores 7-bit text)', x, 'EINVAL');
  return x;
}

function toDate(d) {
  if (!d || d.year < 0 || d.month < 1 || d.day < 1 || d.hour < 0 || d.minute < 0) return null;
  // The device keeps local wall-clock time without a zone: read it as this host's local time.
  return new Date(d.year, d.month - 1, d.day, d.hour, d.minute, d.second || 0);
}

// The numbers the addon decodes per log record, in order (native/node/m307_wrap.cpp).
const LOG_FIELDS = 15;
const reading = (x) => (Number.isNaN(x) ? null : x);

// Device wall-clock minutes -> epoch ms, as new Date(y, m - 1, d, h, mi) gives them. Resolving
// the time zone is most of the cost of a log record, and a log holds thousands of records
// from a few dozen hours: the start of each hour is resolved once and the minutes added,
// unless the zone offset changes inside that hour (then every record asks Date).
function localClock() {
  let key = -1;
  let base = 0;
  let linear = false;
  return (y, mo, d, h, mi) => {
    const k = ((y * 13 + mo) * 32 + d) * 24 + h;
    if (k !== key) {
      key = k;
      base = new Date(y, mo - 1, d, h, 0, 0).getTime();
      linear = new Date(y, mo - 1, d, h, 59, 0).getTime() - base === 59 * 60000;
    }
    return linear ? base + mi * 60000 : new Date(y, mo - 1, d, h, mi, 0).getTime();
  };
}

function logRecordFromNumbers(a, o, clock) {
  const valid = a[o + 6] === 1;
  return {
    datetime: valid ? new Date(clock(a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4])) : null,
    temp1: reading(a[o + 7]),
    temp2: reading(a[o + 8]),
    internalTemp: reading(a[o + 9]),
    internalHumidity: reading(a[o + 10]),
    // Bit = 1 means "input active"; read as closed, like the status record's 1 = closed (inferred).
    door1State: a[o + 11] ? 'closed' : 'open',
    door2State: a[o + 12] ? 'closed' : 'open',
    powerStatus: a[o + 13] === 1,
    flags: a[o + 14],
  };
}

class M307Client extends EventEmitter {
  /**
   * What connect() checks, without connecting: the host and the options (library defaults for
   * the missing ones), resolved, or a ValidationError naming the first bad one. The editor's
   * Test checks a panel's settings with it before anything reaches the network.
   */
  static checkOptions(host, options = {}) {
    if (typeof host !== 'string' || host.length === 0) v.fail('host', 'a host name or IP address', host, 'EINVAL');
    const o = v.plainObject('options', options);
    // connectTimeout and logIdleTimeout follow a timeout the caller gave, else their own defaults.
    const opts = {
      host,
      port: o.port ?? defaults.port,
      timeout: o.timeout ?? defaults.timeout,
      connectTimeout: o.connectTimeout ?? o.timeout ?? defaults.connectTimeout,
      logIdleTimeout: o.logIdleTimeout ?? o.timeout ?? defaults.logIdleTimeout,
      logTimeout: o.logTimeout ?? defaults.logTimeout,
      reconnectMinDelay: o.reconnectMinDelay ?? defaults.reconnectMinDelay,
      reconnectMaxDelay: o.reconnectMaxDelay ?? defaults.reconnectMaxDelay,
    };
    v.knownKeys('options', o, [...Object.keys(opts).filter((k) => k !== 'host'), 'signal']);
    v.integer('port', opts.port, 1, 65535);
    v.integer('timeout', opts.timeout, 10, 120000);
    v.integer('connectTimeout', opts.connectTimeout, 10, 120000);
    v.integer('logIdleTimeout', opts.logIdleTimeout, 10, 120000);
    v.integer('logTimeout', opts.logTimeout, 100, 3600000);
    v.reconnectDelays(opts);
    return opts;
  }

  /**
   * Connects and reads the status once (it gives the temperature resolution the log needs).
   * The device serves one TCP client at a time: a second one is told so (ConnectionError EBUSY).
   */
  static async connect(host, options = {}) {
    const opts = M307Client.checkOptions(host, options);
    const signal = v.abortSignal('signal', options.signal);
    const client = new M307Client(opts);
    try {
      await v.abortable(signal, () => client.close(), async () => {
        await client._native.open();
        await client.readStatus();
      });
    } catch (err) {
      await client.close();
      if (err instanceof FieldlinkError && ['ECONNLOST', 'ENOTCONNECTED'].includes(err.code)) {
        throw new ConnectionError(`${host}:${opts.port} accepted the connection and closed it at once. Likely cause: another ` +
          'client is connected (the M307 serves one TCP client at a time): close the other program or wait for its idle timeout. ' +
          'A firewall or proxy that drops the connection looks the same.', 'EBUSY');
      }
      throw err;
    }
    return client;
  }

  constructor(opts) {
    super();
    this.host = opts.host;
    this.port = opts.port;
    this.options = Object.freeze({ ...opts });
    this._closed = false;
    this._resolution = null; // the temperature resolution of the last status (the log needs it)
    this._state = 'connecting';
    this._opens = 0;
    this._retries = 0;
    this._native = new native.NativeM307(opts, (state, error, retryIn) => {
      this._state = state;
      if (state === 'open') this._opens += 1;
      this.emit('state', { state, error: error || null, retryIn });
    });
    // Every request goes through _call: a request that meets a lost connection waits for
    // the reconnect (up to `timeout`) and is tried once more, so an idle-timeout disconnect
    // of the device server does not surface as an error.
    for (const name of ['readStatus', 'readFields', 'updateFields', 'readClock', 'setClock', 'readUserRecord', 'writeUserRecord']) {
      const fn = this._native[name].bind(this._native);
      this[`_${name}`] = (...a) => this._call(() => fn(...a));
    }
  }

  async _call(fn) {
    const opensBefore = this._opens;
    try {
      return await fn();
    } catch (err) {
      if (this._closed || !(err instanceof FieldlinkError) || !['ENOTCONNECTED', 'ECONNLOST'].includes(err.code)) throw err;
      if (this._opens === opensBefore && !(await this._nextOpen(this.options.timeout))) throw err;
      this._retries += 1;
      return fn();
    }
  }

  _nextOpen(ms) {
    return new Promise((resolve) => {
      const onState = ({ state }) => {
        if (state === 'open' || state === 'closed') finish(state === 'open');
      };
      const timer = setTimeout(() => finish(false), ms);
      const finish = (ok) => {
        clearTimeout(timer);
        this.removeListener('state', onState);
        resolve(ok);
      };
      this.on('state', onState);
    });
  }

  get state() {
    return this._state;
  }

  // --- status ---
  async readStatus() {
    const s = await this._readStatus();
    this._resolution = s.temperatureResolution; // not the whole status: it would outlive the caller's use
    return s;
  }

  async getTemperature(sensor = 1) {
    const key = { 1: 'temperatureSensor1', 2: 'temperatureSensor2', internal: 'internalTemperature' }[sensor];
    if (!key) v.fail('sensor', "1, 2 or 'internal'", sensor, 'EINVAL');
    return (await this.readStatus())[key].reading;
  }

  async getHumidity() {
    return (await this.readStatus()).internalHumidity.reading;
  }

  async getDoorState(door = 1) {
    v.oneOf('door', door, [1, 2]);
    return (await this.readStatus())[`door${door}`].state;
  }

  async getBatteryVoltage() {
    return (await this.readStatus()).batteryVoltage;
  }

  async getPowerStatus() {
    return (await this.readStatus()).mainPower;
  }

  // --- identification (record 1) ---
  async getDeviceInfo() {
    return this._readFields(1);
  }

  /** Partial update: only the named fields change. Returns the stored info. */
  async setDeviceInfo(info) {
    const o = v.plainObject('info', info);
    const fields = {};
    for (const [k, x] of Object.entries(o)) {
      if (k === 'deviceName') fields.deviceName = nameArg('deviceName', x);
      else if (k === 'unitOfMeasure') fields.unitOfMeasure = v.oneOf('unitOfMeasure', x, ['C', 'F']);
      else if (k === 'macAddress' || k === 'serialNumber') throw new ValidationError(`${k} is read-only`, 'EINVAL', { argument: k });
      else v.knownKeys('info', { [k]: x }, ['deviceName', 'unitOfMeasure'], 'field');
    }
    if (Object.keys(fields).length === 0) throw new ValidationError('info names nothing to change', 'EINVAL', { argument: 'info' });
    return (await this._updateFields(1, fields)).after;
  }

  // --- names (records 2, 3, 5) ---
  async _names(record, a, b) {
    const f = await this._readFields(record);
    return [f[a], f[b]];
  }

  async _setNames(record, a, b, first, second, labels) {
    const fields = {};
    const x = nameArg(labels[0], first);
    const y = nameArg(labels[1], second);
    if (x !== undefined) fields[a] = x;
    if (y !== undefined) fields[b] = y;
    if (Object.keys(fields).length === 0) throw new ValidationError('give at least one name', 'EINVAL', { argument: labels[0] });
    const r = await this._updateFields(record, fields);
    return [r.after[a], r.after[b]];
  }

  getTemperatureSensorNames() {
    return this._names(2, 'temperatureSensor1Name', 'temperatureSensor2Name');
  }

  /** Naming a sensor arms its alarm (together with its limits). undefined keeps a name. */
  setTemperatureSensorNames(name1, name2) {
    return this._setNames(2, 'temperatureSensor1Name', 'temperatureSensor2Name', name1, name2, ['name1', 'name2']);
  }

  getDoorSensorNames() {
    return this._names(3, 'door1Name', 'door2Name');
  }

  setDoorSensorNames(name1, name2) {
    return this._setNames(3, 'door1Name', 'door2Name', name1, name2, ['name1', 'name2']);
  }

  getInternalSensorNames() {
    return this._names(5, 'internalTemperatureName', 'humidityName');
  }

  setInternalSensorNames(temperatureName, humidityName) {
    return this._setNames(5, 'internalTemperatureName', 'humidityName', temperatureName, humidityName, ['temperatureName', 'humidityName']);
  }

  // --- limits and calibration (record 0) ---
  async getSensorLimits() {
    return limitsFromFields(await this._readFields(0));
  }

  /**
   * Partial update of limits, delays, corrections and input logic: fields not named keep
   * their values (read-modify-write, then verified). Values are the device's raw integers.
   */
  async setSensorLimits(limits) {
    const r = await this._updateFields(0, fieldsFromLimits(limits));
    return limitsFromFields(r.after);
  }

  // --- settings (record 4) ---
  async getDeviceSettings() {
    const f = await this._readFields(4);
    return {
      relayLogic: f.relayLogic,
      alarmReminderDelay: f.alarmReminderDelay,
      buzzerEnabled: f.buzzerEnabled !== 0,
      twoStageDoorAlarmDelay: f.twoStageDoorAlarmDelay,
    };
  }

  async setDeviceSettings(settings) {
    const o = v.plainObject('settings', settings);
    const fields = {};
    for (const [k, x] of Object.entries(o)) {
      const spec = SETTINGS[k];
      if (!spec) v.knownKeys('settings', { [k]: x }, Object.keys(SETTINGS), 'field');
      if (spec.bool) {
        if (typeof x !== 'boolean' && x !== 0 && x !== 1) v.fail(k, 'true or false', x, 'EINVAL');
        fields[spec.field] = x ? 1 : 0;
      } else {
        fields[spec.field] = v.integer(k, x, spec.min, spec.max);
      }
    }
    if (Object.keys(fields).length === 0) throw new ValidationError('settings names nothing to change', 'EINVAL', { argument: 'settings' });
    await this._updateFields(4, fields);
    return this.getDeviceSettings();
  }

  // --- clock and log ---
  /** Sets the device clock (local time of `date`) and the log interval, then reads it back. */
  async setLogDatetime(date = new Date(), logRateMinutes = 5) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) v.fail('date', 'a valid Date', date, 'EINVAL');
    v.integer('logRateMinutes', logRateMinutes, 1, 60);
    v.integer('year', date.getFullYear(), 2000, 2099);
    const c = await this._setClock({
      year: date.getFullYear(), month: date.getMonth() + 1, day: date.getDate(), hour: date.getHours(), minute: date.getMinutes(),
    }, logRateMinutes);
    return { datetime: toDate(c), logRateMinutes: c.logRateMinutes, totalRecords: c.totalRecords };
  }

  async getLogInfo() {
    const c = await this._readClock();
    return { datetime: toDate(c), logRateMinutes: c.logRateMinutes, totalRecords: c.totalRecords, dayOfWeek: c.dayOfWeek };
  }

  /**
   * Downloads the log. Records stream through onRecord as they arrive; onProgress gets
   * { received, total, percent }. An AbortSignal stops it (the connection is reset).
   */
  async readLog(options = {}) {
    const o = v.knownKeys('options', v.plainObject('options', options), ['resetPointer', 'onRecord', 'onProgress', 'signal']);
    return this._readLog({ ...o, collect: true });
  }

  // collect: also keep every record and resolve with them (readLog); logRecords() hands each
  // record on and keeps none, so a long log never sits in memory twice.
  async _readLog({ resetPointer = true, onRecord, onProgress, signal, collect }) {
    if (typeof resetPointer !== 'boolean') v.fail('resetPointer', 'true or false', resetPointer, 'EINVAL');
    if (onRecord !== undefined && typeof onRecord !== 'function') v.fail('onRecord', 'a function', onRecord, 'EINVAL');
    if (onProgress !== undefined && typeof onProgress !== 'function') v.fail('onProgress', 'a function', onProgress, 'EINVAL');
    v.abortSignal('signal', signal);
    v.throwIfAborted(signal);
    if (this._resolution === null) await this.readStatus();
    let expected = null;
    if (onProgress) expected = (await this.getLogInfo()).totalRecords;
    const records = [];
    const onAbort = () => this._native.cancelLog();
    const clock = localClock();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this._native.readLog(resetPointer, this._resolution, (numbers, count, total) => {
        for (let i = 0; i < count; i++) {
          const rec = logRecordFromNumbers(numbers, i * LOG_FIELDS, clock);
          if (collect) records.push(rec);
          if (onRecord) onRecord(rec);
        }
        if (onProgress) {
          const t = expected || total;
          onProgress({ received: total, total: t, percent: t ? Math.min(100, (100 * total) / t) : null });
        }
      });
    } catch (err) {
      v.throwIfAborted(signal);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return records;
  }

  /** for await (const r of client.logRecords()) — records as they arrive. */
  async *logRecords(options = {}) {
    const { resetPointer = true, signal } = v.knownKeys('options', v.plainObject('options', options), ['resetPointer', 'signal']);
    const queue = [];
    let wake = null;
    let finished = false;
    let failure = null;
    const job = this._readLog({
      resetPointer,
      signal,
      collect: false,
      onRecord: (r) => {
        queue.push(r);
        if (wake) wake();
      },
    }).then(() => { finished = true; }, (e) => { failure = e; finished = true; })
      .finally(() => wake && wake());
    try {
      for (;;) {
        while (queue.length) yield queue.shift();
        if (finished) break;
        await new Promise((r) => { wake = r; });
        wake = null;
      }
      if (failure) throw failure;
    } finally {
      if (!finished) this._native.cancelLog();
      await job;
    }
  }

  // --- raw user records ---
  readUserRecord(n) {
    v.integer('record', n, 0, 5);
    return this._readUserRecord(n);
  }

  /** Writes a whole 60-byte record (bytes 4..59 are stored) and verifies the reply. */
  writeUserRecord(n, data) {
    v.integer('record', n, 0, 5);
    if (!Buffer.isBuffer(data) && !(data instanceof Uint8Array)) v.fail('data', 'a 60-byte Buffer', data, 'EINVAL');
    if (data.length !== 60) v.fail('data', 'exactly 60 bytes long', `${data.length} bytes`);
    return this._writeUserRecord(n, Buffer.from(data));
  }

  /** Link counters; retries = requests tried again after the connection came back. */
  async stats() {
    const s = await this._native.stats();
    s.retries = this._retries;
    return s;
  }

  async close() {
    if (this._closed) return;
    this._closed = true;
    await this._native.close();
  }

  async [Symbol.asyncDispose || Symbol.for('nodejs.asyncDispose')]() {
    await this.close();
  }

  // --- the original Python M307 client's static helpers ---
  static bytesToInt16(msb, lsb) {
    v.integer('msb', msb, 0, 255);
    v.integer('lsb', lsb, 0, 255);
    const x = (msb << 8) | lsb;
    return x >= 0x8000 ? x - 0x10000 : x;
  }

  static int16ToBytes(value) {
    v.integer('value', value, -32768, 32767);
    const u = value & 0xffff;
    return [u >> 8, u & 0xff];
  }

  static bcdToInt(b) {
    return native.m307.bcdToInt(v.integer('bcd', b, 0, 255));
  }

  static intToBcd(n) {
    return native.m307.intToBcd(v.integer('value', n, 0, 99));
  }

  /** Temperature from its two bytes: number, null (no sensor), Infinity (open), -Infinity (shorted). */
  static parseTemperature(msb, lsb, resolution = 0.1) {
    v.oneOf('resolution', resolution, [0.1, 1]);
    return native.m307.decodeTemperature(M307Client.bytesToInt16(msb, lsb), resolution);
  }

  static parseHumidity(msb, lsb) {
    return native.m307.decodeHumidity(M307Client.bytesToInt16(msb, lsb));
  }
}

// _localClock and _logRecordFromNumbers: for the tests and bench/m307-log.js, not the API.
module.exports = { M307Client, DEFAULT_PORT, INPUT_LOGIC, _localClock: localClock, _logRecordFromNumbers: logRecordFromNumbers, _LOG_FIELDS: LOG_FIELDS };
