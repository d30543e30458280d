'use strict';

// The simulated MX / FLEXmax charge controller: status page, daily log pages and registers.

const C = require('../codec');
const { MateDevice, round1 } = require('./base');

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

module.exports = { MxDevice, MX_FIELDS, snapPeakWatts };
