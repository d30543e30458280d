'use strict';

// The M307 simulator's inputs and settings (mixed into M307Simulator, see device.js): the
// readings, doors, power and battery a test sets; names, limits and corrections written into
// the user records as a client would; and what the device computes from them (live values
// with drift, minutes out of limits, alarms, the status record).

const E = require('./encoding');
const { roundScaled, clamp } = require('../scale');
const {
  INPUTS, INPUT_NAMES, INPUT_ALIASES, DOORS, NAME_FIELDS, NAME_LEN, SPECIALS, DRIFT, RESOLUTION_FLAG,
  checkInteger, checkNumber, checkInput, checkDoor, writeTextField,
} = require('./layout');

const { RECORD_SIZE, MINUTE } = E;

/** M307Simulator's input, setting and status methods. */
class Inputs {
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

  /** Correction factor (x10, int16) for an input, as in docs/protocols/m307.md §6: -2 means -0.2 degrees. */
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

}

module.exports = { Inputs };
