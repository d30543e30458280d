'use strict';

// Presets: fixed device values that make the simulator answer like a known system.
//
// 'capture': the MATE + hub + MX (port 1) + FX 230 V (port 2) + FLEXnet DC (port 3) of the
// real bus capture in docs/protocols/mate.md §13. With it the status replies, the MX log pages for
// day 0 and day 127, the sync replies and the register reads of that section come out byte for byte.
// The values were read off its reply bytes with the field tables of mate.md §9-11.

const CAPTURE = Object.freeze({
  mx: {
    aux: { mode: 0x3f, on: false }, // aux in manual, off
    fixed: {
      pvCurrent: 4,
      batteryCurrent: 9.9,
      kwh: 2.1,
      ah: 85,
      ahValid: true,
      chargerMode: 2, // bulk
      errors: 0,
      batteryVoltage: 25.4,
      pvVoltage: 68.0,
      batteryTemperatureRaw: 0x9a,
    },
    logPages: {
      0: '9F 39 64 01 55 00 00 00 59 C0 38 10 5C 00',
      127: 'F1 BC 84 01 55 3C C0 1E 58 C0 3D 08 C2 7F',
    },
  },
  fx: {
    // conditions and controls from which the status derives op mode 4 (silent), AC mode 2 (use)
    conditions: { grid: true, acInputVoltage: 6, acOutputVoltage: 230, chargePhase: 'silent', is230V: true, miscReserved: 0x08 },
    controls: { inverter: 2, acIn: 1, charger: 1, aux: 1, eq: 2 },
    fixed: {
      inverterCurrent: 0, chargerCurrent: 0, buyCurrent: 0, sellCurrent: 0, batteryVoltage: 25.6, errors: 0, warnings: 0,
    },
    registers: { 0x008f: 55 },
  },
  dc: {
    temperatureRaw: 0x9a,
    fixed: {
      shuntACurrent: -5.6,
      shuntBCurrent: 9.1,
      shuntCCurrent: 0,
      batteryVoltage: 25.6,
      soc: 76,
      shuntAPower: -0.14,
      shuntBPower: 0.23,
      shuntCPower: 0,
      unknownB2: 0,
      flags: 0x21,
      inCurrent: 9.1,
      outCurrent: 5.6,
      batteryCurrent: 3.5,
      inPower: 0.23,
      outPower: 0.14,
      batteryPower: 0.09,
      inAh: 81,
      outAh: 106,
      batteryAh: -25,
      inKwh: 2.07,
      outKwh: 2.58,
      batteryKwh: -0.51,
      daysSinceFull: 1.9,
      unknownD: 'FE FA 02 76 01 70 FF 91 00',
      unknownE: 'FF 00 90',
      shuntAKwh: -6.24,
      shuntBKwh: 3.62,
      shuntCKwh: 0,
      shuntAAh: -251,
      shuntBAh: 140,
      shuntCAh: 0,
      minSoc: 71,
      netAh: -120,
      netKwh: -2.84,
      unknownF7: 0x0f,
      unusedF: '00 00 00 00 00',
    },
  },
});

const PRESETS = Object.freeze({ capture: CAPTURE });

const bytes = (h) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** Apply preset `name` to every device of the simulator (by type). */
function applyPreset(sim, name) {
  const p = PRESETS[name];
  if (!p) throw new RangeError(`preset must be one of ${Object.keys(PRESETS).join(', ')} (got ${JSON.stringify(name)})`);
  for (const dev of sim.devices()) {
    const cfg = p[dev.type];
    if (!cfg) continue;
    if (cfg.conditions) dev.setConditions(cfg.conditions);
    if (cfg.controls) Object.assign(dev.controls, cfg.controls);
    if (cfg.registers) for (const [a, v] of Object.entries(cfg.registers)) dev.defineRegister(Number(a), v);
    if (cfg.temperatureRaw != null) dev.temperatureRaw = cfg.temperatureRaw;
    if (cfg.fixed) {
      const f = {};
      for (const [k, v] of Object.entries(cfg.fixed)) f[k] = typeof v === 'string' ? bytes(v) : v;
      dev.set(f);
    }
    if (cfg.aux) dev.aux = { ...cfg.aux };
    if (cfg.logPages) for (const [day, h] of Object.entries(cfg.logPages)) dev.setLogPage(Number(day), bytes(h));
  }
}

module.exports = { PRESETS, applyPreset };
