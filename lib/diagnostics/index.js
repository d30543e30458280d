'use strict';
// Diagnostics: what is wrong between this computer and a field device, with a suggestion.
//   Modbus sensors:  diagnose, runFullDiagnostic (modbus.js), scanModbus, probeProfile (scan.js)
//   M307:            testM307 (m307.js)
//   MATE bus:        mateScanDiagnostic (mate.js)
// Every result: { code, ok, step, message, suggestion, rawData, timestamp, details } (result.js).

const { diagnose, runFullDiagnostic, PROBE_BAUD_RATES } = require('./modbus');
const { scanModbus, probeProfile, parseUnits } = require('./scan');
const { testM307 } = require('./m307');
const { mateScanDiagnostic } = require('./mate');
const { CODES, formatResult } = require('./result');
const { findHolders, permissionInfo } = require('./port');

module.exports = {
  diagnose,
  runFullDiagnostic,
  scanModbus,
  probeProfile,
  testM307,
  mateScanDiagnostic,
  parseUnits,
  findHolders,
  permissionInfo,
  formatResult,
  CODES,
  PROBE_BAUD_RATES,
};
