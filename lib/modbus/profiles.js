'use strict';
// Register maps of the Modbus temperature/humidity sensor family (docs/protocols/modbus.md §5–7).
// A profile says which function code and registers hold the values, how to scale them,
// and where the configuration registers are. Users can pass their own object.
const { ValidationError } = require('../errors');
const v = require('../validate');
const defaults = require('../defaults');

const XY_MD02_BAUDS = [9600, 14400, 19200];

const builtIn = {
  'xy-md02': {
    name: 'xy-md02',
    description: 'XY-MD02 / XY-MD01 (SHT20), also the SHT40 version: fc 04, 0x0001 temperature, 0x0002 humidity, ×10',
    functionCode: 4,
    temperature: { register: 0x0001, scale: 10, signed: true },
    humidity: { register: 0x0002, scale: 10, signed: false },
    addressRegister: 0x0101,
    baudRegister: 0x0102,
    // The manual contradicts itself (docs/protocols/modbus.md §6): the register holds either the raw
    // rate or a code. 'auto' reads the register first and writes in the same convention.
    baudConvention: 'auto',
    baudCodes: { 0: 9600, 1: 14400, 2: 19200 },
    baudRates: XY_MD02_BAUDS,
    temperatureCorrectionRegister: 0x0103,
    humidityCorrectionRegister: 0x0104,
    correctionScale: 10,
    correctionRange: 10,
    range: { temperature: [-40, 80], humidity: [0, 100] },
  },
  'xy-md02-x100': {
    name: 'xy-md02-x100',
    description: 'XY-MD02 family with ×100 firmware (0x0BEA = 30.50 °C)',
    functionCode: 4,
    temperature: { register: 0x0001, scale: 100, signed: true },
    humidity: { register: 0x0002, scale: 100, signed: false },
    addressRegister: 0x0101,
    baudRegister: 0x0102,
    baudConvention: 'auto',
    baudCodes: { 0: 9600, 1: 14400, 2: 19200 },
    baudRates: XY_MD02_BAUDS,
    temperatureCorrectionRegister: 0x0103,
    humidityCorrectionRegister: 0x0104,
    correctionScale: 10,
    correctionRange: 10,
    range: { temperature: [-40, 80], humidity: [0, 100] },
  },
  'md02-red': {
    name: 'md02-red',
    description: '"MD02" red-LED board: fc 04, ×100, address at 0x0100, baud codes at 0x0101 (2400/4800/9600)',
    functionCode: 4,
    temperature: { register: 0x0001, scale: 100, signed: true },
    humidity: { register: 0x0002, scale: 100, signed: false },
    addressRegister: 0x0100,
    baudRegister: 0x0101,
    baudConvention: 'code',
    baudCodes: { 0: 2400, 1: 4800, 2: 9600 },
    baudRates: [2400, 4800, 9600],
    range: { temperature: [-40, 80], humidity: [0, 100] },
  },
  'sht3x-asia': {
    name: 'sht3x-asia',
    description: '"SHTC3/SHT30" boards: fc 03, 0x0000 humidity, 0x0001 temperature, ×10',
    functionCode: 3,
    temperature: { register: 0x0001, scale: 10, signed: true },
    humidity: { register: 0x0000, scale: 10, signed: false },
    // docs/protocols/modbus.md §7 lists 0x0101 both as "address (read)" and as the baud code; we take
    // 0x0100 as the address (read and write) and 0x0101 as the baud code (single source).
    addressRegister: 0x0100,
    baudRegister: 0x0101,
    baudConvention: 'code',
    baudCodes: { 0: 2400, 1: 4800, 2: 9600 },
    baudRates: [2400, 4800, 9600],
    range: { temperature: [-40, 125], humidity: [0, 100] },
  },
  'wb-generic': {
    name: 'wb-generic',
    description: 'generic temperature/humidity transmitter: fc 03, 0x0000 temperature, 0x0001 humidity, ×10, address at 0x0100',
    functionCode: 3,
    temperature: { register: 0x0000, scale: 10, signed: true },
    humidity: { register: 0x0001, scale: 10, signed: false },
    addressRegister: 0x0100,
    range: { temperature: [-40, 125], humidity: [0, 100] },
  },
};
builtIn['xy-md02-sht40'] = { ...builtIn['xy-md02'], name: 'xy-md02-sht40' };

function checkChannel(name, ch) {
  v.plainObject(name, ch);
  v.integer(`${name}.register`, ch.register, 0, 65535);
  v.oneOf(`${name}.scale`, ch.scale ?? 10, [1, 10, 100, 1000]);
  return { register: ch.register, scale: ch.scale ?? 10, signed: ch.signed !== false };
}

// Returns a complete, checked profile object.
function resolveProfile(profile) {
  if (profile === undefined || profile === null) return builtIn[defaults.modbus.profile];
  if (typeof profile === 'string') {
    const p = builtIn[profile];
    if (!p) {
      throw new ValidationError(
        `profile must be one of ${Object.keys(builtIn).map((k) => `"${k}"`).join(', ')} or a custom profile object, got "${profile}"`,
        'EINVAL', { argument: 'profile' });
    }
    return p;
  }
  v.plainObject('profile', profile);
  const base = profile.extends ? resolveProfile(profile.extends) : {};
  const p = { ...base, ...profile, name: profile.name || 'custom' };
  v.oneOf('profile.functionCode', p.functionCode, [3, 4]);
  p.temperature = p.temperature ? checkChannel('profile.temperature', p.temperature) : undefined;
  p.humidity = p.humidity ? checkChannel('profile.humidity', { signed: false, ...p.humidity }) : undefined;
  if (!p.temperature && !p.humidity) {
    throw new ValidationError('profile needs at least one of temperature or humidity', 'EINVAL', { argument: 'profile' });
  }
  for (const k of ['addressRegister', 'baudRegister', 'temperatureCorrectionRegister', 'humidityCorrectionRegister']) {
    if (p[k] !== undefined) v.integer(`profile.${k}`, p[k], 0, 65535);
  }
  p.range = p.range || { temperature: [-40, 125], humidity: [0, 100] };
  return p;
}

/**
 * How many decimals a channel's value has: a raw value divided by `scale` (1, 10, 100,
 * 1000) has log10(scale) of them. The one definition; the sensor, the diagnostics and the
 * Node-RED status text use it.
 */
function decimalsFor(scale) {
  return Math.max(0, Math.round(Math.log10(scale)));
}

module.exports = { profiles: builtIn, resolveProfile, decimalsFor };
