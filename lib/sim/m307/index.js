'use strict';

// M307 Temperature Guard simulator (see device.js for the model and the choices made where
// the vendor guide is silent, encoding.js for the byte-level helpers).

const { M307Simulator, M307Port, FAULT_MODES, INPUTS, DOORS, NAME_FIELDS, SPECIALS, factoryRecords } = require('./device');
const { serveTcp } = require('./tcp');
const E = require('./encoding');

module.exports = {
  M307Simulator,
  M307Port,
  serveTcp,
  FAULT_MODES,
  INPUTS,
  DOORS,
  NAME_FIELDS,
  SPECIALS,
  COMMAND_NAMES: E.COMMAND_NAMES,
  RECORD_SIZE: E.RECORD_SIZE,
  LOG_RECORD_SIZE: E.LOG_RECORD_SIZE,
  LOG_CAPACITY: E.LOG_CAPACITY,
  LOG_END: E.LOG_END,
  factoryRecords,
  classify: E.classify,
  toBcd: E.toBcd,
  fromBcd: E.fromBcd,
  packHour: E.packHour,
  unpackHour: E.unpackHour,
  clockFields: E.clockFields,
  clockText: E.clockText,
  parseClock: E.parseClock,
  hex: E.hex,
};
