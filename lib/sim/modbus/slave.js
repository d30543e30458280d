'use strict';

// Modbus RTU slave simulator for RS485 temperature/humidity sensors (docs/protocols/modbus.md).
// Written from the protocol notes, independently of native/core, so that each side checks the
// other. The core only consumes bytes: a transport opens a port with sim.connect(reply) and
// feeds it whatever arrived; replies go back through that port's reply(buf).
//
// The parts: frames.js (what is on the line), unit.js (one sensor), port.js (one client's
// byte stream), faults.js (misbehaviour); this file holds the bus that ties them together and
// executes each request.

const { EventEmitter } = require('node:events');
const { withCrc } = require('./crc');
const { isWritableKind } = require('./profiles');
const { checkNumber } = require('../scale');
const {
  FN_READ_HOLDING, FN_READ_INPUT, FN_WRITE_SINGLE, FN_WRITE_MULTIPLE, EXCEPTION, CELSIUS_SIGN,
  autoReportLine, findFrame, requestLength, decodeRequest, hex,
} = require('./frames');
const { FAULT_MODES, WIRING_FAULT_MODES, ALL_FAULT_MODES, applyFault } = require('./faults');
const { SimUnit } = require('./unit');
const { SimPort } = require('./port');

function emptyStats() {
  return {
    bytesReceived: 0,
    bytesSent: 0,
    bytesDiscarded: 0,
    framesReceived: 0,
    framesAnswered: 0,
    framesIgnored: 0,
    crcErrors: 0,
    broadcasts: 0,
    exceptions: 0,
    requestsByUnit: {},
  };
}

/**
 * A bus of simulated Modbus RTU sensors.
 *
 * new ModbusSimulator({
 *   units: [{ address, profile, temperature, humidity, drift, seed, baudRate, baudConvention,
 *             temperatureCorrection, humidityCorrection, driftIntervalMs, name }],
 *   turnaroundMs = 0,   // delay before every reply
 *   frameGapMs = 5,     // silence after which a partial frame is dropped (0: never)
 *   busBaudRate = 9600, // units whose active baud differs hear nothing
 *   seed,               // base seed for the drift of all units
 *   now = Date.now,     // clock for the drift (tests)
 * })
 *
 * Events: 'request' (decoded request + outcome), 'reply' ({ port, address, bytes, fault }),
 *         'discard' ({ port, bytes, reason }).
 */
class ModbusSimulator extends EventEmitter {
  constructor(opts = {}) {
    super();
    this.turnaroundMs = opts.turnaroundMs == null ? 0 : opts.turnaroundMs;
    this.frameGapMs = opts.frameGapMs == null ? 5 : opts.frameGapMs;
    this.busBaudRate = opts.busBaudRate == null ? 9600 : opts.busBaudRate;
    this.seed = opts.seed == null ? null : opts.seed;
    this._now = typeof opts.now === 'function' ? opts.now : Date.now;
    this._ports = new Set();
    this._portByReply = new WeakMap();
    this._defaultPort = null;
    this.stats = emptyStats();
    this.units = [];
    const units = opts.units == null ? [{ address: 1 }] : opts.units;
    if (!Array.isArray(units)) throw new TypeError('units must be an array');
    for (const u of units) this.addUnit(u);
  }

  /** Add a unit; returns its SimUnit. */
  addUnit(cfg) {
    const unit = new SimUnit(cfg, this, this.units.length);
    this.units.push(unit);
    return unit;
  }

  /** Remove the unit(s) listening at address. */
  removeUnit(address) {
    const before = this.units.length;
    for (const u of this.units) if (u.address === address) this._stopAutoReport(u);
    this.units = this.units.filter((u) => u.address !== address);
    return this.units.length !== before;
  }

  /** The (first) unit listening at address, or undefined. */
  unit(address) {
    return this.units.find((u) => u.address === address);
  }

  _unitOrThrow(address) {
    const u = this.unit(address);
    if (!u) throw new RangeError(`no simulated unit at address ${address}`);
    return u;
  }

  /** Set the true sensor values (before corrections); the drift walks around them. */
  setValues(address, { temperature, humidity } = {}) {
    const u = this._unitOrThrow(address);
    if (temperature != null) checkNumber('temperature', temperature, -3276.8, 3276.7);
    if (humidity != null) checkNumber('humidity', humidity, 0, 100);
    u._setBase(temperature == null ? u.baseTemperature : temperature,
      humidity == null ? u.baseHumidity : humidity);
  }

  /**
   * Make a unit misbehave. mode: one of FAULT_MODES. opts:
   *   delayMs  extra delay before the reply (any mode; 'slow' defaults to 1000)
   *   code     exception code for 'exception' (default 4)
   *   unit     address to answer as for 'wrong-unit' (default address+1, wrapping at 247)
   *   length   bytes to send for 'short' (default: reply length - 3, at least 1)
   *   count / bytes  junk for 'leading-garbage' (default 3 random bytes)
   *   times    apply to this many requests, then clear (default: until clearFault)
   */
  setFault(address, mode, opts = {}) {
    const u = this._unitOrThrow(address);
    if (!ALL_FAULT_MODES.includes(mode)) {
      throw new RangeError(`unknown fault mode "${mode}" (known: ${ALL_FAULT_MODES.join(', ')})`);
    }
    if (mode === 'exception' && opts.code != null) checkNumber('exception code', opts.code, 1, 255);
    if (mode === 'noise' && opts.rate != null) checkNumber('noise rate', opts.rate, 0, 1);
    if (mode === 'ascii-autoreport') {
      if (opts.intervalMs != null) checkNumber('intervalMs', opts.intervalMs, 10, 600000);
      if (opts.encoding != null && !CELSIUS_SIGN[opts.encoding]) {
        throw new RangeError(`encoding must be one of ${Object.keys(CELSIUS_SIGN).join(', ')} (got ${opts.encoding})`);
      }
    }
    this._stopAutoReport(u);
    u.fault = { mode, opts: { ...opts }, remaining: opts.times == null ? Infinity : opts.times };
    if (mode === 'ascii-autoreport') this._startAutoReport(u);
  }

  clearFault(address) {
    const u = this._unitOrThrow(address);
    this._stopAutoReport(u);
    u.fault = null;
  }

  clearFaults() {
    for (const u of this.units) {
      this._stopAutoReport(u);
      u.fault = null;
    }
  }

  // The auto-report of the "ordinary protocol": a line every intervalMs to every open port
  // whose line speed is the unit's (a pty reports the client's; other transports use
  // busBaudRate). Unref'd, so it never keeps a process alive by itself.
  _startAutoReport(u) {
    const { intervalMs = 1000, encoding = 'utf-8' } = u.fault.opts;
    const timer = setInterval(() => {
      if (!u.fault || u.fault.mode !== 'ascii-autoreport' || !this.units.includes(u)) {
        this._stopAutoReport(u);
        return;
      }
      const r = u.readings();
      const line = autoReportLine(r.temperature, r.humidity, encoding);
      for (const port of this._ports) {
        const baud = (typeof port.baudRate === 'function' && port.baudRate()) || this.busBaudRate;
        if (port.closed || baud !== u.baudRate) continue;
        this.stats.bytesSent += line.length;
        this.emit('autoreport', { port: port.name, address: u.address, bytes: line });
        try {
          port._reply(line);
        } catch (err) {
          this.emit('transportError', err);
        }
      }
    }, intervalMs);
    timer.unref?.();
    u._autoReportTimer = timer;
  }

  _stopAutoReport(u) {
    if (u._autoReportTimer) {
      clearInterval(u._autoReportTimer);
      u._autoReportTimer = null;
    }
  }

  /** Power-cycle one unit (by its current address) or all: stored address/baud take effect. */
  powerCycle(address) {
    const targets = address == null ? this.units : [this._unitOrThrow(address)];
    for (const u of targets) u.powerCycle();
  }

  resetStats() {
    this.stats = emptyStats();
    for (const u of this.units) u.stats = { requests: 0, answered: 0, exceptions: 0, broadcasts: 0 };
  }

  /**
   * Open a transport endpoint. reply(buf) is called with every reply for requests that
   * arrived through it. Returns { name, receive(buf), close() }.
   */
  connect(reply, opts = {}) {
    const port = new SimPort(this, reply, opts);
    this._ports.add(port);
    return port;
  }

  /** Feed bytes; replies go to reply(buf). One input buffer per distinct reply function. */
  receive(buf, reply) {
    let port;
    if (typeof reply === 'function') {
      port = this._portByReply.get(reply);
      if (!port || port.closed) {
        port = this.connect(reply);
        this._portByReply.set(reply, port);
      }
    } else {
      if (!this._defaultPort || this._defaultPort.closed) this._defaultPort = this.connect(null, { name: 'default' });
      port = this._defaultPort;
    }
    port.receive(buf);
  }

  /** Close every port: pending replies are dropped; auto-reports stop. */
  close() {
    for (const u of this.units) this._stopAutoReport(u);
    for (const p of [...this._ports]) p.close();
  }

  _handleFrame(port, frame) {
    const st = this.stats;
    st.framesReceived++;
    const req = decodeRequest(frame);
    req.port = port.name;
    st.requestsByUnit[req.address] = (st.requestsByUnit[req.address] || 0) + 1;

    const listening = this.units.filter((u) => u.baudRate === this.busBaudRate);

    if (req.broadcast) {
      st.broadcasts++;
      let applied = 0;
      if (req.function === FN_WRITE_SINGLE || req.function === FN_WRITE_MULTIPLE) {
        for (const u of listening) {
          // An offline ('silent') or refusing ('exception') unit does not take the write.
          if (u.fault && ['silent', 'exception', 'ascii-autoreport'].includes(u.fault.mode)) continue;
          u.stats.broadcasts++;
          if (!execute(u, req).exception) applied++;
        }
      }
      this.emit('request', { ...req, outcome: 'broadcast', unitsApplied: applied, reply: null });
      return;
    }

    const targets = listening.filter((u) => u.address === req.address);
    if (!targets.length) {
      st.framesIgnored++;
      this.emit('request', { ...req, outcome: 'no-unit', reply: null });
      return;
    }

    for (const u of targets) {
      u.stats.requests++;
      const fault = u.fault;
      if (fault) {
        fault.remaining--;
        if (fault.remaining <= 0) u.fault = null;
      }
      const mode = fault ? fault.mode : null;
      const fopts = fault ? fault.opts : {};

      // A unit in the ASCII auto-report mode does not speak Modbus: it stays silent too.
      if (mode === 'silent' || mode === 'ascii-autoreport') {
        st.framesIgnored++;
        this.emit('request', { ...req, outcome: 'silent', fault: mode, reply: null });
        continue;
      }

      let result;
      if (mode === 'exception') result = { exception: fopts.code == null ? EXCEPTION.DEVICE_FAILURE : fopts.code };
      else result = execute(u, req);

      let body;
      if (result.exception) {
        st.exceptions++;
        u.stats.exceptions++;
        body = Buffer.from([req.address, (req.function | 0x80) & 0xff, result.exception]);
      } else {
        body = result.body;
      }
      const clean = withCrc(body);
      const { bytes, delayMs } = applyFault(u, mode, fopts, clean);
      const outcome = result.exception ? 'exception' : 'reply';
      this.emit('request', {
        ...req,
        outcome,
        exceptionCode: result.exception || null,
        fault: mode,
        reply: bytes,
        delayMs: this.turnaroundMs + delayMs,
      });
      port._send(bytes, this.turnaroundMs + delayMs, { unit: u, address: req.address, fault: mode });
    }
  }
}

/**
 * Run a request against a unit, in the order the Modbus spec checks things: function (01),
 * quantity (03), addresses (02), values (03). Returns { body } (reply without CRC) or
 * { exception }.
 */
function execute(unit, req) {
  const p = unit.profile;
  const addr = req.address;
  switch (req.function) {
    case FN_READ_HOLDING:
    case FN_READ_INPUT: {
      const table = req.function === FN_READ_INPUT ? p.input : p.holding;
      if (req.quantity < 1 || req.quantity > 125) return { exception: EXCEPTION.ILLEGAL_DATA_VALUE };
      const kinds = [];
      for (let r = req.start; r < req.start + req.quantity; r++) {
        const kind = r <= 0xffff ? table[r] : undefined;
        if (!kind) return { exception: EXCEPTION.ILLEGAL_DATA_ADDRESS };
        kinds.push(kind);
      }
      const body = Buffer.alloc(3 + 2 * kinds.length);
      body[0] = addr;
      body[1] = req.function;
      body[2] = 2 * kinds.length;
      kinds.forEach((k, i) => body.writeUInt16BE(unit.readKind(k), 3 + 2 * i));
      return { body };
    }
    case FN_WRITE_SINGLE: {
      const kind = p.holding[req.start];
      if (!isWritableKind(kind)) return { exception: EXCEPTION.ILLEGAL_DATA_ADDRESS };
      if (!unit.acceptsValue(kind, req.values[0])) return { exception: EXCEPTION.ILLEGAL_DATA_VALUE };
      unit.writeKind(kind, req.values[0]);
      return { body: Buffer.from(req.raw.subarray(0, 6)) };
    }
    case FN_WRITE_MULTIPLE: {
      if (req.quantity < 1 || req.quantity > 123 || req.byteCount !== 2 * req.quantity) {
        return { exception: EXCEPTION.ILLEGAL_DATA_VALUE };
      }
      const kinds = [];
      for (let r = req.start; r < req.start + req.quantity; r++) {
        const kind = r <= 0xffff ? p.holding[r] : undefined;
        if (!isWritableKind(kind)) return { exception: EXCEPTION.ILLEGAL_DATA_ADDRESS };
        kinds.push(kind);
      }
      for (let i = 0; i < kinds.length; i++) {
        if (!unit.acceptsValue(kinds[i], req.values[i])) return { exception: EXCEPTION.ILLEGAL_DATA_VALUE };
      }
      // All or nothing: nothing is stored unless every value is valid.
      kinds.forEach((k, i) => unit.writeKind(k, req.values[i]));
      return { body: Buffer.from(req.raw.subarray(0, 6)) };
    }
    default:
      return { exception: EXCEPTION.ILLEGAL_FUNCTION };
  }
}

module.exports = {
  ModbusSimulator,
  SimUnit,
  SimPort,
  FAULT_MODES,
  WIRING_FAULT_MODES,
  ALL_FAULT_MODES,
  EXCEPTION,
  autoReportLine,
  decodeRequest,
  findFrame,
  requestLength,
  hex,
};
