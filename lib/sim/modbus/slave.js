'use strict';

// Modbus RTU slave simulator for RS485 temperature/humidity sensors (protocols.md §3).
// Written from the protocol notes, independently of native/core, so that each side checks the
// other. The core only consumes bytes: a transport opens a port with sim.connect(reply) and
// feeds it whatever arrived; replies go back through that port's reply(buf).

const { EventEmitter } = require('node:events');
const { crcStep, withCrc, crcOk } = require('./crc');
const { getProfile, isWritableKind, encodeBaud, decodeBaud } = require('./profiles');
const { Rng } = require('../rng');
const { roundScaled, clamp } = require('../scale');

const MAX_ADU = 256; // longest Modbus RTU frame
const MAX_BUFFER = 2 * MAX_ADU; // input kept while waiting for a frame boundary

const FN_READ_HOLDING = 0x03;
const FN_READ_INPUT = 0x04;
const FN_WRITE_SINGLE = 0x06;
const FN_WRITE_MULTIPLE = 0x10;

const EXCEPTION = Object.freeze({
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  DEVICE_FAILURE: 0x04,
});

const FAULT_MODES = Object.freeze([
  'silent', 'bad-crc', 'garbage', 'slow', 'exception', 'wrong-unit', 'short', 'leading-garbage',
]);

// Wiring faults: what the master's receiver delivers when the cable to a unit is wrong. They
// are kept apart from FAULT_MODES (protocol faults) but set the same way, with setFault().
//   swapped-ab        A and B reversed: the correct reply with every byte XOR 0xFF. This models
//                     the receive side only (the unit is assumed to have understood the
//                     request); on a real bus an inverted line also turns start/stop bits over,
//                     and the unit usually cannot decode the inverted request at all, so a real
//                     swap most often shows as silence (see lib/diagnostics/modbus.js).
//   floating-ground   no common ground / no bias: as many 0xFF bytes as the reply had
//   shorted-ab        A shorted to B: as many 0x00 bytes as the reply had
//   noise             interference: with probability opts.rate (default 1) one bit of the
//                     reply flips, somewhere after the address and function bytes, so the
//                     frame is still recognisably this unit's but its CRC fails
//   ascii-autoreport  the unit was left in the XY-MD02 "ordinary protocol" auto-report mode
//                     (protocols.md §3.7): it ignores Modbus and, every opts.intervalMs
//                     (default 1000, the manual's HZ:1), sends a line such as
//                     "27.4℃,67.7%\r\n" unsolicited to every client at its baud rate.
//                     opts.encoding: 'utf-8' (default; ℃ is U+2103 = E2 84 83) or 'gb2312'
//                     (℃ = A1 E6, what a GB2312/GBK firmware would send; the manual does not
//                     say which, see autoReportLine()).
const WIRING_FAULT_MODES = Object.freeze([
  'swapped-ab', 'floating-ground', 'shorted-ab', 'noise', 'ascii-autoreport',
]);
const ALL_FAULT_MODES = Object.freeze([...FAULT_MODES, ...WIRING_FAULT_MODES]);

const CELSIUS_SIGN = Object.freeze({
  'utf-8': Buffer.from('\u2103', 'utf8'), // E2 84 83
  gb2312: Buffer.from([0xa1, 0xe6]),
});

/**
 * One auto-report line of the "ordinary protocol": "<t>℃,<h>%" + CR LF, one decimal each,
 * like the manual's READ reply example "27.4℃,67.7%". The line ending is not documented; CR LF
 * is assumed.
 */
function autoReportLine(temperature, humidity, encoding = 'utf-8') {
  const sign = CELSIUS_SIGN[encoding];
  if (!sign) throw new RangeError(`encoding must be one of ${Object.keys(CELSIUS_SIGN).join(', ')} (got ${encoding})`);
  return Buffer.concat([
    Buffer.from(temperature.toFixed(1), 'ascii'),
    sign,
    Buffer.from(`,${humidity.toFixed(1)}%\r\n`, 'ascii'),
  ]);
}

/**
 * Length of the request that starts at buf[i], from its function code:
 *   > 0  the full length (bytes),
 *   0    more bytes are needed before the length is known,
 *  -1    unknown function code (length found by looking for a matching CRC).
 * Functions other than 03/04/06/10 are not supported (exception 01), but the standard ones
 * still have known lengths, so they are framed the way a real slave frames them.
 */
function requestLength(buf, i, avail) {
  const fc = buf[i + 1];
  switch (fc) {
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
      return 8;
    case 0x07: case 0x0b: case 0x0c: case 0x11:
      return 4;
    case 0x0f: case 0x10:
      return avail < 7 ? 0 : 9 + buf[i + 6];
    case 0x16:
      return 10;
    case 0x17:
      return avail < 11 ? 0 : 13 + buf[i + 10];
    default:
      return -1;
  }
}

/** The earliest complete CRC-valid frame in buf: { start, length } or null. */
function findFrame(buf) {
  const n = buf.length;
  for (let i = 0; i + 4 <= n; i++) {
    const avail = n - i;
    const len = requestLength(buf, i, avail);
    if (len > 0) {
      if (len <= avail && crcOk(buf, i, i + len)) return { start: i, length: len };
    } else if (len < 0) {
      // Unknown function: accept the shortest stretch whose CRC matches.
      let crc = 0xffff;
      const end = Math.min(n, i + MAX_ADU);
      for (let j = i; j < end; j++) {
        crc = crcStep(crc, buf[j]);
        if (j - i + 1 >= 4 && crc === 0) return { start: i, length: j - i + 1 };
      }
    }
  }
  return null;
}

/** True when discarded bytes began with a complete frame of a known function with a bad CRC. */
function looksLikeBadCrcFrame(buf) {
  if (buf.length < 4) return false;
  const len = requestLength(buf, 0, buf.length);
  return len > 0 && len <= buf.length && !crcOk(buf, 0, len);
}

function toInt16(u) { return u & 0x8000 ? u - 0x10000 : u; }

function hex(buf) {
  return Buffer.from(buf).toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
}

function checkNumber(name, v, lo, hi) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${name} must be a number in ${lo}..${hi} (got ${v})`);
  }
}

/**
 * One simulated sensor. Settings registers (address, baud) change at once when written, but
 * the unit keeps listening with its active address/baud until powerCycle().
 */
class SimUnit {
  constructor(cfg, sim, index) {
    if (cfg == null || typeof cfg !== 'object') throw new TypeError('unit config must be an object');
    const profile = getProfile(cfg.profile);
    this.index = index;
    this.name = cfg.name || `unit ${cfg.address}`;
    this.profile = profile;
    checkNumber('unit address', cfg.address, 1, 255);
    if (!Number.isInteger(cfg.address)) throw new RangeError(`unit address must be an integer (got ${cfg.address})`);
    this.address = cfg.address; // active: the address it listens to

    const convention = cfg.baudConvention || (profile.baud && profile.baud.convention) || 'raw';
    if (convention !== 'raw' && convention !== 'code') {
      throw new RangeError(`baudConvention must be 'raw' or 'code' (got ${convention})`);
    }
    this.baudConvention = convention;
    const baudRate = cfg.baudRate == null ? 9600 : cfg.baudRate;
    if (profile.baud && encodeBaud(profile, convention, baudRate) == null) {
      throw new RangeError(`baudRate ${baudRate} is not one of ${profile.baud.rates.join('/')} for profile ${profile.name}`);
    }
    this.baudRate = baudRate; // active line speed

    const tc = cfg.temperatureCorrection == null ? 0 : cfg.temperatureCorrection;
    const hc = cfg.humidityCorrection == null ? 0 : cfg.humidityCorrection;
    checkNumber('temperatureCorrection', tc, -profile.correctionLimit, profile.correctionLimit);
    checkNumber('humidityCorrection', hc, -profile.correctionLimit, profile.correctionLimit);

    // Register contents (what a read returns / a write changes).
    this.registers = {
      address: cfg.address,
      baud: profile.baud ? encodeBaud(profile, convention, baudRate) : null,
      temperatureCorrection: roundScaled(tc, profile.correctionScale),
      humidityCorrection: roundScaled(hc, profile.correctionScale),
    };

    const t = cfg.temperature == null ? 21.5 : cfg.temperature;
    const h = cfg.humidity == null ? 45.0 : cfg.humidity;
    checkNumber('temperature', t, -3276.8, 3276.7);
    checkNumber('humidity', h, 0, 100);
    this.drift = cfg.drift !== false;
    this.driftIntervalMs = cfg.driftIntervalMs == null ? 2000 : cfg.driftIntervalMs;
    const seed = cfg.seed != null ? cfg.seed
      : sim.seed != null ? (sim.seed + 0x9e37 * (index + 1))
        : Math.floor(Math.random() * 0xffffffff);
    this.rng = new Rng(seed);
    this._now = sim._now;
    this._setBase(t, h);

    this.fault = null;
    this.stats = { requests: 0, answered: 0, exceptions: 0, broadcasts: 0 };
  }

  _setBase(t, h) {
    this.baseTemperature = t;
    this.baseHumidity = h;
    this.temperature = t;
    this.humidity = h;
    this._lastStep = this._now();
  }

  /** Advance the random walk to now (lazily: no timers, nothing keeps the process alive). */
  _advance() {
    if (!this.drift || !(this.driftIntervalMs > 0)) return;
    const now = this._now();
    let steps = Math.floor((now - this._lastStep) / this.driftIntervalMs);
    if (steps <= 0) return;
    this._lastStep += steps * this.driftIntervalMs;
    if (steps > 500) steps = 500;
    for (let s = 0; s < steps; s++) {
      // Small steps with a pull back towards the configured value.
      this.temperature += (this.rng.next() - 0.5) * 0.2 + (this.baseTemperature - this.temperature) * 0.05;
      this.humidity += (this.rng.next() - 0.5) * 0.6 + (this.baseHumidity - this.humidity) * 0.05;
      this.temperature = clamp(this.temperature, this.baseTemperature - 3, this.baseTemperature + 3);
      this.humidity = clamp(this.humidity, Math.max(0, this.baseHumidity - 8), Math.min(100, this.baseHumidity + 8));
    }
  }

  /** Reported values (after corrections), in engineering units. */
  readings() {
    this._advance();
    const cs = this.profile.correctionScale;
    return {
      temperature: this.temperature + toInt16(this.registers.temperatureCorrection & 0xffff) / cs,
      humidity: clamp(this.humidity + toInt16(this.registers.humidityCorrection & 0xffff) / cs, 0, 100),
    };
  }

  /** 16-bit register value for a kind. */
  readKind(kind) {
    const p = this.profile;
    switch (kind) {
      case 'temperature':
        return clamp(roundScaled(this.readings().temperature, p.valueScale), -32768, 32767) & 0xffff;
      case 'humidity':
        return clamp(roundScaled(this.readings().humidity, p.valueScale), 0, 0xffff);
      case 'address': return this.registers.address & 0xffff;
      case 'baud': return this.registers.baud & 0xffff;
      case 'temperatureCorrection': return this.registers.temperatureCorrection & 0xffff;
      case 'humidityCorrection': return this.registers.humidityCorrection & 0xffff;
      default: throw new Error(`no such register kind ${kind}`);
    }
  }

  /** True when value may be written to a register of this kind. */
  acceptsValue(kind, value) {
    const p = this.profile;
    switch (kind) {
      case 'address': return value >= p.addressRange[0] && value <= p.addressRange[1];
      case 'baud': return decodeBaud(p, this.baudConvention, value) != null;
      case 'temperatureCorrection':
      case 'humidityCorrection':
        return Math.abs(toInt16(value)) <= p.correctionLimit * p.correctionScale;
      default: return false;
    }
  }

  writeKind(kind, value) {
    if (kind === 'temperatureCorrection' || kind === 'humidityCorrection') {
      this.registers[kind] = toInt16(value);
    } else {
      this.registers[kind] = value;
    }
  }

  /** Apply the stored address/baud registers, as a real unit does when it powers up. */
  powerCycle() {
    this.address = this.registers.address;
    if (this.profile.baud) this.baudRate = decodeBaud(this.profile, this.baudConvention, this.registers.baud);
  }

  /** A plain snapshot for logs and tests. */
  describe() {
    const r = this.readings();
    return {
      address: this.address,
      profile: this.profile.name,
      baudRate: this.baudRate,
      baudConvention: this.baudConvention,
      temperature: Math.round(r.temperature * 100) / 100,
      humidity: Math.round(r.humidity * 100) / 100,
      registers: { ...this.registers },
      fault: this.fault ? { mode: this.fault.mode, ...this.fault.opts } : null,
    };
  }
}

/**
 * One transport endpoint (a TCP client, a pty). It owns its input buffer and inter-frame
 * timer, so several clients never mix their bytes.
 */
class SimPort {
  constructor(sim, reply, opts = {}) {
    this.sim = sim;
    this.name = opts.name || 'port';
    this._reply = typeof reply === 'function' ? reply : () => {};
    this._buf = Buffer.alloc(0);
    this._gapTimer = null;
    this._pending = new Set();
    this.closed = false;
    // Optional: the line speed the client of this port uses right now (a pty knows it). Units
    // at another rate do not hear it, and their auto-report does not reach it.
    if (typeof opts.baudRate === 'function') this.baudRate = opts.baudRate;
  }

  /** Feed bytes that arrived on this port. */
  receive(chunk) {
    if (this.closed) return;
    const sim = this.sim;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    sim.stats.bytesReceived += data.length;
    if (data.length === 0) return;
    this._buf = this._buf.length ? Buffer.concat([this._buf, data]) : Buffer.from(data);
    this._parse();
    if (this._buf.length > MAX_BUFFER) this._discard(this._buf.length - MAX_BUFFER, 'overflow');
    this._armGapTimer();
  }

  _parse() {
    for (;;) {
      const f = findFrame(this._buf);
      if (!f) return;
      if (f.start > 0) this._discard(f.start, 'garbage');
      const frame = Buffer.from(this._buf.subarray(0, f.length));
      this._buf = this._buf.subarray(f.length);
      this.sim._handleFrame(this, frame);
    }
  }

  _discard(n, reason) {
    const dropped = Buffer.from(this._buf.subarray(0, n));
    this._buf = this._buf.subarray(n);
    const sim = this.sim;
    if (looksLikeBadCrcFrame(dropped)) {
      sim.stats.crcErrors++;
      reason = 'bad CRC';
    }
    sim.stats.bytesDiscarded += dropped.length;
    sim.emit('discard', { port: this.name, bytes: dropped, reason });
  }

  _armGapTimer() {
    if (this._gapTimer) { clearTimeout(this._gapTimer); this._gapTimer = null; }
    const gap = this.sim.frameGapMs;
    if (!this._buf.length || !(gap > 0)) return;
    this._gapTimer = setTimeout(() => {
      this._gapTimer = null;
      if (this._buf.length) this._discard(this._buf.length, 'silence');
    }, gap);
    this._gapTimer.unref?.();
  }

  _send(bytes, delayMs, info) {
    if (this.closed) return;
    const fire = () => {
      this._pending.delete(handle);
      if (this.closed) return;
      this.sim.stats.framesAnswered++;
      this.sim.stats.bytesSent += bytes.length;
      if (info.unit) info.unit.stats.answered++;
      this.sim.emit('reply', { port: this.name, address: info.address, bytes, fault: info.fault });
      try {
        this._reply(bytes);
      } catch (err) {
        this.sim.emit('transportError', err);
      }
    };
    const handle = delayMs > 0 ? setTimeout(fire, delayMs) : setImmediate(fire);
    this._pending.add(handle);
  }

  /** Stop: drop buffered input and replies not sent yet. */
  close() {
    if (this.closed) return;
    this.closed = true;
    if (this._gapTimer) clearTimeout(this._gapTimer);
    for (const h of this._pending) { clearTimeout(h); clearImmediate(h); }
    this._pending.clear();
    this._buf = Buffer.alloc(0);
    this.sim._ports.delete(this);
  }
}

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

/** Decode a CRC-checked request frame into a plain object. */
function decodeRequest(frame) {
  const req = {
    address: frame[0],
    broadcast: frame[0] === 0,
    function: frame[1],
    raw: frame,
    hex: hex(frame),
  };
  const fc = frame[1];
  if (fc === FN_READ_HOLDING || fc === FN_READ_INPUT) {
    req.start = frame.readUInt16BE(2);
    req.quantity = frame.readUInt16BE(4);
  } else if (fc === FN_WRITE_SINGLE) {
    req.start = frame.readUInt16BE(2);
    req.quantity = 1;
    req.values = [frame.readUInt16BE(4)];
  } else if (fc === FN_WRITE_MULTIPLE) {
    req.start = frame.readUInt16BE(2);
    req.quantity = frame.readUInt16BE(4);
    req.byteCount = frame[6];
    req.values = [];
    for (let o = 7; o + 1 < frame.length - 2; o += 2) req.values.push(frame.readUInt16BE(o));
  }
  return req;
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

/** Turn a correct reply into what a faulty unit sends. Returns { bytes, delayMs }. */
function applyFault(unit, mode, opts, clean) {
  let delayMs = opts.delayMs == null ? 0 : Number(opts.delayMs);
  let bytes = clean;
  switch (mode) {
    case null:
    case 'exception':
      break;
    case 'slow':
      if (opts.delayMs == null) delayMs = 1000;
      break;
    case 'bad-crc':
      bytes = Buffer.from(clean);
      bytes[bytes.length - 2] ^= 0xff;
      bytes[bytes.length - 1] ^= 0xff;
      break;
    case 'garbage':
      do bytes = unit.rng.bytes(clean.length); while (crcOk(bytes) || bytes.equals(clean));
      break;
    case 'wrong-unit': {
      const other = opts.unit == null ? (clean[0] % 247) + 1 : opts.unit;
      const body = Buffer.from(clean.subarray(0, clean.length - 2));
      body[0] = other;
      bytes = withCrc(body);
      break;
    }
    case 'short': {
      const n = opts.length == null ? Math.max(1, clean.length - 3) : Math.max(0, Math.min(opts.length, clean.length - 1));
      bytes = Buffer.from(clean.subarray(0, n));
      break;
    }
    case 'leading-garbage': {
      const junk = opts.bytes != null ? Buffer.from(opts.bytes) : unit.rng.bytes(opts.count == null ? 3 : opts.count);
      bytes = Buffer.concat([junk, clean]);
      break;
    }
    case 'swapped-ab':
      bytes = Buffer.from(clean.map((b) => b ^ 0xff));
      break;
    case 'floating-ground':
      bytes = Buffer.alloc(clean.length, 0xff);
      break;
    case 'shorted-ab':
      bytes = Buffer.alloc(clean.length, 0x00);
      break;
    case 'noise': {
      const rate = opts.rate == null ? 1 : opts.rate;
      if (clean.length > 2 && unit.rng.next() < rate) {
        bytes = Buffer.from(clean);
        const at = 2 + Math.floor(unit.rng.next() * (bytes.length - 2));
        bytes[at] ^= 1 << Math.floor(unit.rng.next() * 8);
      }
      break;
    }
    default:
      break;
  }
  return { bytes, delayMs };
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
