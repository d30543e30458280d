'use strict';

// Register maps of the simulated sensors, restated from docs/protocols/modbus.md §5-7.
//
// Each profile says, per table, which register holds which quantity:
//   input   registers are read with function 0x04,
//   holding registers are read with 0x03 and written with 0x06 / 0x10.
// Quantities ("kinds"):
//   temperature, humidity                     read-only measurements (write -> exception 02)
//   address, baud                             settings that take effect after powerCycle()
//   temperatureCorrection, humidityCorrection signed, x correctionScale, added to the
//                                             reported value at once
//
// Baud register conventions (docs/protocols/modbus.md §6):
//   'raw'  the register holds the rate itself (9600)
//   'code' the register holds an index into profile.baud.rates (0 = rates[0], ...)

const MEASUREMENT_KINDS = new Set(['temperature', 'humidity']);

const XY_MD02_HOLDING = Object.freeze({
  0x0101: 'address',
  0x0102: 'baud',
  0x0103: 'temperatureCorrection',
  0x0104: 'humidityCorrection',
});

const PROFILES = Object.freeze({
  'xy-md02': Object.freeze({
    name: 'xy-md02',
    description: 'XY-MD02 / XY-MD01 (SHT20): fc04 0x0001 temperature, 0x0002 humidity, x10; ' +
      'settings 0x0101..0x0104',
    input: Object.freeze({ 0x0001: 'temperature', 0x0002: 'humidity' }),
    holding: XY_MD02_HOLDING,
    valueScale: 10,
    correctionScale: 10,
    correctionLimit: 10,
    addressRange: Object.freeze([1, 247]),
    baud: Object.freeze({ rates: Object.freeze([9600, 14400, 19200]), convention: 'raw' }),
  }),
  'xy-md02-x100': Object.freeze({
    name: 'xy-md02-x100',
    description: 'XY-MD02 "x100" firmware: same map as xy-md02, values x100 (0x0BEA = 30.50)',
    input: Object.freeze({ 0x0001: 'temperature', 0x0002: 'humidity' }),
    holding: XY_MD02_HOLDING,
    valueScale: 100,
    // Unknown for this firmware; kept at x10 like the x10 firmware (the protocol notes give no data).
    correctionScale: 10,
    correctionLimit: 10,
    addressRange: Object.freeze([1, 247]),
    baud: Object.freeze({ rates: Object.freeze([9600, 14400, 19200]), convention: 'raw' }),
  }),
  'md02-red': Object.freeze({
    name: 'md02-red',
    description: '"MD02" red-LED board: fc04 0x0001 temperature, 0x0002 humidity, x100; ' +
      'address 0x0100, baud code 0x0101 (0/1/2 = 2400/4800/9600)',
    input: Object.freeze({ 0x0001: 'temperature', 0x0002: 'humidity' }),
    holding: Object.freeze({ 0x0100: 'address', 0x0101: 'baud' }),
    valueScale: 100,
    correctionScale: 10,
    correctionLimit: 10,
    addressRange: Object.freeze([1, 251]),
    baud: Object.freeze({ rates: Object.freeze([2400, 4800, 9600]), convention: 'code' }),
  }),
  'sht3x-asia': Object.freeze({
    name: 'sht3x-asia',
    description: 'SHTC3/SHT30 "Asia label": fc03 0x0000 humidity, 0x0001 temperature, x10; ' +
      'address 0x0100, baud code 0x0101 (0/1/2 = 2400/4800/9600)',
    input: Object.freeze({}),
    holding: Object.freeze({ 0x0000: 'humidity', 0x0001: 'temperature', 0x0100: 'address', 0x0101: 'baud' }),
    valueScale: 10,
    correctionScale: 10,
    correctionLimit: 10,
    addressRange: Object.freeze([1, 251]),
    baud: Object.freeze({ rates: Object.freeze([2400, 4800, 9600]), convention: 'code' }),
  }),
  'wb-generic': Object.freeze({
    name: 'wb-generic',
    description: 'generic temp-hum transmitter (Wiren Board template): fc03 0x0000 temperature, ' +
      '0x0001 humidity, x10; address 0x0100; no baud register',
    input: Object.freeze({}),
    holding: Object.freeze({ 0x0000: 'temperature', 0x0001: 'humidity', 0x0100: 'address' }),
    valueScale: 10,
    correctionScale: 10,
    correctionLimit: 10,
    addressRange: Object.freeze([1, 247]),
    baud: null,
  }),
});

const ALIASES = Object.freeze({
  'xy-md01': 'xy-md02',
  'sht20': 'xy-md02',
  'xymd02': 'xy-md02',
  'md02': 'md02-red',
  'shtc3': 'sht3x-asia',
  'sht30-asia': 'sht3x-asia',
});

/** The profile object for a name (case-insensitive, a few aliases); throws on an unknown name. */
function getProfile(name) {
  if (name && typeof name === 'object' && name.input && name.holding) return name;
  const key = String(name == null ? 'xy-md02' : name).toLowerCase();
  const p = PROFILES[key] || PROFILES[ALIASES[key]];
  if (!p) {
    throw new RangeError(`unknown Modbus sensor profile "${name}" (known: ${Object.keys(PROFILES).join(', ')})`);
  }
  return p;
}

function isWritableKind(kind) {
  return kind != null && !MEASUREMENT_KINDS.has(kind);
}

/** Register value for a baud rate in a convention; null when the profile cannot express it. */
function encodeBaud(profile, convention, rate) {
  if (!profile.baud) return null;
  const idx = profile.baud.rates.indexOf(rate);
  if (idx < 0) return null;
  return convention === 'code' ? idx : rate;
}

/** Baud rate for a register value in a convention; null when the value is not valid. */
function decodeBaud(profile, convention, value) {
  if (!profile.baud) return null;
  if (convention === 'code') return value < profile.baud.rates.length ? profile.baud.rates[value] : null;
  return profile.baud.rates.includes(value) ? value : null;
}

module.exports = { PROFILES, ALIASES, getProfile, isWritableKind, encodeBaud, decodeBaud };
