'use strict';
// Pure MATE-bus decoders and encoders (from native/core/mate), with units attached.
const native = require('../native');
const u = require('./units');

// MX status is what a poller asks for again and again: the addon decodes it into numeric
// slots and returns only the names (charger mode, error list); the object is built here, which
// costs a fraction of setting each field through the addon. Which field is which, and in what
// order, comes from the addon (mate.mxStatusFields): [{ name, kind: 'number'|'flag'|'name' }].
const MX_FIELDS = native.mate.mxStatusFields;
const mxSlots = new Float64Array(MX_FIELDS.filter((f) => f.kind !== 'name').length);

function mxStatus(buf) {
  const names = native.mate.decode.mxStatus(buf, mxSlots);
  const o = {};
  let slot = 0;
  let name = 0;
  for (const f of MX_FIELDS) {
    if (f.kind === 'name') o[f.name] = names[name++];
    else if (f.kind === 'flag') o[f.name] = mxSlots[slot++] === 1;
    else o[f.name] = mxSlots[slot++];
  }
  return u.withUnits(o, u.MX_STATUS);
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
