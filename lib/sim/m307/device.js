'use strict';

// M307 Temperature Guard simulator (docs/protocols/m307.md), written from the protocol notes and
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

// The class is split by concern; its methods live in
//   inputs.js    readings, doors, names, limits, alarms, the status record
//   log.js       the data log and its read pointer
//   requests.js  faults and the handling of each request
//   port.js      connections (one client at a time) and their byte streams
// and are mixed into M307Simulator below; layout.js says where things live in the records.

const { EventEmitter } = require('node:events');
const E = require('./encoding');
const { Rng } = require('../rng');
const {
  INPUTS, INPUT_NAMES, INPUT_ALIASES, DOORS, NAME_FIELDS, SPECIALS, DEFAULT_READINGS,
  checkInteger, checkNumber, checkDoor, factoryRecords,
} = require('./layout');
const { Inputs } = require('./inputs');
const { Log } = require('./log');
const { Requests, FAULT_MODES } = require('./requests');
const { M307Port, Connections } = require('./port');

const { LOG_RECORD_SIZE, MINUTE } = E;

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

  resetStats() {
    this.stats = emptyStats();
  }
}

/** Copies the methods (and getters) of each part's prototype onto the simulator's. */
for (const part of [Inputs, Log, Requests, Connections]) {
  for (const key of Object.getOwnPropertyNames(part.prototype)) {
    if (key === 'constructor') continue;
    if (Object.prototype.hasOwnProperty.call(M307Simulator.prototype, key)) throw new Error(`M307Simulator.${key} is defined twice`);
    Object.defineProperty(M307Simulator.prototype, key, Object.getOwnPropertyDescriptor(part.prototype, key));
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
