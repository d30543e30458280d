'use strict';

// The simulated FX inverter/charger: status page, registers and the controls (inverter, AC
// input, charger, aux, equalize) a master may change.

const C = require('../codec');
const { MateDevice, round1 } = require('./base');

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

module.exports = { FxDevice, FX_FIELDS, FX_CONTROLS, FX_OP_MODE };
