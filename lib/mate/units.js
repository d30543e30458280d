'use strict';
// Units and display precision of the decoded MATE values. format() turns a value and its
// unit into text such as '25.4 V'.

const DIGITS = { V: 1, A: 1, kW: 3, kWh: 2, Ah: 0, '%': 0, min: 0, days: 1, W: 0, kAh: 1, h: 1, s: 0, degC: 0, cycles: 0 };

function format(value, unit) {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'number') return String(value);
  const d = DIGITS[unit] ?? 2;
  const shown = Number.isInteger(value) && d > 0 && unit !== 'V' && unit !== 'A' ? String(value) : value.toFixed(d);
  const u = unit === 'degC' ? '°C' : unit;
  return u ? `${shown} ${u}` : shown;
}

const MX_STATUS = { pvCurrent: 'A', batteryCurrent: 'A', kilowattHours: 'kWh', ampHours: 'Ah', pvVoltage: 'V', batteryVoltage: 'V' };
const MX_LOG = {
  peakAmps: 'A', batteryMax: 'V', batteryMin: 'V', kilowattHours: 'kWh', ampHours: 'Ah', peakPvVoltage: 'V',
  absorbMinutes: 'min', floatMinutes: 'min', peakKilowatts: 'kW',
};
const FX_STATUS = {
  inverterCurrent: 'A', chargerCurrent: 'A', buyCurrent: 'A', sellCurrent: 'A', acInputVoltage: 'V', acOutputVoltage: 'V', batteryVoltage: 'V',
};
const DC_STATUS = {
  batteryVoltage: 'V', stateOfCharge: '%', inCurrent: 'A', outCurrent: 'A', batteryCurrent: 'A', inPower: 'kW', outPower: 'kW',
  batteryPower: 'kW', todayInAh: 'Ah', todayOutAh: 'Ah', todayBatteryAh: 'Ah', todayInKwh: 'kWh', todayOutKwh: 'kWh',
  todayBatteryKwh: 'kWh', daysSinceFull: 'days', minSocToday: '%', netAh: 'Ah', netKwh: 'kWh',
};
const DC_SHUNT = { current: 'A', power: 'kW', kilowattHoursToday: 'kWh', ampHoursToday: 'Ah' };

// Adds `units` and a non-enumerable format(field) to a decoded object (and to nested shunts).
function withUnits(obj, units, nested = {}) {
  obj.units = { ...units };
  for (const [key, nestedUnits] of Object.entries(nested)) {
    if (obj[key]) withUnits(obj[key], nestedUnits);
  }
  Object.defineProperty(obj, 'format', {
    enumerable: false,
    value(field) {
      if (!(field in obj.units)) throw new RangeError(`no unit known for "${field}"`);
      return format(obj[field], obj.units[field]);
    },
  });
  return obj;
}

module.exports = { format, withUnits, MX_STATUS, MX_LOG, FX_STATUS, DC_STATUS, DC_SHUNT };
