'use strict';

// M307 Temperature Guard simulator (protocols.md §1), written from the protocol notes and
// independently of native/core/m307 so that each side checks the other.
//
// The core only consumes bytes: a transport opens a connection with sim.connect(write, opts)
// and feeds it whatever arrived; replies go back through write(buf, cb). Requests are exactly
// 60 bytes and are cut from the byte stream however TCP split them. Time comes from the
// injectable now() function and is applied lazily (on every request and every setter): the
// clock, the log and the alarm counters need no timers. The only timers are per connection
// (delayed or split replies, the refuse-second grace) and end with the connection.
//
// Behaviour the guide leaves open is chosen here and listed in the class comment below.

const { EventEmitter } = require('node:events');
const E = require('./encoding');
const { Rng } = require('../rng');
const { roundScaled, clamp } = require('../scale');

const { RECORD_SIZE, LOG_RECORD_SIZE, MINUTE } = E;

const FAULT_MODES = Object.freeze([
  'split', 'slow', 'drop', 'refuse-second', 'silent', 'verify-mismatch', 'garbage',
]);

// Where each analogue input lives in the status record, record 0, the name records and a log
// entry (protocols.md §1.3, §1.5, §1.8).
const INPUTS = Object.freeze({
  temp1: { index: 0, kind: 'temp', status: 4, limits: 8, correction: 36, log: 6 },
  temp2: { index: 1, kind: 'temp', status: 9, limits: 14, correction: 38, log: 8 },
  internal: { index: 2, kind: 'temp', status: 14, limits: 20, correction: 40, log: 10 },
  humidity: { index: 3, kind: 'humidity', status: 19, limits: 26, correction: 42, log: 12 },
});
const INPUT_NAMES = Object.freeze(Object.keys(INPUTS));
const INPUT_ALIASES = Object.freeze({
  internalTemp: 'internal', internalTemperature: 'internal', internalHumidity: 'humidity',
});

const DOORS = Object.freeze({
  1: { status: 24, delay: 32, logBit: 0x01 },
  2: { status: 29, delay: 34, logBit: 0x02 },
});

// Name fields (record, offset); 20 ASCII characters each.
const NAME_FIELDS = Object.freeze({
  temp1: { record: 2, offset: 8 },
  temp2: { record: 2, offset: 28 },
  door1: { record: 3, offset: 8 },
  door2: { record: 3, offset: 28 },
  internal: { record: 5, offset: 8 },
  humidity: { record: 5, offset: 28 },
});
const NAME_LEN = 20;

const SPECIALS = Object.freeze({
  temp: Object.freeze({ 'no-sensor': 1000, open: 999, shorted: -999 }),
  humidity: Object.freeze({ failed: 999 }),
});

const DEFAULT_READINGS = Object.freeze({ temp1: 4.2, temp2: -18.5, internal: 22.3, humidity: 45.0 });

// Slow daily swing plus per-minute noise, per input (degrees C or %RH).
const DRIFT = Object.freeze({
  temp1: { amplitude: 0.4, noise: 0.15 },
  temp2: { amplitude: 0.6, noise: 0.2 },
  internal: { amplitude: 1.5, noise: 0.1 },
  humidity: { amplitude: 4.0, noise: 0.6 },
});

const RESOLUTION_FLAG = { 0.1: 10, 1: 1 }; // status byte 58

function checkInteger(name, v, lo, hi) {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${name} must be an integer in ${lo}..${hi} (got ${v})`);
  }
}

function checkNumber(name, v, lo, hi) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${name} must be a number in ${lo}..${hi} (got ${v})`);
  }
}

function checkInput(input) {
  if (!Object.prototype.hasOwnProperty.call(INPUTS, input)) {
    throw new RangeError(`input must be one of ${INPUT_NAMES.join(', ')} (got ${JSON.stringify(input)})`);
  }
  return INPUTS[input];
}

function checkDoor(n) {
  if (n !== 1 && n !== 2) throw new RangeError(`door must be 1 or 2 (got ${JSON.stringify(n)})`);
  return DOORS[n];
}

function floorMinute(ms) {
  return Math.floor(ms / MINUTE) * MINUTE;
}

/** Factory content of user records 0..5: 60-byte buffers whose bytes 0..3 are AA BB CC 0n. */
function factoryRecords({ name, mac, serial }) {
  const recs = [];
  for (let n = 0; n < E.USER_RECORDS; n++) {
    const r = Buffer.alloc(RECORD_SIZE, 0x00);
    r.set(E.readRecordCommand(n), 0);
    recs.push(r);
  }
  // Undocumented bytes read 0xFF (erased EEPROM), so a client that does not preserve them
  // (read-modify-write) is visible. Bytes 4..7 (password, not implemented) are 0.
  recs[0].fill(0xff, 47, 60); // 8..43 limits/delays/corrections 0, 44 not used, 45/46 input logic 0
  writeTextField(recs[1], 8, 20, name);
  recs[1][28] = 0x43; // 'C'
  writeTextField(recs[1], 29, 20, mac);
  recs[1][49] = 0xff;
  writeTextField(recs[1], 50, 10, serial);
  for (const n of [2, 3, 5]) recs[n].fill(0xff, 48, 60); // two empty 20-byte names, then unused
  recs[4][8] = 0; // relay normally off
  recs[4][9] = 0; // alarm reminder disabled
  recs[4][10] = 1; // buzzer enabled
  recs[4][11] = 0; // two-stage door alarm disabled
  recs[4].fill(0xff, 12, 60);
  return recs;
}

function writeTextField(buf, off, len, text) {
  try {
    E.writeAscii(buf, off, len, text);
  } catch (err) {
    throw new RangeError(`${err.message} (field of ${len} bytes at offset ${off})`);
  }
}

/**
 * One TCP client (or any byte-stream endpoint). It owns its input buffer and its reply queue:
 * requests are handled one at a time in arrival order, the next only after the previous reply
 * was written completely (as the device's single MCU does).
 */
class M307Port {
  constructor(sim, write, opts = {}) {
    this.sim = sim;
    this.name = opts.name || 'port';
    this._write = typeof write === 'function' ? write : () => {};
    this._close = typeof opts.close === 'function' ? opts.close : () => {};
    this._buf = Buffer.alloc(0);
    this._queue = [];
    this._busy = false;
    this._timers = new Set();
    this._partialTimer = null;
    this.closed = false;
  }

  /** Feed bytes that arrived on this connection. */
  receive(chunk) {
    if (this.closed) return;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.sim.stats.bytesReceived += data.length;
    if (!data.length) return;
    this._buf = this._buf.length ? Buffer.concat([this._buf, data]) : Buffer.from(data);
    while (this._buf.length >= RECORD_SIZE) {
      this._queue.push(Buffer.from(this._buf.subarray(0, RECORD_SIZE)));
      this._buf = this._buf.subarray(RECORD_SIZE);
    }
    this._armPartialTimer();
    this._pump();
  }

  _armPartialTimer() {
    if (this._partialTimer) { clearTimeout(this._partialTimer); this._partialTimer = null; }
    const ms = this.sim.partialTimeoutMs;
    if (!this._buf.length || !(ms > 0)) return;
    this._partialTimer = setTimeout(() => {
      this._partialTimer = null;
      if (this.closed || !this._buf.length) return;
      const dropped = Buffer.from(this._buf);
      this._buf = Buffer.alloc(0);
      this.sim.stats.bytesDiscarded += dropped.length;
      this.sim.emit('discard', { port: this.name, bytes: dropped, reason: 'incomplete request' });
    }, ms);
  }

  _pump() {
    while (!this._busy && !this.closed && this._queue.length) {
      const req = this._queue.shift();
      const plan = this.sim._handle(this, req);
      if (!plan) continue;
      this._busy = true;
      this._deliver(plan, () => {
        this._busy = false;
        this._pump();
      });
    }
  }

  _later(fn, ms) {
    const h = setTimeout(() => {
      this._timers.delete(h);
      fn();
    }, ms);
    this._timers.add(h);
  }

  /** Write a reply according to its plan: delay, segment size and gap, drop after n bytes. */
  _deliver(plan, done) {
    const drop = plan.dropAfter != null;
    const out = drop ? plan.bytes.subarray(0, Math.max(0, Math.min(plan.dropAfter, plan.bytes.length))) : plan.bytes;
    const seg = plan.segment > 0 ? plan.segment : Math.max(1, out.length);
    let off = 0;
    const step = () => {
      if (this.closed) return;
      if (off >= out.length) { // only for an empty reply (drop after 0 bytes)
        this._hangUp();
        return;
      }
      const piece = out.subarray(off, off + seg);
      off += piece.length;
      const last = off >= out.length;
      this.sim.stats.bytesSent += piece.length;
      if (last && drop) {
        this._send(piece, () => this._hangUp());
        return;
      }
      this._send(piece);
      if (last) done();
      else this._later(step, plan.gapMs);
    };
    if (plan.delayMs > 0) this._later(step, plan.delayMs);
    else step();
  }

  _send(buf, cb) {
    try {
      this._write(buf, cb);
    } catch (err) {
      this.sim.emit('transportError', err);
      if (cb) cb();
    }
  }

  _hangUp() {
    if (this.closed) return;
    this.sim.stats.dropped++;
    this.sim.emit('drop', { port: this.name });
    this._close();
    this.close();
  }

  /** Stop: pending replies and buffered input are dropped. */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const h of this._timers) clearTimeout(h);
    this._timers.clear();
    if (this._partialTimer) clearTimeout(this._partialTimer);
    this._partialTimer = null;
    this._queue = [];
    this._buf = Buffer.alloc(0);
    this.sim._ports.delete(this);
    this.sim.emit('disconnect', { port: this.name });
  }
}

function emptyStats() {
  const byCommand = {};
  for (const c of E.COMMAND_NAMES) byCommand[c] = 0;
  return {
    connections: 0, // accepted and served
    refused: 0, // accepted and closed at once (refuse-second)
    bytesReceived: 0,
    bytesSent: 0,
    bytesDiscarded: 0,
    requests: 0,
    replies: 0,
    dropped: 0,
    byCommand,
  };
}

/**
 * A simulated M307 Temperature Guard.
 *
 * new M307Simulator({
 *   now = Date.now,          // time source (ms); everything time-based follows it (tests)
 *   clock,                   // initial device wall clock: 'YYYY-MM-DD HH:MM[:SS]', a Date
 *                            // (its local fields) or device ms; default: host local time
 *   readings,                // { temp1, temp2, internal, humidity }: see setReading()
 *   doors,                   // { 1: 'open'|'closed', 2: ... } (default closed)
 *   power = true, battery = 3.24,
 *   resolution = 0.1,        // 0.1 -> status byte 58 = 10; 1 -> byte 58 = 1 (older units)
 *   unit = 'C',              // written to user record 1 byte 28
 *   drift = false,           // live readings wander slowly (daily swing + noise); false:
 *                            // exactly what was set
 *   seed,                    // for drift, pre-filled history and garbage (repeatable runs)
 *   logRate = 5,             // log interval in minutes (0: not logging)
 *   logRecords = 0,          // pre-fill this many records (history), capped at logCapacity
 *   logStart,                // device time of the first pre-filled record (default: so the
 *                            // last one falls on the current minute)
 *   logHistory = 'plausible', // pre-filled records: 'plausible' (daily swing and noise around
 *                            // the current readings, doors opened now and then, the odd
 *                            // mains outage) or 'flat' (the current readings and states)
 *   logCapacity = 4000,
 *   logEcho = false,         // send a 60-byte echo before the log stream
 *   logInputActive = 'closed', // which door state sets a log input bit ('closed' | 'open')
 *   limitUnits = 'raw',      // temperature limits compared with the raw reading ('raw', i.e.
 *                            // x10 on 0.1-degree units) or in whole degrees ('whole')
 *   secondsEncoding = 'binary', // seconds in the clock reply: 'binary' (guide) or 'bcd'
 *   refuseSecond = true,     // one TCP client at a time (fault 'refuse-second')
 *   refuseGraceMs = 50,      // how long a second client waits for the first one to be gone
 *   partialTimeoutMs = 0,    // drop an incomplete request after this silence (0: never)
 *   name = 'M307 Simulator', mac = '00:20:4A:3D:07:01', serial = 'M307000001',
 * })
 *
 * Choices where the guide is silent:
 *  - unknown commands (and records 6..255) get no reply at all;
 *  - store date/time (DE CA DE 00) answers with the 60 request bytes echoed; seconds are set
 *    to 0; the day of week is computed (1 = Sunday); a time that is not a valid calendar
 *    date leaves the clock alone; the log interval byte is stored as sent (0 stops logging);
 *    the next record is logged one interval after the (whole) minute of the change;
 *  - read log: 'reset' (byte 4 = 01) starts at the oldest record; otherwise the stream starts
 *    after the last record sent by a previous read (incremental). The read pointer starts at
 *    the oldest record. The record count (DE CA DE 02) is the number of records held;
 *  - alarm settings of an input are "set" when its record-0 words (lower, upper, delay; for a
 *    door only the delay) are not all zero; a name is "set" when its field holds anything
 *    other than NUL, space or 0xFF. Minutes out of limits count whenever the settings are
 *    set; the alarm flag also needs the name and more than `delay` minutes (delay 0: as soon
 *    as any time has passed). Door minutes count whenever the door is open. Special raw
 *    values are compared with the limits like any other value. Nothing latches;
 *  - correction factors (x10) are added to the raw reading of 0.1-degree units and ignored on
 *    1-degree units (they are a rev 5+ feature); never applied to special values;
 *  - status byte 59 is 'F' when record 1 byte 28 is 0x46, otherwise 'C';
 *  - a log record keeps the raw values of the moment it was logged (later unit or resolution
 *    changes do not rewrite history);
 *  - 'silent' requests are not executed (a write is not stored).
 *
 * Methods: setReading(input, value) / setReadings({...}) (inputs temp1, temp2, internal,
 * humidity; aliases internalTemp, internalTemperature, internalHumidity), setDoor(1|2,
 * 'open'|'closed'), setPower(bool), setBattery(volts), setResolution(0.1|1), setUnit('C'|'F'),
 * setName(target, text), setLimits(target, { lower, upper, delay }), setCorrection(input, cf),
 * userRecord(n), setUserRecord(n, data), setClock(value), setLogRate(min), clock(),
 * advance(ms), tick(), statusRecord(), logData(), logCount, clearLog(), describe(),
 * setFault(mode, opts), clearFault([mode]), faults(), stats, resetStats(), clients(),
 * connect(write, opts), close().
 *
 * Events: 'connect' / 'refused' / 'disconnect' ({ port }), 'request' ({ port, command,
 * record, request, reply, outcome: 'reply'|'silent'|'unknown', faults, detail }), 'drop',
 * 'discard'.
 */
class M307Simulator extends EventEmitter {
  constructor(opts = {}) {
    super();
    if (opts == null || typeof opts !== 'object') throw new TypeError('options must be an object');
    const baseNow = typeof opts.now === 'function' ? opts.now : Date.now;
    this._skew = 0; // advance(ms) moves time on by itself
    this._nowFn = () => baseNow() + this._skew;
    const t = this._nowFn();

    this.drift = !!opts.drift;
    const history = opts.logHistory == null ? 'plausible' : opts.logHistory;
    if (history !== 'plausible' && history !== 'flat') {
      throw new RangeError(`logHistory must be 'plausible' or 'flat' (got ${history})`);
    }
    this.logHistory = history;
    this.seed = opts.seed != null ? Number(opts.seed) >>> 0 : Math.floor(Math.random() * 0x100000000);
    this._rng = new Rng(this.seed ^ 0x5bd1e995);
    this.logEcho = !!opts.logEcho;
    this.partialTimeoutMs = opts.partialTimeoutMs == null ? 0 : opts.partialTimeoutMs;
    checkNumber('partialTimeoutMs', this.partialTimeoutMs, 0, 3600000);
    this.refuseGraceMs = opts.refuseGraceMs == null ? 50 : opts.refuseGraceMs;
    checkNumber('refuseGraceMs', this.refuseGraceMs, 0, 60000);

    const logInputActive = opts.logInputActive == null ? 'closed' : opts.logInputActive;
    if (logInputActive !== 'closed' && logInputActive !== 'open') {
      throw new RangeError(`logInputActive must be 'closed' or 'open' (got ${logInputActive})`);
    }
    this.logInputActive = logInputActive;
    const limitUnits = opts.limitUnits == null ? 'raw' : opts.limitUnits;
    if (limitUnits !== 'raw' && limitUnits !== 'whole') {
      throw new RangeError(`limitUnits must be 'raw' or 'whole' (got ${limitUnits})`);
    }
    this.limitUnits = limitUnits;
    const secondsEncoding = opts.secondsEncoding == null ? 'binary' : opts.secondsEncoding;
    if (secondsEncoding !== 'binary' && secondsEncoding !== 'bcd') {
      throw new RangeError(`secondsEncoding must be 'binary' or 'bcd' (got ${secondsEncoding})`);
    }
    this.secondsEncoding = secondsEncoding;

    this._records = factoryRecords({
      name: opts.name == null ? 'M307 Simulator' : opts.name,
      mac: opts.mac == null ? '00:20:4A:3D:07:01' : opts.mac,
      serial: opts.serial == null ? 'M307000001' : opts.serial,
    });

    this._resolution = 0.1;
    if (opts.resolution != null) this._setResolution(opts.resolution);
    if (opts.unit != null) this._setUnit(opts.unit);

    this._values = {};
    this._cond = {};
    for (const input of INPUT_NAMES) {
      this._values[input] = { value: DEFAULT_READINGS[input] };
      this._cond[input] = { since: null };
    }
    if (opts.readings != null) {
      for (const [input, v] of Object.entries(opts.readings)) {
        this._values[INPUT_ALIASES[input] || input] = this._parseReading(input, v);
      }
    }
    this._doors = { 1: { open: false, since: null }, 2: { open: false, since: null } };
    if (opts.doors != null) {
      for (const [key, state] of Object.entries(opts.doors)) {
        const n = Number(key);
        checkDoor(n);
        const d = this._doors[n];
        d.open = this._parseDoorState(state);
        d.since = d.open ? t : null;
      }
    }
    this._power = opts.power == null ? true : !!opts.power;
    this._battery = 0;
    this._setBattery(opts.battery == null ? 3.24 : opts.battery);

    // Clock: device time = now() + offset.
    this._clockOffset = opts.clock != null
      ? E.parseClock(opts.clock) - t
      : -new Date(t).getTimezoneOffset() * MINUTE;

    // Log: a ring of logCapacity 15-byte records; sequence numbers never wrap.
    const cap = opts.logCapacity == null ? E.LOG_CAPACITY : opts.logCapacity;
    checkInteger('logCapacity', cap, 1, 65535);
    this._logCap = cap;
    this._log = Buffer.alloc(cap * LOG_RECORD_SIZE);
    this._logTotal = 0;
    this._logRead = 0;
    const rate = opts.logRate == null ? 5 : opts.logRate;
    checkInteger('logRate', rate, 0, 255);
    this._logRate = rate;
    const n = opts.logRecords == null ? 0 : opts.logRecords;
    checkInteger('logRecords', n, 0, 1e6);
    this._prefillLog(n, opts.logStart, t);

    this._faults = new Map();
    this._refuse = opts.refuseSecond === false ? null : { reset: false };
    this._ports = new Set();
    this._pending = new Set();
    this.stats = emptyStats();
  }

  // ---- time ----------------------------------------------------------------------------------

  now() {
    return this._nowFn();
  }

  /** Device wall clock in device ms (see encoding.clockFields). */
  deviceTime(t = this._nowFn()) {
    return t + this._clockOffset;
  }

  /** The device clock: { year, month, date, hour, minute, second, dow, text }. */
  clock() {
    const ms = this.deviceTime();
    return { ...E.clockFields(ms), text: E.clockText(ms) };
  }

  /** Set the device clock (what DE CA DE 00 does, without touching the log rate). */
  setClock(value) {
    const t = this._nowFn();
    this._update(t);
    this._clockOffset = E.parseClock(value) - t;
    this._rescheduleLog(t);
  }

  get logRate() { return this._logRate; }

  setLogRate(minutes) {
    checkInteger('log rate', minutes, 0, 255);
    const t = this._nowFn();
    this._update(t);
    this._logRate = minutes;
    this._rescheduleLog(t);
  }

  /** Move the simulator's time on by ms (on top of now()), then tick(). */
  advance(ms) {
    checkNumber('advance ms', ms, 0, Number.MAX_SAFE_INTEGER);
    this._skew += ms;
    this.tick();
  }

  /** Bring alarms and the log up to now(); every request and setter does this itself. */
  tick() {
    this._update(this._nowFn());
  }

  _update(t) {
    this._advanceLog(t);
    this._track(t);
  }

  // ---- readings ------------------------------------------------------------------------------

  _parseReading(name, v) {
    const input = INPUT_ALIASES[name] || name;
    const info = checkInput(input);
    if (typeof v === 'string') {
      const specials = SPECIALS[info.kind];
      if (!Object.prototype.hasOwnProperty.call(specials, v)) {
        throw new RangeError(`${input}: special value must be one of ${Object.keys(specials).join(', ')} (got ${JSON.stringify(v)})`);
      }
      return { raw: specials[v], special: v };
    }
    if (v != null && typeof v === 'object' && 'raw' in v) {
      checkInteger(`${input} raw value`, v.raw, -32768, 32767);
      return { raw: v.raw };
    }
    if (info.kind === 'humidity') checkNumber(`${input} (%RH)`, v, 0, 100);
    else checkNumber(`${input} (degrees C)`, v, -200, 850);
    return { value: v };
  }

  /**
   * Set what an input measures: a number (degrees C for temperatures, whatever unit the device
   * reports in; %RH for humidity), a special state ('no-sensor' | 'open' | 'shorted' for
   * temperatures, 'failed' for humidity), or { raw: n } to report n as is.
   */
  setReading(input, value) {
    const parsed = this._parseReading(input, value);
    const t = this._nowFn();
    this._update(t);
    this._values[INPUT_ALIASES[input] || input] = parsed;
    this._update(t);
  }

  /** setReading() for several inputs: { temp1: 30.5, humidity: 'failed', ... }. */
  setReadings(values) {
    for (const [k, v] of Object.entries(values)) this.setReading(k, v);
  }

  _parseDoorState(state) {
    if (state === 'open') return true;
    if (state === 'closed') return false;
    throw new RangeError(`door state must be 'open' or 'closed' (got ${JSON.stringify(state)})`);
  }

  setDoor(n, state) {
    checkDoor(n);
    const open = this._parseDoorState(state);
    const t = this._nowFn();
    this._update(t);
    const d = this._doors[n];
    if (open && !d.open) d.since = t;
    if (!open) d.since = null;
    d.open = open;
    this._update(t);
  }

  setPower(on) {
    if (typeof on !== 'boolean') throw new TypeError(`power must be true or false (got ${on})`);
    this._update(this._nowFn());
    this._power = on;
  }

  _setBattery(volts) {
    checkNumber('battery voltage', volts, 0, 655.35);
    this._battery = roundScaled(volts, 100);
  }

  setBattery(volts) {
    this._setBattery(volts);
  }

  _setResolution(r) {
    if (r !== 0.1 && r !== 1) throw new RangeError(`resolution must be 0.1 or 1 (got ${r})`);
    this._resolution = r;
  }

  /** 0.1 (status byte 58 = 10) or 1 (byte 58 = 1: an older unit with whole degrees). */
  setResolution(r) {
    const t = this._nowFn();
    this._update(t);
    this._setResolution(r);
    this._update(t);
  }

  get resolution() { return this._resolution; }

  _setUnit(u) {
    if (u !== 'C' && u !== 'F') throw new RangeError(`unit must be 'C' or 'F' (got ${JSON.stringify(u)})`);
    this._records[1][28] = u.charCodeAt(0);
  }

  /** Write the unit into user record 1 byte 28, as a client would. */
  setUnit(u) {
    const t = this._nowFn();
    this._update(t);
    this._setUnit(u);
    this._update(t);
  }

  /** 'F' when record 1 byte 28 is 0x46, otherwise 'C'. */
  get unit() {
    return this._records[1][28] === 0x46 ? 'F' : 'C';
  }

  // ---- user-record helpers (a client does the same over the wire) ---------------------------

  /** Name an input ('temp1', 'temp2', 'internal', 'humidity', 'door1', 'door2'); '' unnames it. */
  setName(target, name) {
    const f = NAME_FIELDS[target];
    if (!f) throw new RangeError(`name target must be one of ${Object.keys(NAME_FIELDS).join(', ')} (got ${JSON.stringify(target)})`);
    const t = this._nowFn();
    this._update(t);
    writeTextField(this._records[f.record], f.offset, NAME_LEN, name);
    this._update(t);
  }

  /**
   * Record-0 alarm settings in raw int16 units: { lower, upper, delay } for an input,
   * { delay } for 'door1' / 'door2'. Omitted fields are left as they are.
   */
  setLimits(target, { lower, upper, delay } = {}) {
    const r0 = this._records[0];
    const t = this._nowFn();
    const put = (name, v, off) => {
      if (v == null) return;
      checkInteger(name, v, -32768, 32767);
      r0.writeInt16BE(v, off);
    };
    this._update(t);
    if (target === 'door1' || target === 'door2') {
      if (lower != null || upper != null) throw new RangeError('a door has only a delay');
      put(`${target} delay`, delay, DOORS[target === 'door1' ? 1 : 2].delay);
    } else {
      const info = checkInput(target);
      put(`${target} lower limit`, lower, info.limits);
      put(`${target} upper limit`, upper, info.limits + 2);
      put(`${target} delay`, delay, info.limits + 4);
    }
    this._update(t);
  }

  /** Correction factor (x10, int16) for an input, as in guide §2.7: -2 means -0.2 degrees. */
  setCorrection(input, cf) {
    const info = checkInput(input);
    checkInteger(`${input} correction factor`, cf, -32768, 32767);
    const t = this._nowFn();
    this._update(t);
    this._records[0].writeInt16BE(cf, info.correction);
    this._update(t);
  }

  /** A copy of user record n (60 bytes; bytes 0..3 are AA BB CC 0n). */
  userRecord(n) {
    checkInteger('user record', n, 0, E.USER_RECORDS - 1);
    return Buffer.from(this._records[n]);
  }

  /** Replace user record n: 56 data bytes (4..59), or 60 bytes whose first 4 are ignored. */
  setUserRecord(n, data) {
    checkInteger('user record', n, 0, E.USER_RECORDS - 1);
    const b = Buffer.from(data);
    if (b.length !== 56 && b.length !== RECORD_SIZE) throw new RangeError(`a user record has 56 data bytes (got ${b.length})`);
    const t = this._nowFn();
    this._update(t);
    b.copy(this._records[n], 4, b.length === RECORD_SIZE ? 4 : 0);
    this._update(t);
  }

  // ---- computed values -----------------------------------------------------------------------

  _drift(input, t) {
    const info = INPUTS[input];
    const d = DRIFT[input];
    const phase = E.hashUnit(this.seed, info.index, 0x5eed) * 2 * Math.PI;
    const swing = Math.sin((2 * Math.PI * t) / 86400000 + phase);
    const noise = E.hashUnit(this.seed, info.index, Math.floor(t / MINUTE)) * 2 - 1;
    return d.amplitude * swing + d.noise * noise;
  }

  /** The raw int16 an input reports at real time t (status and log). */
  _raw(input, t, wander = this.drift) {
    const info = INPUTS[input];
    const st = this._values[input];
    if (st.raw != null) return st.raw;
    const tenths = this._resolution === 0.1;
    const cf = tenths ? this._records[0].readInt16BE(info.correction) : 0;
    let v = st.value + (wander ? this._drift(input, t) : 0);
    if (info.kind === 'humidity') {
      return clamp(roundScaled(clamp(v, 0, 100), 10) + cf, 0, 1000);
    }
    if (this.unit === 'F') v = (v * 9) / 5 + 32;
    return clamp(roundScaled(v, tenths ? 10 : 1) + cf, -32768, 32767);
  }

  _settings(info) {
    const r0 = this._records[0];
    const lower = r0.readInt16BE(info.limits);
    const upper = r0.readInt16BE(info.limits + 2);
    const delay = r0.readInt16BE(info.limits + 4);
    return { lower, upper, delay, set: lower !== 0 || upper !== 0 || delay !== 0 };
  }

  _named(target) {
    const f = NAME_FIELDS[target];
    return E.isNamed(this._records[f.record], f.offset, NAME_LEN);
  }

  _isOut(input, t) {
    const info = INPUTS[input];
    const s = this._settings(info);
    if (!s.set) return false;
    let v = this._raw(input, t);
    if (this.limitUnits === 'whole' && info.kind === 'temp' && this._resolution === 0.1) v /= 10;
    return v < s.lower || v > s.upper;
  }

  /** Note when inputs went out of / came back into their limits. */
  _track(t) {
    for (const input of INPUT_NAMES) {
      const c = this._cond[input];
      if (this._isOut(input, t)) {
        if (c.since == null) c.since = t;
      } else {
        c.since = null;
      }
    }
  }

  _inputState(input, t) {
    const info = INPUTS[input];
    const since = this._cond[input].since;
    const elapsed = since == null ? -1 : t - since;
    const s = this._settings(info);
    return {
      raw: this._raw(input, t),
      minutes: since == null ? 0 : Math.min(0xffff, Math.floor(elapsed / MINUTE)),
      alarm: since != null && this._named(input) && elapsed > s.delay * MINUTE,
    };
  }

  _doorState(n, t) {
    const d = this._doors[n];
    const delay = this._records[0].readInt16BE(DOORS[n].delay);
    const elapsed = d.open ? t - d.since : -1;
    return {
      open: d.open,
      minutes: d.open ? Math.min(0xffff, Math.floor(elapsed / MINUTE)) : 0,
      alarm: d.open && delay !== 0 && this._named(`door${n}`) && elapsed > delay * MINUTE,
    };
  }

  _statusRecord(t) {
    const b = Buffer.alloc(RECORD_SIZE, 0x00);
    b.set([...E.PREFIX.status, 0x00], 0);
    for (const input of INPUT_NAMES) {
      const off = INPUTS[input].status;
      const s = this._inputState(input, t);
      b.writeInt16BE(s.raw, off);
      b.writeUInt16BE(s.minutes, off + 2);
      b[off + 4] = s.alarm ? 1 : 0;
    }
    for (const n of [1, 2]) {
      const off = DOORS[n].status;
      const s = this._doorState(n, t);
      b[off] = 0x00;
      b[off + 1] = s.open ? 0 : 1; // 1 = closed
      b.writeUInt16BE(s.minutes, off + 2);
      b[off + 4] = s.alarm ? 1 : 0;
    }
    b[34] = this._power ? 4 : 0;
    b.writeUInt16BE(this._battery, 35);
    b[58] = RESOLUTION_FLAG[this._resolution];
    b[59] = this.unit.charCodeAt(0);
    return b;
  }

  /** The status record a request would get now (a copy). */
  statusRecord() {
    const t = this._nowFn();
    this._update(t);
    return this._statusRecord(t);
  }

  /** A plain snapshot for logs and tests. */
  describe() {
    const t = this._nowFn();
    this._update(t);
    const inputs = {};
    for (const input of INPUT_NAMES) {
      inputs[input] = { ...this._inputState(input, t), named: this._named(input), ...this._settings(INPUTS[input]) };
    }
    const doors = {};
    for (const n of [1, 2]) doors[n] = { ...this._doorState(n, t), named: this._named(`door${n}`) };
    return {
      name: E.readAscii(this._records[1], 8, 20),
      mac: E.readAscii(this._records[1], 29, 20),
      serial: E.readAscii(this._records[1], 50, 10),
      unit: this.unit,
      resolution: this._resolution,
      power: this._power,
      battery: this._battery / 100,
      clock: E.clockText(this.deviceTime(t)),
      logRate: this._logRate,
      logCount: this.logCount,
      inputs,
      doors,
      faults: this.faults(),
    };
  }

  // ---- log -----------------------------------------------------------------------------------

  get logCount() {
    return Math.min(this._logTotal, this._logCap);
  }

  get logCapacity() {
    return this._logCap;
  }

  _makeLogRecord(dev, t, history) {
    const f = E.clockFields(dev);
    const r = Buffer.alloc(LOG_RECORD_SIZE);
    r[0] = E.toBcd(f.minute);
    r[1] = E.packHour(f.hour);
    r[2] = E.toBcd(f.dow);
    r[3] = E.toBcd(f.date);
    r[4] = E.toBcd(f.month);
    r[5] = E.toBcd(((f.year % 100) + 100) % 100);
    const invent = history && this.logHistory === 'plausible'; // made-up past
    for (const input of INPUT_NAMES) r.writeInt16BE(this._raw(input, t, invent || this.drift), INPUTS[input].log);
    const minute = Math.floor(t / MINUTE);
    let bits = 0;
    for (const n of [1, 2]) {
      const closed = invent ? E.hashUnit(this.seed, 100 + n, minute) >= 0.04 : !this._doors[n].open;
      if (closed === (this.logInputActive === 'closed')) bits |= DOORS[n].logBit;
    }
    const power = invent ? E.hashUnit(this.seed, 200, Math.floor(minute / 240)) >= 0.02 : this._power;
    if (power) bits |= 0x04;
    r[14] = bits;
    return r;
  }

  _appendLog(rec) {
    rec.copy(this._log, (this._logTotal % this._logCap) * LOG_RECORD_SIZE);
    this._logTotal++;
  }

  _prefillLog(n, logStart, t) {
    const dev = this.deviceTime(t);
    const step = Math.max(1, this._logRate) * MINUTE;
    if (n > 0) {
      const start = logStart != null ? E.parseClock(logStart) : floorMinute(dev) - (n - 1) * step;
      const skip = Math.max(0, n - this._logCap);
      this._logTotal = skip;
      for (let i = skip; i < n; i++) {
        const when = start + i * step;
        this._appendLog(this._makeLogRecord(when, when - this._clockOffset, true));
      }
      this._nextLog = this._logRate > 0 ? Math.max(start + n * step, floorMinute(dev) + step) : Infinity;
    } else {
      this._nextLog = this._logRate > 0 ? floorMinute(dev) + step : Infinity;
    }
  }

  _rescheduleLog(t) {
    this._nextLog = this._logRate > 0 ? floorMinute(this.deviceTime(t)) + this._logRate * MINUTE : Infinity;
  }

  /** Log every record that fell due up to real time t. */
  _advanceLog(t) {
    if (!(this._logRate > 0)) return;
    const dev = this.deviceTime(t);
    if (this._nextLog > dev) return;
    const step = this._logRate * MINUTE;
    let due = Math.floor((dev - this._nextLog) / step) + 1;
    if (due > this._logCap) { // those would be overwritten anyway
      const skip = due - this._logCap;
      this._nextLog += skip * step;
      this._logTotal += skip;
      due = this._logCap;
    }
    for (let i = 0; i < due; i++) {
      this._appendLog(this._makeLogRecord(this._nextLog, this._nextLog - this._clockOffset, false));
      this._nextLog += step;
    }
  }

  /** Records seq from..to-1 (to at most _logTotal) as one buffer, oldest first. */
  _logSlice(from, to) {
    const out = Buffer.allocUnsafe((to - from) * LOG_RECORD_SIZE);
    // The ring holds the range in at most two runs: up to the end of the ring, then from 0.
    let o = 0;
    for (let s = from; s < to;) {
      const slot = s % this._logCap;
      const run = Math.min(to - s, this._logCap - slot);
      this._log.copy(out, o, slot * LOG_RECORD_SIZE, (slot + run) * LOG_RECORD_SIZE);
      o += run * LOG_RECORD_SIZE;
      s += run;
    }
    return out;
  }

  /** Every record held, oldest first (count x 15 bytes). */
  logData() {
    this._update(this._nowFn());
    return this._logSlice(this._logTotal - this.logCount, this._logTotal);
  }

  clearLog() {
    this._logTotal = 0;
    this._logRead = 0;
    this._log.fill(0);
  }

  // ---- faults --------------------------------------------------------------------------------

  /**
   * Make the device misbehave. Several modes may be active at once (e.g. 'slow' + 'split').
   *   'split'           reply in segments of opts.segment bytes (default 7), opts.gapMs apart (5)
   *   'slow'            reply after opts.delayMs (default 1000)
   *   'drop'            close the connection after opts.afterBytes bytes of the reply (30)
   *   'silent'          no reply; the request is not executed
   *   'verify-mismatch' a write user record stores (and so answers) the data with byte
   *                     opts.offset (default 8) XOR opts.xor (default 0x01)
   *   'garbage'         60 random bytes instead of the reply (unknown commands stay unanswered)
   *   'refuse-second'   (on by default) while a client is connected, another one is accepted
   *                     and closed at once (opts.reset: with a TCP RST instead of a FIN)
   * opts.times: apply to the next N requests (for 'verify-mismatch': N writes), then clear.
   */
  setFault(mode, opts = {}) {
    if (!FAULT_MODES.includes(mode)) {
      throw new RangeError(`unknown fault mode "${mode}" (known: ${FAULT_MODES.join(', ')})`);
    }
    const o = { ...opts };
    if (mode === 'split') {
      if (o.segment != null) checkInteger('split segment', o.segment, 1, 65535);
      if (o.gapMs != null) checkNumber('split gapMs', o.gapMs, 0, 60000);
    }
    if (mode === 'slow' && o.delayMs != null) checkNumber('slow delayMs', o.delayMs, 0, 600000);
    if (mode === 'drop' && o.afterBytes != null) checkInteger('drop afterBytes', o.afterBytes, 0, 1e9);
    if (mode === 'verify-mismatch') {
      if (o.offset != null) checkInteger('verify-mismatch offset', o.offset, 4, 59);
      if (o.xor != null) checkInteger('verify-mismatch xor', o.xor, 1, 255);
    }
    if (o.times != null) checkInteger('times', o.times, 1, 1e9);
    if (mode === 'refuse-second') {
      this._refuse = { reset: !!o.reset };
      return;
    }
    this._faults.set(mode, { opts: o, remaining: o.times == null ? Infinity : o.times });
  }

  /**
   * clearFault(mode) clears one mode; clearFault() clears every reply fault but leaves the
   * connection policy ('refuse-second') as it is: clear that one by name.
   */
  clearFault(mode) {
    if (mode == null) {
      this._faults.clear();
      return;
    }
    if (!FAULT_MODES.includes(mode)) {
      throw new RangeError(`unknown fault mode "${mode}" (known: ${FAULT_MODES.join(', ')})`);
    }
    if (mode === 'refuse-second') this._refuse = null;
    else this._faults.delete(mode);
  }

  /** Active faults: [{ mode, ...opts }]. */
  faults() {
    const out = [];
    if (this._refuse) out.push({ mode: 'refuse-second', ...(this._refuse.reset ? { reset: true } : {}) });
    for (const [mode, f] of this._faults) out.push({ mode, ...f.opts });
    return out;
  }

  _takeFaults(command) {
    const active = {};
    for (const [mode, f] of this._faults) {
      if (mode === 'verify-mismatch' && command !== 'writeRecord') continue;
      active[mode] = f.opts;
      f.remaining--;
      if (f.remaining <= 0) this._faults.delete(mode);
    }
    return active;
  }

  // ---- connections ---------------------------------------------------------------------------

  /** Number of clients being served. */
  clients() {
    return this._ports.size;
  }

  /**
   * Open an endpoint for one client. write(buf, cb) sends bytes (cb once they are handed to
   * the OS); opts.close() hangs up (used by 'drop'); opts.refuse(reset) turns the client away.
   * Returns { name, receive(buf), close() }.
   *
   * With 'refuse-second' on and a client connected, the newcomer waits refuseGraceMs (50)
   * with its bytes held back: if the first client is gone by then (a client that closes and
   * reconnects at once, before its FIN was processed), the newcomer is served; otherwise it
   * is closed, having been seen by nothing.
   */
  connect(write, opts = {}) {
    const name = opts.name || 'port';
    if (!this._refuse || this._ports.size === 0) return this._accept(write, name, opts);
    if (!(this.refuseGraceMs > 0)) return this._turnAway(name, opts);
    const sim = this;
    const pending = {
      name,
      closed: false,
      target: null,
      held: [],
      receive(buf) {
        if (this.target) this.target.receive(buf);
        else if (!this.closed) this.held.push(Buffer.from(buf));
      },
      close() {
        if (this.closed) return;
        this.closed = true;
        clearTimeout(timer);
        sim._pending.delete(this);
        if (this.target) this.target.close();
      },
    };
    const timer = setTimeout(() => {
      this._pending.delete(pending);
      if (pending.closed) return;
      if (this._refuse && this._ports.size > 0) {
        pending.closed = true;
        this._turnAway(name, opts);
        return;
      }
      pending.target = this._accept(write, name, opts);
      for (const b of pending.held) pending.target.receive(b);
      pending.held = [];
    }, this.refuseGraceMs);
    this._pending.add(pending);
    return pending;
  }

  _accept(write, name, opts) {
    const port = new M307Port(this, write, { name, close: opts.close });
    this._ports.add(port);
    this.stats.connections++;
    this.emit('connect', { port: name });
    return port;
  }

  _turnAway(name, opts) {
    this.stats.refused++;
    this.emit('refused', { port: name });
    const refuse = typeof opts.refuse === 'function' ? opts.refuse
      : typeof opts.close === 'function' ? opts.close : () => {};
    refuse(this._refuse ? this._refuse.reset : false);
    return { name, closed: true, receive() {}, close() {} };
  }

  /** Close every connection endpoint (pending replies are dropped). */
  close() {
    for (const p of [...this._pending]) p.close();
    for (const p of [...this._ports]) p.close();
  }

  resetStats() {
    this.stats = emptyStats();
  }

  // ---- requests ------------------------------------------------------------------------------

  _handle(port, req) {
    const t = this._nowFn();
    const st = this.stats;
    st.requests++;
    const { command, record } = E.classify(req);
    st.byCommand[command]++;
    this._update(t);
    const faults = this._takeFaults(command);
    const ev = {
      port: port.name,
      command,
      record: record == null ? null : record,
      request: Buffer.from(req),
      faults: Object.keys(faults),
    };
    if (faults.silent) {
      this.emit('request', { ...ev, outcome: 'silent', reply: null, detail: null });
      return null;
    }
    const res = this._execute(command, record, req, faults, t);
    if (!res.reply) {
      this.emit('request', { ...ev, outcome: 'unknown', reply: null, detail: null });
      return null;
    }
    let bytes = res.reply;
    if (faults.garbage) {
      do bytes = this._rng.bytes(RECORD_SIZE); while (bytes.subarray(0, 4).equals(res.reply.subarray(0, 4)));
    }
    st.replies++;
    this.emit('request', { ...ev, outcome: 'reply', reply: bytes, detail: res.detail });
    const plan = { bytes, delayMs: 0, segment: 0, gapMs: 0, dropAfter: null };
    if (faults.slow) plan.delayMs = faults.slow.delayMs == null ? 1000 : faults.slow.delayMs;
    if (faults.split) {
      plan.segment = faults.split.segment == null ? 7 : faults.split.segment;
      plan.gapMs = faults.split.gapMs == null ? 5 : faults.split.gapMs;
    }
    if (faults.drop) plan.dropAfter = faults.drop.afterBytes == null ? 30 : faults.drop.afterBytes;
    return plan;
  }

  _execute(command, record, req, faults, t) {
    switch (command) {
      case 'status':
        return { reply: this._statusRecord(t), detail: null };
      case 'readRecord':
        return { reply: Buffer.from(this._records[record]), detail: null };
      case 'writeRecord': {
        // Stored as sent: the device validates nothing (§1.2). It answers with what it reads
        // back from NVM under the READ command.
        const data = Buffer.from(req.subarray(4, RECORD_SIZE));
        const vm = faults['verify-mismatch'];
        if (vm) {
          const off = vm.offset == null ? 8 : vm.offset;
          data[off - 4] ^= vm.xor == null ? 0x01 : vm.xor;
        }
        data.copy(this._records[record], 4);
        this._update(t);
        return { reply: Buffer.from(this._records[record]), detail: vm ? 'stored with a changed byte' : null };
      }
      case 'setClock':
        return { reply: Buffer.from(req), detail: this._storeClock(req, t) };
      case 'readClock':
        return { reply: this._clockRecord(t), detail: null };
      case 'readLog':
        return this._readLog(req);
      default:
        return { reply: null, detail: null };
    }
  }

  _storeClock(req, t) {
    const minute = E.fromBcd(req[5]);
    const hour = E.unpackHour(req[6]);
    const date = E.fromBcd(req[8]);
    const month = E.fromBcd(req[9]);
    const year = E.fromBcd(req[10]);
    let applied = false;
    let text = null;
    if (minute != null && minute <= 59 && hour != null && date != null && month != null && year != null) {
      const ms = Date.UTC(2000 + year, month - 1, date, hour, minute, 0);
      const f = E.clockFields(ms);
      if (f.month === month && f.date === date && date >= 1) {
        this._clockOffset = ms - t;
        applied = true;
        text = E.clockText(ms);
      }
    }
    this._logRate = req[11];
    this._rescheduleLog(t);
    this._track(t);
    return applied ? `clock ${text}, log every ${req[11]} min`
      : `clock unchanged (invalid date/time fields), log every ${req[11]} min`;
  }

  _clockRecord(t) {
    const b = Buffer.alloc(RECORD_SIZE, 0x00);
    b.set([...E.PREFIX.clock, 0x02], 0);
    const f = E.clockFields(this.deviceTime(t));
    b[4] = this.secondsEncoding === 'bcd' ? E.toBcd(f.second) : f.second;
    b[5] = E.toBcd(f.minute);
    b[6] = E.packHour(f.hour);
    b[7] = E.toBcd(f.dow);
    b[8] = E.toBcd(f.date);
    b[9] = E.toBcd(f.month);
    b[10] = E.toBcd(((f.year % 100) + 100) % 100);
    b[11] = this._logRate;
    b.writeUInt16BE(this.logCount, 12);
    return b;
  }

  _readLog(req) {
    const reset = req[4] === 0x01;
    const oldest = this._logTotal - this.logCount;
    if (reset) this._logRead = oldest;
    const from = Math.max(this._logRead, oldest);
    const to = this._logTotal;
    this._logRead = to;
    const parts = [];
    if (this.logEcho) parts.push(Buffer.from(req));
    parts.push(this._logSlice(from, to), E.LOG_END);
    return {
      reply: Buffer.concat(parts),
      detail: `${to - from} record(s)${reset ? ' from the oldest' : ''}${this.logEcho ? ' after an echo' : ''}`,
    };
  }
}

module.exports = {
  M307Simulator,
  M307Port,
  FAULT_MODES,
  INPUTS,
  DOORS,
  NAME_FIELDS,
  SPECIALS,
  factoryRecords,
};
