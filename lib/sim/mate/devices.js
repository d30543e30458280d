'use strict';

// The simulated devices behind a MATE: hub, MX/FLEXmax charge controller, FX inverter and
// FLEXnet DC battery monitor (docs/protocols/mate.md §6-11). Each one answers a decoded command
// with { byte0, payload, note } or { silent: true, note }; framing, checksums, faults and
// transports live in device.js (MateSimulator).
//
// Values come from the shared PowerSystem model at the simulator's clock, unless a field is
// fixed with device.set({ field: value }) (presets do that). Registers that show the same
// quantity as a status field are derived from the same values, so a register read and a
// status page never disagree.

const C = require('./codec');
const { MODE } = require('./model');

const round1 = (v) => Math.round(v * 10) / 10;
const u16 = (v) => Math.round(v) & 0xffff; // two's complement for negative numbers

/** Nearest w' to w (0..16383) whose bits 7..6 equal `bits` (see codec.encodeLogPage). */
function snapPeakWatts(w, bits) {
  let best = null;
  const base = Math.floor(w / 256);
  for (let k = base - 1; k <= base + 1; k++) {
    const lo = k * 256 + bits * 64;
    if (lo < 0 || lo + 63 > 16383) continue;
    const x = Math.min(Math.max(w, lo), lo + 63);
    if (best === null || Math.abs(x - w) < Math.abs(best - w)) best = x;
  }
  return best === null ? 0 : best;
}

class MateDevice {
  constructor(sim, cfg, type) {
    this.sim = sim;
    this.port = cfg.port;
    this.type = type;
    this.typeId = C.DEVICE_TYPE[type];
    this.name = cfg.name || `${type}@${cfg.port}`;
    this.fixed = {};
    this.time = null; // last 0x4004 write, decoded
    this.date = null; // last 0x4005 write, decoded
    this.fault = null;
    this.stats = { commands: 0, answered: 0 };
    this._regs = new Map();
    this._defineRegisters();
    if (cfg.registers) {
      for (const [a, v] of Object.entries(cfg.registers)) this.defineRegister(Number(a), v & 0xffff);
    }
  }

  // --- registers ---------------------------------------------------------------------------

  /**
   * defineRegister(address, spec): spec is a number (a stored, writable value) or
   * { read: () => number, write?: (v) => ({ echo, note }) | undefined, value?, writable? }.
   */
  defineRegister(address, spec) {
    if (typeof spec === 'number') spec = { value: spec & 0xffff, writable: true };
    this._regs.set(address & 0xffff, { writable: !!spec.write, ...spec });
  }

  _stored(table) {
    for (const [a, v] of Object.entries(table)) this.defineRegister(Number(a), v);
  }

  _live(address, read, write) {
    this.defineRegister(address, write ? { read, write } : { read });
  }

  _defineRegisters() {
    this._live(0x0000, () => this.typeId);
  }

  /** MX and DC: 0x0001 reads 0, 0x0002..0x0004 the three parts of the firmware revision. */
  _defineFirmwareRegisters() {
    this._live(0x0001, () => 0);
    for (let i = 0; i < 3; i++) this._live(0x0002 + i, () => this.firmware[i] || 0);
  }

  _defineSyncRegisters() {
    this._live(0x4004, () => (this.time ? this.time.raw : 0), (v) => this._syncWrite('time', v));
    this._live(0x4005, () => (this.date ? this.date.raw : 0), (v) => this._syncWrite('date', v));
  }

  _syncWrite(kind, v) {
    const decoded = kind === 'time' ? C.decodeTime(v) : C.decodeDate(v);
    const info = { port: this.port, device: this.type, ...decoded };
    this[kind] = decoded;
    this.sim[kind] = info;
    this.sim.emit(kind, info);
    const note = decoded.valid ? undefined : `${kind} ${kind === 'time' ? `${decoded.hours}:${decoded.minutes}:${decoded.seconds}` : `${decoded.year}-${decoded.month}-${decoded.day}`} is not a valid ${kind}; kept anyway`;
    return { echo: this._syncEcho(kind, v), note };
  }

  _syncEcho(kind, v) {
    return v;
  }

  /** { value, known } for a READ; unknown registers read 0 (as the emulators do). */
  readRegister(address) {
    const spec = this._regs.get(address);
    if (!spec) return { value: 0, known: false };
    const v = spec.read ? spec.read() : spec.value;
    return { value: u16(v), known: true };
  }

  /** { echo, note } for a WRITE: the value echoed, and what happened when it was not stored. */
  writeRegister(address, value) {
    const spec = this._regs.get(address);
    if (!spec) return { echo: value, note: 'unknown register: echoed, not stored' };
    if (spec.write) {
      const r = spec.write(value) || {};
      return { echo: r.echo == null ? value : r.echo & 0xffff, note: r.note };
    }
    if (spec.writable) {
      spec.value = value & 0xffff;
      return { echo: value };
    }
    return { echo: value, note: 'read-only register: echoed, not changed' };
  }

  // --- values ------------------------------------------------------------------------------

  /** The model's view at the simulator's clock (see PowerSystem.at). */
  _model() {
    return this.sim.system.at(this.sim.nowMs());
  }

  /** Fix status fields (engineering units) to given values; they stop following the model. */
  set(fields) {
    if (fields == null || typeof fields !== 'object') throw new TypeError('set() needs an object of fields');
    const known = this.fieldNames();
    for (const k of Object.keys(fields)) {
      if (!known.includes(k)) throw new RangeError(`${this.type} has no field "${k}" (fields: ${known.join(', ')})`);
    }
    Object.assign(this.fixed, fields);
    return this;
  }

  /** Let fields follow the model again (all of them without arguments). */
  unset(...names) {
    if (!names.length) this.fixed = {};
    for (const n of names) delete this.fixed[n];
    return this;
  }

  fieldNames() {
    return [];
  }

  values() {
    return { ...this._liveValues(), ...this.fixed };
  }

  _liveValues() {
    return {};
  }

  // --- commands ----------------------------------------------------------------------------

  /** The reply to a decoded command (checksum already checked): { byte0, payload, note } | { silent, note }. */
  answer(cmd) {
    switch (cmd.type) {
      case C.CMD.READ: {
        const r = this.readRegister(cmd.address);
        return { byte0: this._readByte0(), value: r.value, note: r.known ? undefined : 'unknown register: answered 0' };
      }
      case C.CMD.WRITE: {
        const r = this.writeRegister(cmd.address, cmd.value);
        return { byte0: this._writeByte0(), value: r.echo, note: r.note };
      }
      case C.CMD.INC:
      case C.CMD.DEC: {
        const r = this.readRegister(cmd.address);
        return {
          byte0: this.typeId === C.DEVICE_TYPE.hub ? 0x00 : cmd.type,
          value: r.value,
          note: `${cmd.type === C.CMD.INC ? 'inc' : 'dec'} (type ${cmd.type}) not applied: polarity disputed; answered the value unchanged`,
        };
      }
      case C.CMD.STATUS: {
        const payload = this.statusPage(cmd.address, cmd.value);
        if (!payload) return { silent: true, note: `no status page 0x${cmd.address.toString(16)} on a ${this.type}` };
        return { byte0: this.typeId, payload };
      }
      case C.CMD.LOG: {
        const payload = this.logPage(cmd.value);
        if (!payload) return { silent: true, note: `a ${this.type} has no log pages` };
        return { byte0: C.CMD.LOG, payload };
      }
      default:
        return { silent: true, note: `unknown command type 0x${cmd.type.toString(16).padStart(2, '0')}` };
    }
  }

  _readByte0() {
    return C.CMD.READ;
  }

  _writeByte0() {
    return C.CMD.WRITE;
  }

  statusPage() {
    return null;
  }

  logPage() {
    return null;
  }

  describe() {
    return {
      port: this.port,
      type: this.type,
      name: this.name,
      fault: this.fault ? { mode: this.fault.mode, ...this.fault.opts } : null,
      fixed: Object.keys(this.fixed),
    };
  }
}

// -------------------------------------------------------------------------------------------

/** Hub4/Hub10 on port 0: answers reads (and writes) with byte0 00; no status or log pages. */
class HubDevice extends MateDevice {
  constructor(sim, cfg) {
    super(sim, { ...cfg, port: 0 }, 'hub');
  }

  _readByte0() {
    return 0x00;
  }

  _writeByte0() {
    return 0x00;
  }
}

// -------------------------------------------------------------------------------------------

const MX_FIELDS = [
  'pvCurrent', 'batteryCurrent', 'kwh', 'ah', 'ahValid', 'auxMode', 'auxOn', 'chargerMode', 'errors',
  'batteryVoltage', 'pvVoltage', 'pvVoc', 'batteryMaxToday', 'vocMaxToday', 'peakWattsToday',
  'batteryTemperatureRaw', 'lifetimeKwh', 'lifetimeKah',
];

const MX_SETTINGS = {
  0x0017: 600, // output current limit, 0.1 A
  0x0018: 272, // float, /10 V
  0x0019: 288, // absorb, /10 V
  0x001e: 300, // EQ voltage
  0x001f: 252, // rebulk
  0x0020: 0, // absorb end amps
  0x0021: 15, // wakeup VOC change, /10 V
  0x0022: 5, // wakeup time, min
  0x0023: 770, // park MPP, /10 %
  0x0024: 240, // RTS comp lower
  0x0025: 300, // RTS comp upper
  0x00d2: 3, // EQ time h
  0x00d3: 0, // auto-EQ interval days
  0x00d4: 0, // snooze
  0x00d5: 0, // MPPT mode
  0x00d6: 0, // grid-tie mode
  0x00d7: 0, // MPP range lower
  0x00d8: 0, // MPP range upper
  0x00d9: 20, // absorb time /10 h
  0x00da: 0, // Vbatt calibration
  0x00db: 0, // RTS compensation
  0x00dc: 1, // auto restart
};

class MxDevice extends MateDevice {
  constructor(sim, cfg) {
    const fw = String(cfg.firmware || '1.9.8').split('.').map(Number);
    super(sim, cfg, 'mx');
    this.firmware = fw;
    this.aux = { mode: cfg.auxMode == null ? 0x3f : cfg.auxMode, on: !!cfg.auxOn };
    this._logPages = new Map(); // day -> fixed 14-byte page (presets)
  }

  fieldNames() {
    return MX_FIELDS;
  }

  _liveValues() {
    const a = this._model();
    const t = a.today;
    return {
      pvCurrent: Math.round(a.pvCurrent),
      batteryCurrent: round1(a.chargeCurrent),
      kwh: round1(t.chargeKwh),
      ah: Math.min(2047, Math.round(t.chargeAh)),
      ahValid: true,
      auxMode: this.aux.mode,
      auxOn: this.aux.on,
      chargerMode: a.mode,
      errors: 0,
      batteryVoltage: round1(a.batteryVoltage),
      pvVoltage: round1(a.pvVoltage),
      pvVoc: round1(a.pvVoc),
      batteryMaxToday: round1(t.batteryMax),
      vocMaxToday: round1(t.peakPvVoltage),
      peakWattsToday: Math.round(t.peakWatts),
      batteryTemperatureRaw: C.rawFromTemperature(a.batteryTemperature),
      lifetimeKwh: 1480 + Math.floor(t.chargeKwh),
      lifetimeKah: 61,
    };
  }

  _defineRegisters() {
    super._defineRegisters();
    const v = () => this.values();
    this._defineFirmwareRegisters();
    this._live(0x0008, () => v().batteryVoltage * 10);
    this._live(0x000f, () => v().batteryMaxToday * 10);
    this._live(0x0010, () => v().pvVoc * 10);
    this._live(0x0012, () => v().vocMaxToday * 10);
    this._live(0x0013, () => v().lifetimeKwh);
    this._live(0x0014, () => v().lifetimeKah);
    this._live(0x0015, () => v().peakWattsToday);
    this._stored(MX_SETTINGS);
    this._live(0x003c, () => 100); // unknown; the MATE reads it at start-up (capture: 100)
    this._live(0x00c8, () => 0, (val) => {
      if (val !== 0x00ff) return { note: 'factory reset needs 0x00FF; ignored' };
      this._stored(MX_SETTINGS);
      this.aux = { mode: 0x3f, on: false };
      return { note: 'factory reset: settings back to defaults' };
    });
    this._live(0x00cb, () => this.values().auxMode, (val) => {
      if (val > 63) return { note: 'aux mode above 63 ignored' };
      this.aux.mode = val;
      return undefined;
    });
    this._live(0x016a, () => { const x = v(); return x.batteryVoltage * x.batteryCurrent; });
    this._live(0x0170, () => this.readRegister(0x0019).value);
    this._live(0x0172, () => this.readRegister(0x0018).value);
    this._live(0x01c6, () => v().pvVoltage);
    this._live(0x01c7, () => Math.round(v().batteryCurrent) + 128);
    this._live(0x01c8, () => v().chargerMode);
    // bits 6..0 aux mode, bit 7 relay; a write sets the relay from bit 7 and leaves the mode
    this._live(0x01c9, () => { const x = v(); return (x.auxMode & 0x7f) | (x.auxOn ? 0x80 : 0); }, (val) => {
      this.aux.on = (val & 0x80) !== 0;
      return { note: `aux relay ${this.aux.on ? 'on' : 'off'} (mode unchanged)` };
    });
    this._live(0x01ea, () => v().kwh * 10);
    this._live(0x4000, () => v().batteryTemperatureRaw);
    this._defineSyncRegisters();
  }

  /** Confirmed on the capture (mate.md §5): the MX echoed only the low byte of the time write. */
  _syncEcho(kind, v) {
    return kind === 'time' ? v & 0x00ff : v;
  }

  statusPage(page) {
    if (page !== 0x0001) return null;
    return C.encodeMxStatus(this.values());
  }

  /** Fix log page `day` to 14 bytes (or fields for encodeLogPage); null restores the model. */
  setLogPage(day, page) {
    if (!Number.isInteger(day) || day < 0 || day > 128) throw new RangeError(`day must be 0..128 (got ${day})`);
    if (page == null) {
      this._logPages.delete(day);
      return this;
    }
    const bytes = Buffer.isBuffer(page) ? Buffer.from(page) : C.encodeLogPage({ ...page, day });
    if (bytes.length !== 14) throw new RangeError('a log page has 14 bytes');
    bytes[13] = day;
    this._logPages.set(day, bytes);
    return this;
  }

  /** Log fields for `day` days back (0 = today so far; above 128 -> 128) from the model. */
  logFields(day) {
    const d = Math.min(day, 128);
    const sys = this.sim.system;
    const now = this.sim.nowMs();
    const today = sys.dayNumber(now);
    const s = d === 0 ? sys.summary(today, sys.minuteOfDay(now)) : sys.summary(today - d);
    const batteryMin = round1(s.batteryMin);
    const vminBits = (Math.round(batteryMin * 10) >> 10) & 0x03;
    return {
      peakAmps: Math.min(102.3, round1(s.peakAmps)),
      batteryMax: Math.min(102.3, round1(s.batteryMax)),
      kwh: Math.min(409.5, round1(s.chargeKwh)),
      peakPvVoltage: Math.min(255, Math.round(s.peakPvVoltage)),
      absorbMinutes: Math.min(4095, s.absorbMinutes),
      floatMinutes: Math.min(4095, s.floatMinutes),
      ah: Math.min(16383, Math.round(s.chargeAh)),
      batteryMin,
      // the MX log page table (mate.md §9) shares byte 11 bits 1..0 between battery-min and peak-kW: keep them equal
      peakKw: snapPeakWatts(Math.round(s.peakWatts), vminBits) / 1000,
      day: d,
      reserved12: 0,
    };
  }

  logPage(param) {
    const day = Math.min(param, 128);
    const fixed = this._logPages.get(day);
    if (fixed) return Buffer.from(fixed);
    return C.encodeLogPage(this.logFields(day));
  }
}

// -------------------------------------------------------------------------------------------

const FX_FIELDS = [
  'inverterCurrent', 'chargerCurrent', 'buyCurrent', 'acInputVoltage', 'acOutputVoltage', 'sellCurrent',
  'operationalMode', 'errors', 'acMode', 'batteryVoltage', 'is230V', 'auxOn', 'miscReserved', 'warnings',
  'airTemperatureRaw', 'mosfetTemperatureRaw', 'capacitorTemperatureRaw',
];

const FX_CONTROLS = Object.freeze({
  inverter: { register: 0x003d, max: 2, names: ['off', 'search', 'on'] },
  acIn: { register: 0x003a, max: 1, names: ['drop', 'use'] },
  charger: { register: 0x003c, max: 2, names: ['off', 'auto', 'on'] },
  aux: { register: 0x005a, max: 2, names: ['off', 'auto', 'on'] },
  eq: { register: 0x0038, max: 2, names: ['off', '1', '2'] },
});

const FX_OP_MODE = Object.freeze({
  INV_OFF: 0, SEARCH: 1, INV_ON: 2, CHARGE: 3, SILENT: 4, FLOAT: 5, EQ: 6, CHARGER_OFF: 7, SUPPORT: 8, SELL: 9, PASS_THROUGH: 10,
});

const FX_SETTINGS = {
  0x000a: 272, 0x000b: 288, 0x000c: 288, 0x000d: 250, // float / absorb / EQ / refloat, /10 V
  0x000e: 210, 0x000f: 240, // low-battery cut-out / cut-in
  0x0010: 236, 0x0011: 224, 0x0012: 230, 0x0013: 272, 0x0014: 280,
  0x001b: 260, 0x001f: 20, 0x0020: 20, 0x0021: 10, 0x0022: 60,
  0x0027: 300, 0x007b: 200, 0x0028: 100, 0x0029: 6,
  0x002a: 104, 0x002b: 126, 0x0044: 104, 0x0045: 126, // AC limits (halved on a 230 V unit)
  0x0037: 5, 0x003b: 0, 0x003e: 0, 0x003f: 10, 0x0040: 10, 0x0042: 15, 0x004d: 6,
  0x0062: 8, 0x0063: 60, 0x0067: 0, 0x008a: 0, 0x006f: 30, 0x0074: 0, 0x0075: 0, 0x0079: 0, 0x0083: 0,
  0x006e: 0, 0x0070: 0, 0x0071: 0, 0x0084: 0, 0x008f: 0,
};

/**
 * FX inverter/charger. Its operating state follows the controls (writes to 0x003D inverter,
 * 0x003A AC in, 0x003C charger, 0x005A aux, 0x0038 EQ) and two conditions: `grid` (a source
 * on the AC input) and `chargePhase` (what the charger does when it runs on the grid).
 *   AC mode:  no grid -> 0 (no AC); AC-in drop -> 1; AC-in use -> 2
 *   op mode:  grid and AC-in use: charger off -> 7, EQ requested and charging -> 6,
 *             else the charge phase (charge 3 / silent 4 / float 5);
 *             otherwise the inverter control (0 off, 1 search, 2 on)
 *   AC out:   inverter not off -> acOutputVoltage; off -> the grid passes through when used, else 0
 * The DC load in the shared model does not change with the FX controls (the DC keeps
 * measuring the model's load); only the FX's own readings do.
 */
class FxDevice extends MateDevice {
  constructor(sim, cfg) {
    super(sim, cfg, 'fx');
    this.firmware = cfg.firmware == null ? 61 : Number(cfg.firmware);
    const is230V = cfg.is230V !== false;
    this.conditions = {
      grid: !!cfg.grid,
      acInputVoltage: cfg.acInputVoltage == null ? (is230V ? 230 : 120) : cfg.acInputVoltage,
      acOutputVoltage: cfg.acOutputVoltage == null ? (is230V ? 230 : 120) : cfg.acOutputVoltage,
      chargePhase: cfg.chargePhase || 'float',
      is230V,
      miscReserved: cfg.miscReserved == null ? 0x08 : cfg.miscReserved, // the capture's byte 11 = 0x09
      auxAutoOn: !!cfg.auxAutoOn,
    };
    if (!['charge', 'silent', 'float'].includes(this.conditions.chargePhase)) {
      throw new RangeError(`chargePhase must be charge, silent or float (got ${cfg.chargePhase})`);
    }
    this.controls = { inverter: 2, acIn: 1, charger: 1, aux: 1, eq: 0, ...(cfg.controls || {}) };
    for (const [k, c] of Object.entries(FX_CONTROLS)) {
      const val = this.controls[k];
      if (!Number.isInteger(val) || val < 0 || val > c.max) throw new RangeError(`FX control ${k} must be 0..${c.max} (got ${val})`);
    }
    this.batteryTemperatureRaw = null; // relayed by the MATE to 0x4001
    this.errors = 0;
    this.warnings = 0;
  }

  fieldNames() {
    return FX_FIELDS;
  }

  /** Change the conditions (grid, acInputVoltage, acOutputVoltage, chargePhase, auxAutoOn, ...). */
  setConditions(c) {
    for (const k of Object.keys(c)) {
      if (!(k in this.conditions)) throw new RangeError(`FX has no condition "${k}" (conditions: ${Object.keys(this.conditions).join(', ')})`);
    }
    Object.assign(this.conditions, c);
    return this;
  }

  _liveValues() {
    const a = this._model();
    const k = this.conditions;
    const ctl = this.controls;
    const usingGrid = k.grid && ctl.acIn === 1;
    let opMode;
    if (usingGrid) {
      const charging = k.chargePhase !== 'silent';
      if (ctl.charger === 0) opMode = FX_OP_MODE.CHARGER_OFF;
      else if (ctl.eq !== 0 && charging) opMode = FX_OP_MODE.EQ;
      else opMode = { charge: FX_OP_MODE.CHARGE, silent: FX_OP_MODE.SILENT, float: FX_OP_MODE.FLOAT }[k.chargePhase];
    } else {
      opMode = ctl.inverter; // 0 inverter off, 1 search, 2 inverter on
    }
    const acOut = ctl.inverter !== 0 ? k.acOutputVoltage : usingGrid ? k.acInputVoltage : 0;
    const loadAc = acOut > 0 ? (a.loadCurrent * a.batteryVoltage * 0.9) / acOut : 0;
    let inverterCurrent = 0;
    let chargerCurrent = 0;
    let buyCurrent = 0;
    if (usingGrid) {
      if (ctl.charger !== 0) chargerCurrent = { charge: 8, silent: 0, float: 1.5 }[k.chargePhase] * (ctl.eq !== 0 && k.chargePhase !== 'silent' ? 1.2 : 1);
      buyCurrent = loadAc + chargerCurrent;
    } else if (ctl.inverter === 2) {
      inverterCurrent = loadAc;
    }
    const half = (x) => (k.is230V ? Math.round(x * 2) / 2 : Math.round(x));
    const volts = (x) => (k.is230V ? Math.round(x / 2) * 2 : Math.round(x));
    const auxOn = ctl.aux === 2 || (ctl.aux === 1 && k.auxAutoOn);
    return {
      inverterCurrent: half(inverterCurrent),
      chargerCurrent: half(chargerCurrent),
      buyCurrent: half(buyCurrent),
      acInputVoltage: k.grid ? volts(k.acInputVoltage) : 0,
      acOutputVoltage: volts(acOut),
      sellCurrent: 0,
      operationalMode: opMode,
      errors: this.errors,
      acMode: !k.grid ? 0 : ctl.acIn === 0 ? 1 : 2,
      batteryVoltage: round1(a.batteryVoltage),
      is230V: k.is230V,
      auxOn,
      miscReserved: k.miscReserved,
      warnings: this.warnings,
      airTemperatureRaw: 128 + Math.round(inverterCurrent),
      mosfetTemperatureRaw: 122 + Math.round(inverterCurrent * 2),
      capacitorTemperatureRaw: 125 + Math.round(inverterCurrent * 1.5),
    };
  }

  _control(name, val) {
    const c = FX_CONTROLS[name];
    if (val > c.max) return { note: `${name} control takes 0..${c.max}; ${val} ignored` };
    const from = this.controls[name];
    this.controls[name] = val;
    this.sim.emit('control', { port: this.port, control: name, value: val, name: c.names[val], from });
    return { note: `${name} -> ${c.names[val]}` };
  }

  _defineRegisters() {
    super._defineRegisters();
    const v = () => this.values();
    const raw = (x) => { const k = this.values(); return k.is230V ? x / 2 : x; };
    const amps = (x) => (this.values().is230V ? x * 2 : x);
    this._live(0x0001, () => this.firmware);
    this._live(0x0002, () => 0);
    this._live(0x0003, () => 0);
    this._live(0x0004, () => 0);
    this._stored(FX_SETTINGS);
    this._live(0x0016, () => v().batteryVoltage * 10); // temperature-compensated battery
    this._live(0x0019, () => v().batteryVoltage * 10);
    this._live(0x002c, () => raw(v().acInputVoltage));
    this._live(0x002d, () => raw(v().acOutputVoltage));
    this._live(0x0032, () => (this.batteryTemperatureRaw == null ? 255 : this.batteryTemperatureRaw));
    this._live(0x0033, () => v().airTemperatureRaw);
    this._live(0x0034, () => v().mosfetTemperatureRaw);
    this._live(0x0035, () => v().capacitorTemperatureRaw);
    this._live(0x0039, () => v().errors);
    this._live(0x0059, () => v().warnings);
    this._live(0x006a, () => amps(v().chargerCurrent));
    this._live(0x006b, () => amps(v().sellCurrent));
    this._live(0x006c, () => amps(v().buyCurrent));
    this._live(0x006d, () => amps(v().inverterCurrent));
    for (const [name, c] of Object.entries(FX_CONTROLS)) {
      this._live(c.register, () => this.controls[name], (val) => this._control(name, val));
    }
    this._live(0x0058, () => 0, (val) => ({ note: val === 0x0062 ? 'factory reset step 1 (step 2 unknown): nothing done' : 'ignored' }));
    this._live(0x4001, () => (this.batteryTemperatureRaw == null ? 0 : this.batteryTemperatureRaw), (val) => {
      this.batteryTemperatureRaw = val & 0xff;
      this.sim.emit('temperature', { port: this.port, device: 'fx', raw: val });
      return undefined;
    });
    this._defineSyncRegisters();
  }

  statusPage(page) {
    if (page !== 0x0001) return null;
    return C.encodeFxStatus(this.values());
  }

  describe() {
    return { ...super.describe(), controls: { ...this.controls }, conditions: { ...this.conditions } };
  }
}

// -------------------------------------------------------------------------------------------

const DC_STATUS_FIELDS = C.DC_LAYOUT.map((f) => f[0]);
const DC_FIELDS = [...DC_STATUS_FIELDS, 'batteryMinToday', 'batteryMaxToday'];

const DC_SETTINGS = {
  0x0010: 291, // temperature-compensated set-point, /10 V
  0x005c: 20, 0x005e: 288, 0x0060: 290, 0x007e: 230,
  0x0034: 500, // battery capacity Ah
  0x00ca: 0, 0x00cb: 0, 0x00cc: 1, // shunt A/B enabled, C disabled
  0x00d1: 100, 0x00d3: 0, 0x00d4: 94, 0x00d7: 100, 0x00d8: 0,
  0x00d9: 95, 0x00db: 50, 0x00da: 15, 0x00e0: 1, 0x00e1: 1,
  // max charged / removed amps (/10 A) and kW (/100 kW) per shunt; writing resets
  0x0066: 0, 0x0068: 412, 0x006a: 0, 0x006c: 263, 0x006e: 0, 0x0070: 0,
  0x0072: 0, 0x0074: 106, 0x0076: 0, 0x0078: 66, 0x007a: 0, 0x007c: 0,
};

/**
 * FLEXnet DC: shunt A measures the load (negative), shunt B the MX's charge (positive),
 * shunt C is disabled. "In" is the sum of positive shunt currents, "out" of negative ones,
 * battery = in - out (and the same for powers, Ah and kWh, rounded first so the identity is
 * exact in the bytes).
 */
class DcDevice extends MateDevice {
  constructor(sim, cfg) {
    super(sim, cfg, 'dc');
    this.firmware = String(cfg.firmware || '1.1.71').split('.').map(Number);
    this.temperatureRaw = null; // relayed by the MATE to 0x4001
    this.lifetimeKah = 12;
    this.daysAtFull = 42;
    this._resetMax = null; // ms of the last 0x00EB reset
    this._resetMin = null;
  }

  fieldNames() {
    return DC_FIELDS;
  }

  _range(resetAt, a) {
    const sys = this.sim.system;
    if (resetAt == null || sys.dayNumber(resetAt) !== a.day) return { min: a.today.batteryMin, max: a.today.batteryMax };
    return sys.batteryRange(a.day, sys.minuteOfDay(resetAt), a.minute);
  }

  _liveValues() {
    const a = this._model();
    const t = a.today;
    const v = round1(a.batteryVoltage);
    const tenths = (x) => Math.round(x * 10);
    const iA = -tenths(a.loadCurrent); // tenths of an amp
    const iB = tenths(a.chargeCurrent);
    const iC = 0;
    const pw = (i10) => Math.round((i10 / 10) * v / 10); // hundredths of a kW
    const currents = [iA, iB, iC];
    const in10 = currents.filter((x) => x > 0).reduce((s, x) => s + x, 0);
    const out10 = -currents.filter((x) => x < 0).reduce((s, x) => s + x, 0);
    const inP = pw(in10);
    const outP = pw(out10);
    const inAh = Math.round(t.chargeAh);
    const outAh = Math.round(t.loadAh);
    const inKwh = Math.round(t.chargeKwh * 100);
    const outKwh = Math.round(t.loadKwh * 100);
    const soc = Math.round(a.soc);
    const netAh = Math.round(((a.soc - 100) / 100) * this.sim.system.capacityAh);
    const full = a.daysSinceFull < 1 && a.mode === MODE.FLOAT;
    const maxR = this._range(this._resetMax, a);
    const minR = this._range(this._resetMin, a);
    return {
      shuntACurrent: iA / 10,
      shuntBCurrent: iB / 10,
      shuntCCurrent: iC / 10,
      batteryVoltage: v,
      soc,
      shuntAPower: pw(iA) / 100,
      shuntBPower: pw(iB) / 100,
      shuntCPower: 0,
      unknownB2: 0,
      flags: 0x21 | (full ? 0x80 : 0), // bits 5 and 0 as in the capture; meaning unknown
      inCurrent: in10 / 10,
      outCurrent: out10 / 10,
      batteryCurrent: (in10 - out10) / 10,
      inPower: inP / 100,
      outPower: outP / 100,
      batteryPower: (inP - outP) / 100,
      inAh,
      outAh,
      batteryAh: inAh - outAh,
      inKwh: inKwh / 100,
      outKwh: outKwh / 100,
      batteryKwh: (inKwh - outKwh) / 100,
      daysSinceFull: Math.min(3276, round1(a.daysSinceFull)),
      unknownD: Buffer.alloc(9),
      unknownE: Buffer.alloc(3),
      shuntAKwh: -outKwh / 100,
      shuntBKwh: inKwh / 100,
      shuntCKwh: 0,
      shuntAAh: -outAh,
      shuntBAh: inAh,
      shuntCAh: 0,
      minSoc: Math.round(Math.min(t.minSoc, a.soc)),
      netAh,
      netKwh: Math.round((netAh * v) / 10) / 100,
      unknownF7: 0x0f,
      unusedF: Buffer.alloc(5),
      batteryMinToday: round1(minR.min),
      batteryMaxToday: round1(maxR.max),
    };
  }

  /** The 78-byte status block (pages 0x0A..0x0F). */
  block() {
    return C.encodeDcBlock(this.values());
  }

  statusPage(page) {
    if (page < C.DC_FIRST_PAGE || page > C.DC_LAST_PAGE) return null;
    return C.dcPage(this.block(), page);
  }

  _resetExtreme(which, val) {
    const now = this.sim.nowMs();
    if (which === 'max') this._resetMax = now;
    else this._resetMin = now;
    const key = which === 'max' ? 'batteryMaxToday' : 'batteryMinToday';
    if (key in this.fixed) this.fixed[key] = this.values().batteryVoltage;
    // On the capture, writing 00FF to 00EB was answered 00FE; the same is assumed for 00EC
    return { echo: val === 0x00ff ? 0x00fe : val, note: `battery ${which} today reset` };
  }

  _defineRegisters() {
    super._defineRegisters();
    const v = () => this.values();
    this._defineFirmwareRegisters();
    this._stored(DC_SETTINGS);
    this._live(0x001c, () => this.lifetimeKah, (val) => {
      if (val === 0 || val === 0x00ff) { this.lifetimeKah = 0; return { note: 'lifetime kAh reset' }; }
      return { note: 'only 0 or 0x00FF resets; ignored' };
    });
    // shunt charged / removed, today: kWh x100 and Ah (mate.md §11, read off the capture)
    const pos = (x) => Math.max(0, x);
    const neg = (x) => Math.max(0, -x);
    this._live(0x0024, () => pos(v().shuntAKwh) * 100);
    this._live(0x0026, () => pos(v().shuntBKwh) * 100);
    this._live(0x0028, () => pos(v().shuntCKwh) * 100);
    this._live(0x002a, () => neg(v().shuntAKwh) * 100);
    this._live(0x002c, () => neg(v().shuntBKwh) * 100);
    this._live(0x002e, () => neg(v().shuntCKwh) * 100);
    this._live(0x003e, () => pos(v().shuntAAh));
    this._live(0x0040, () => pos(v().shuntBAh));
    this._live(0x0042, () => pos(v().shuntCAh));
    this._live(0x0044, () => neg(v().shuntAAh));
    this._live(0x0046, () => neg(v().shuntBAh));
    this._live(0x0048, () => neg(v().shuntCAh));
    this._live(0x0058, () => v().batteryMinToday * 10);
    this._live(0x005a, () => v().batteryMaxToday * 10);
    this._live(0x0062, () => v().daysSinceFull * 10);
    this._live(0x0064, () => this.daysAtFull, (val) => {
      if (val === 0) { this.daysAtFull = 0; return { note: 'days at 100 % reset' }; }
      return { note: 'only 0 resets; ignored' };
    });
    this._live(0x00d5, () => v().soc);
    this._live(0x00eb, () => 0, (val) => this._resetExtreme('max', val));
    this._live(0x00ec, () => 0, (val) => this._resetExtreme('min', val));
    this._live(0x00f0, () => (this.temperatureRaw == null ? 0x00fe : u16(C.temperatureFromRaw(this.temperatureRaw))));
    this._live(0x4001, () => (this.temperatureRaw == null ? 0 : this.temperatureRaw), (val) => {
      this.temperatureRaw = val & 0xff;
      this.sim.emit('temperature', { port: this.port, device: 'dc', raw: val, celsius: C.temperatureFromRaw(val & 0xff) });
      return undefined;
    });
    this._defineSyncRegisters();
  }
}

const DEVICE_CLASSES = { hub: HubDevice, mx: MxDevice, fx: FxDevice, dc: DcDevice };

module.exports = {
  MateDevice,
  HubDevice,
  MxDevice,
  FxDevice,
  DcDevice,
  DEVICE_CLASSES,
  FX_CONTROLS,
  FX_OP_MODE,
  MX_FIELDS,
  FX_FIELDS,
  DC_FIELDS,
  snapPeakWatts,
};
