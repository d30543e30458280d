'use strict';
// The shape every diagnostic step returns, and the codes with their standard suggestions.
//
// A result: { code, ok, step, message, suggestion, rawData, timestamp, details }
//   code        one of CODES (a stable string)
//   ok          true when nothing is wrong (code OK)
//   step        which check produced it ('port', 'open', 'listen', 'request', 'baud-probe', ...)
//   message     what was observed, in one or two sentences, naming the evidence
//   suggestion  what to do about it (null when there is nothing to do)
//   rawData     the bytes that were the evidence, hex ("01 04 ..."), or null
//   timestamp   a Date: when the result was made
//   details     machine-readable particulars (found address, error rate, holders, ...)

const CODES = Object.freeze({
  // the original Python sensor module's codes
  OK: 'OK',
  PORT_NOT_FOUND: 'PORT_NOT_FOUND',
  NO_RS485_CONVERTER: 'NO_RS485_CONVERTER',
  NO_SENSOR_RESPONSE: 'NO_SENSOR_RESPONSE',
  AB_LINES_SWAPPED: 'AB_LINES_SWAPPED',
  GROUND_NOT_CONNECTED: 'GROUND_NOT_CONNECTED',
  CRC_ERROR: 'CRC_ERROR',
  INVALID_RESPONSE: 'INVALID_RESPONSE',
  BAUDRATE_MISMATCH: 'BAUDRATE_MISMATCH',
  WRONG_SLAVE_ADDRESS: 'WRONG_SLAVE_ADDRESS',
  // what a Linux user also meets
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  PORT_BUSY: 'PORT_BUSY',
  PORT_ERROR: 'PORT_ERROR', // any other failure to open the port (the OS error is in the message)
  ASCII_AUTOREPORT: 'ASCII_AUTOREPORT',
  // network devices (M307) and the MATE bus
  HOST_NOT_FOUND: 'HOST_NOT_FOUND',
  HOST_UNREACHABLE: 'HOST_UNREACHABLE',
  CONNECTION_REFUSED: 'CONNECTION_REFUSED',
  CONNECTION_TIMEOUT: 'CONNECTION_TIMEOUT',
  DEVICE_BUSY: 'DEVICE_BUSY',
  NO_DEVICE_RESPONSE: 'NO_DEVICE_RESPONSE',
});

// The original Python sensor module's root causes, as suggestions (with its "12V/24V" corrected to the
// manual's supply range, and the probes we already made named by the caller).
const SUGGESTIONS = Object.freeze({
  NO_SENSOR_RESPONSE: [
    'Check that the sensor is powered (XY-MD02: 5-30 V DC on + and -; some variants 9-36 V).',
    'Check that A+ and B- are connected at both ends (terminal 2 = A+, terminal 1 = B- on the XY-MD02).',
    'A and B swapped also looks like silence: the sensor cannot decode an inverted request. Try swapping A and B.',
    'Connect GND between the converter and the sensor.',
    'Check the address and the baud rate the sensor was set to (factory default: address 1, 9600 8N1).',
  ].join(' '),
  AB_LINES_SWAPPED: 'Swap the A+ and B- wires (at the converter or at the sensor). Labels differ between makers: A+ = D+ = Data+, B- = D- = Data-.',
  GROUND_NOT_CONNECTED_FLOATING: 'Connect GND (the converter\'s GND to the sensor\'s "-" terminal): without a common ground, or without bias resistors, the receiver\'s input floats and reads as 0xFF.',
  GROUND_NOT_CONNECTED_SHORTED: 'Look for a short between A and B (a stray strand in a terminal, a crushed or damaged cable); with A and B shorted the receiver reads 0x00.',
  CRC_ERROR: 'Interference or a weak signal: use shielded twisted pair, put a 120 Ω terminator at each end of a long line (> 100 m), tighten the terminals, keep the cable away from mains and motor wiring.',
  INVALID_RESPONSE: 'Check the serial settings (baud rate, parity) and the register map (profile). If the bytes look random, A and B may be swapped, or another master may be on the bus: only one master per RS485 bus.',
  PERMISSION_DENIED: null, // built from the device's group
  PORT_BUSY: null, // built from the holders
});

/** A result object. */
function result(code, fields = {}) {
  if (!CODES[code]) throw new Error(`unknown diagnostic code ${code}`);
  return {
    code,
    ok: code === CODES.OK,
    step: fields.step || null,
    message: fields.message || '',
    suggestion: fields.suggestion ?? null,
    rawData: fields.rawData ?? null,
    timestamp: new Date(),
    details: fields.details || {},
  };
}

/** A one-line text for a result ("✓ OK: ...", "✗ CODE: ..."). */
function formatResult(r) {
  return `${r.ok ? '✓' : '✗'} ${r.code}: ${r.message}`;
}

module.exports = { CODES, SUGGESTIONS, result, formatResult };
