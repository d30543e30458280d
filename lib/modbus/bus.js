'use strict';
// ModbusBus: a Modbus RTU master on a serial port, a pseudo-terminal or RTU-over-TCP.
// One native link per bus; requests queue there with one on the wire at a time.
const { EventEmitter } = require('node:events');
const native = require('../native');
const v = require('../validate');
const { ValidationError } = require('../errors');
const { ModbusSensor } = require('./sensor');
const defaults = require('../defaults').modbus;

const BAUD_RATES = [1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400];

// 'tcp://host:port' or a device path.
function parseTarget(target) {
  if (typeof target !== 'string' || target.length === 0) {
    v.fail('path', 'a serial port path such as "/dev/ttyUSB0" or a URL such as "tcp://192.168.1.50:502"', target, 'EINVAL');
  }
  if (target.startsWith('tcp://')) {
    let url;
    try {
      url = new URL(target);
    } catch {
      v.fail('path', 'a URL of the form "tcp://host:port"', target, 'EINVAL');
    }
    const port = url.port === '' ? defaults.tcpPort : Number(url.port);
    v.integer('port', port, 1, 65535);
    return { kind: 'tcp', host: url.hostname.replace(/^\[|\]$/g, ''), port, path: target };
  }
  if (/^[a-z]+:\/\//i.test(target)) v.fail('path', 'a device path or a "tcp://host:port" URL', target, 'EINVAL');
  return { kind: 'serial', path: target };
}

const PARITIES = Object.freeze(['none', 'even', 'odd']);

const OPTION_KEYS = ['baudRate', 'dataBits', 'parity', 'stopBits', 'timeout', 'retries', 'serialDriver', 'reconnectMinDelay',
  'reconnectMaxDelay', 'queueLimit', 'connectTimeout', 'offlineAfter', 'offlineProbeInterval', 'settleTime', 'broadcastDelay',
  'interFrameDelay'];

function checkOptions(options) {
  const o = v.plainObject('options', options);
  v.knownKeys('options', o, [...OPTION_KEYS, 'signal']);
  const out = {};
  for (const k of OPTION_KEYS) out[k] = o[k] ?? defaults[k];
  v.oneOf('baudRate', out.baudRate, BAUD_RATES);
  v.oneOf('dataBits', out.dataBits, [7, 8]);
  v.oneOf('parity', out.parity, PARITIES);
  v.oneOf('stopBits', out.stopBits, [1, 2]);
  v.integer('timeout', out.timeout, 10, 60000);
  v.integer('retries', out.retries, 0, 10);
  v.oneOf('serialDriver', out.serialDriver, v.SERIAL_DRIVERS);
  v.reconnectDelays(out);
  v.integer('queueLimit', out.queueLimit, 1, 100000);
  v.integer('connectTimeout', out.connectTimeout, 10, 120000);
  v.integer('offlineAfter', out.offlineAfter, 0, 1000);
  v.integer('offlineProbeInterval', out.offlineProbeInterval, 100, 3600000);
  v.integer('settleTime', out.settleTime, 0, 1000);
  v.integer('broadcastDelay', out.broadcastDelay, 0, 10000);
  // Silent time between frames, in ms. 'auto': 3.5 characters at the baud rate on a real
  // serial port; none on TCP and pseudo-terminals (no wire). The rule is io::autoGap.
  if (out.interFrameDelay !== 'auto') v.number('interFrameDelay', out.interFrameDelay, 0, 1000);
  return out;
}

function checkUnit(unit, { write = false } = {}) {
  if (write) return v.integer('unit', unit, 0, 247);
  if (unit === 0) {
    throw new ValidationError('unit must be 1..247 for a read (0 is broadcast, for writes only), got 0', 'ERANGE', { argument: 'unit' });
  }
  return v.integer('unit', unit, 1, 247);
}

function checkSpan(address, count, max, what) {
  v.integer('address', address, 0, 65535);
  v.integer('count', count, 1, max);
  if (address + count - 1 > 65535) {
    throw new ValidationError(`address + count must stay within 0..65535 (address ${address}, count ${count} ${what})`, 'ERANGE', { argument: 'count' });
  }
}

class ModbusBus extends EventEmitter {
  /**
   * Opens a bus. Resolves once the port is open (or the TCP connection is up).
   * @param {string} target '/dev/ttyUSB0', '/dev/serial/by-id/...', or 'tcp://host:port'
   */
  static async open(target, options) {
    const t = parseTarget(target);
    const opts = checkOptions(options);
    const signal = v.abortSignal('signal', options && options.signal);
    const bus = new ModbusBus(t, opts);
    // An abort while opening (e.g. a slow TCP connect) closes the link; open rejects with
    // signal.reason.
    await v.abortable(signal, () => bus.close(), () => bus._native.open());
    return bus;
  }

  constructor(target, opts) {
    super();
    this.path = target.path;
    this.options = Object.freeze({ ...opts });
    this._state = 'connecting';
    this._closed = false;
    this._native = new native.NativeModbusBus({ ...opts, ...target }, (state, error, retryIn) => {
      this._state = state;
      this.emit('state', { state, error: error || null, retryIn });
      if (state === 'reconnecting') this.emit('reconnecting', { error: error || null, retryIn });
      else if (state === 'open') this.emit('open');
      else if (state === 'closed') this.emit('close');
    });
  }

  /** 'connecting' | 'open' | 'reconnecting' | 'closed' */
  get state() {
    return this._state;
  }

  get isOpen() {
    return this._state === 'open';
  }

  readInputRegisters(unit, address, count) {
    checkUnit(unit);
    checkSpan(address, count, 125, 'registers');
    return this._native.read(unit, 4, address, count);
  }

  readHoldingRegisters(unit, address, count) {
    checkUnit(unit);
    checkSpan(address, count, 125, 'registers');
    return this._native.read(unit, 3, address, count);
  }

  /** fc 06. unit 0 broadcasts (no reply). */
  writeRegister(unit, address, value) {
    checkUnit(unit, { write: true });
    v.integer('address', address, 0, 65535);
    v.integer('value', value, 0, 65535);
    return this._native.writeSingle(unit, address, value);
  }

  /** fc 16 (0x10). unit 0 broadcasts (no reply). */
  writeRegisters(unit, address, values) {
    checkUnit(unit, { write: true });
    if (!Array.isArray(values)) v.fail('values', 'an array of 1..123 integers 0..65535', values, 'EINVAL');
    checkSpan(address, values.length, 123, 'values');
    values.forEach((x, i) => v.integer(`values[${i}]`, x, 0, 65535));
    return this._native.writeMultiple(unit, address, values);
  }

  /**
   * Sends `request` as it is (or nothing, to listen) and resolves with every byte that
   * arrived until `quietMs` of silence or `timeoutMs`. For diagnostics: no framing, no CRC.
   */
  rawExchange(request, options = {}) {
    const { timeoutMs = defaults.timeout, quietMs = 50 } = v.knownKeys('options', v.plainObject('options', options), ['timeoutMs', 'quietMs']);
    if (request !== null && !Buffer.isBuffer(request)) v.fail('request', 'a Buffer or null', request, 'EINVAL');
    if (request && request.length > 512) v.fail('request', 'at most 512 bytes', `${request.length} bytes`);
    v.integer('timeoutMs', timeoutMs, 1, 60000);
    v.integer('quietMs', quietMs, 0, 10000);
    return this._native.raw(request, timeoutMs, quietMs);
  }

  /** A sensor on this bus: bus.sensor(1, { profile: 'xy-md02' }). */
  sensor(unit, options = {}) {
    return new ModbusSensor(this, unit, options);
  }

  /** Counters of the link and of each unit (see docs/ARCHITECTURE.md). */
  async stats() {
    const s = await this._native.stats();
    const lat = [...s.latencyMs].sort((a, b) => a - b);
    const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] : null);
    s.latency = { samples: lat.length, p50: pct(50), p90: pct(90), p99: pct(99), max: lat.length ? lat[lat.length - 1] : null };
    return s;
  }

  async close() {
    if (this._closed) return;
    this._closed = true;
    await this._native.close();
  }

  async [Symbol.asyncDispose || Symbol.for("nodejs.asyncDispose")]() {
    await this.close();
  }
}

module.exports = { ModbusBus, parseTarget, checkOptions, BAUD_RATES, PARITIES };
