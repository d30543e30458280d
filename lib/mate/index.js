'use strict';
// Pure MATE-bus decoders and encoders (from native/core/mate), with units attached.
const native = require('../native');
const u = require('./units');

// MX status is what a poller asks for again and again: the addon decodes it into these slots
// (their order is MxSlot in native/node/mate_wrap.cpp) and returns only the two names, and the
// object is built here, which costs a fraction of setting each field through the addon.
const mxSlots = new Float64Array(13);

function mxStatus(buf) {
  const [chargerMode, errors] = native.mate.decode.mxStatus(buf, mxSlots);
  const d = mxSlots;
  return u.withUnits({
    pvCurrent: d[0],
    batteryCurrent: d[1],
    chargerCurrentTenths: d[2],
    kilowattHours: d[3],
    ampHours: d[4],
    ampHoursValid: d[5] === 1,
    pvVoltage: d[6],
    batteryVoltage: d[7],
    chargerMode,
    chargerModeRaw: d[8],
    auxMode: d[9],
    auxManual: d[10] === 1,
    auxOn: d[11] === 1,
    errors,
    errorsRaw: d[12],
  }, u.MX_STATUS);
}

const decode = {
  mxStatus,
  fxStatus: (buf) => u.withUnits(native.mate.decode.fxStatus(buf), u.FX_STATUS),
  mxLogPage: (buf) => u.withUnits(native.mate.decode.mxLogPage(buf), u.MX_LOG),
  dcStatus: (buf) => u.withUnits(native.mate.decode.dcStatus(buf), u.DC_STATUS, { shuntA: u.DC_SHUNT, shuntB: u.DC_SHUNT, shuntC: u.DC_SHUNT }),
  time: (raw) => native.mate.decode.time(raw),
  date: (raw) => native.mate.decode.date(raw),
};

const encode = {
  command: (port, type, address, value) => native.mate.encode.command(port, type, address, value),
  time: (h, m, s) => native.mate.encode.time(h, m, s),
  date: (y, mo, d) => native.mate.encode.date(y, mo, d),
};

// { hub: 1, fx: 2, mx: 3, dc: 4 }, from native/core/mate (the one list of device type ids).
const DEVICE_TYPES = Object.freeze(Object.fromEntries(Object.entries(native.mate.deviceTypes).filter(([name]) => name !== 'none')));

/** The register table of 'mx' | 'fx' | 'dc': [{ name, address, scale, unit, writable, evidence, note }] */
function registers(device) {
  const t = DEVICE_TYPES[device];
  if (!t || t === 1) throw new RangeError(`device must be 'mx', 'fx' or 'dc', got ${JSON.stringify(device)}`);
  return native.mate.registers(t);
}

module.exports = { mate: { decode, encode, registers, format: u.format, DEVICE_TYPES } };
