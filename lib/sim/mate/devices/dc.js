'use strict';

// The simulated FLEXnet DC battery monitor: six status pages read as one block, registers and
// the daily min/max resets.

const C = require('../codec');
const { MODE } = require('../model');
const { MateDevice, round1, u16 } = require('./base');

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

module.exports = { DcDevice, DC_FIELDS };
