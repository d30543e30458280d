'use strict';

// The M307 simulator's map of the device: where each input, door and name lives in the status
// record, user record 0, the name records and a log entry; the factory content of the user
// records; and the argument checks that the simulator's setters share.

const E = require('./encoding');
const { checkNumber } = require('../scale');

const { RECORD_SIZE, MINUTE } = E;

// Where each analogue input lives in the status record, record 0, the name records and a log
// entry (docs/protocols/m307.md §4, §6, §9).
const INPUTS = Object.freeze({
  temp1: { index: 0, kind: 'temp', status: 4, limits: 8, correction: 36, log: 6 },
  temp2: { index: 1, kind: 'temp', status: 9, limits: 14, correction: 38, log: 8 },
  internal: { index: 2, kind: 'temp', status: 14, limits: 20, correction: 40, log: 10 },
  humidity: { index: 3, kind: 'humidity', status: 19, limits: 26, correction: 42, log: 12 },
});
const INPUT_NAMES = Object.freeze(Object.keys(INPUTS));
const INPUT_ALIASES = Object.freeze({
  internalTemp: 'internal', internalTemperature: 'internal', internalHumidity: 'humidity',
});

const DOORS = Object.freeze({
  1: { status: 24, delay: 32, logBit: 0x01 },
  2: { status: 29, delay: 34, logBit: 0x02 },
});

// Name fields (record, offset); 20 ASCII characters each.
const NAME_FIELDS = Object.freeze({
  temp1: { record: 2, offset: 8 },
  temp2: { record: 2, offset: 28 },
  door1: { record: 3, offset: 8 },
  door2: { record: 3, offset: 28 },
  internal: { record: 5, offset: 8 },
  humidity: { record: 5, offset: 28 },
});
const NAME_LEN = 20;

const SPECIALS = Object.freeze({
  temp: Object.freeze({ 'no-sensor': 1000, open: 999, shorted: -999 }),
  humidity: Object.freeze({ failed: 999 }),
});

const DEFAULT_READINGS = Object.freeze({ temp1: 4.2, temp2: -18.5, internal: 22.3, humidity: 45.0 });

// Slow daily swing plus per-minute noise, per input (degrees C or %RH).
const DRIFT = Object.freeze({
  temp1: { amplitude: 0.4, noise: 0.15 },
  temp2: { amplitude: 0.6, noise: 0.2 },
  internal: { amplitude: 1.5, noise: 0.1 },
  humidity: { amplitude: 4.0, noise: 0.6 },
});

const RESOLUTION_FLAG = { 0.1: 10, 1: 1 }; // status byte 58

function checkInteger(name, v, lo, hi) {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${name} must be an integer in ${lo}..${hi} (got ${v})`);
  }
}

function checkInput(input) {
  if (!Object.prototype.hasOwnProperty.call(INPUTS, input)) {
    throw new RangeError(`input must be one of ${INPUT_NAMES.join(', ')} (got ${JSON.stringify(input)})`);
  }
  return INPUTS[input];
}

function checkDoor(n) {
  if (n !== 1 && n !== 2) throw new RangeError(`door must be 1 or 2 (got ${JSON.stringify(n)})`);
  return DOORS[n];
}

function floorMinute(ms) {
  return Math.floor(ms / MINUTE) * MINUTE;
}

/** Factory content of user records 0..5: 60-byte buffers whose bytes 0..3 are AA BB CC 0n. */
function factoryRecords({ name, mac, serial }) {
  const recs = [];
  for (let n = 0; n < E.USER_RECORDS; n++) {
    const r = Buffer.alloc(RECORD_SIZE, 0x00);
    r.set(E.readRecordCommand(n), 0);
    recs.push(r);
  }
  // Undocumented bytes read 0xFF (erased EEPROM), so a client that does not preserve them
  // (read-modify-write) is visible. Bytes 4..7 (password, not implemented) are 0.
  recs[0].fill(0xff, 47, 60); // 8..43 limits/delays/corrections 0, 44 not used, 45/46 input logic 0
  writeTextField(recs[1], 8, 20, name);
  recs[1][28] = 0x43; // 'C'
  writeTextField(recs[1], 29, 20, mac);
  recs[1][49] = 0xff;
  writeTextField(recs[1], 50, 10, serial);
  for (const n of [2, 3, 5]) recs[n].fill(0xff, 48, 60); // two empty 20-byte names, then unused
  recs[4][8] = 0; // relay normally off
  recs[4][9] = 0; // alarm reminder disabled
  recs[4][10] = 1; // buzzer enabled
  recs[4][11] = 0; // two-stage door alarm disabled
  recs[4].fill(0xff, 12, 60);
  return recs;
}

function writeTextField(buf, off, len, text) {
  try {
    E.writeAscii(buf, off, len, text);
  } catch (err) {
    throw new RangeError(`${err.message} (field of ${len} bytes at offset ${off})`, { cause: err });
  }
}

module.exports = {
  INPUTS,
  INPUT_NAMES,
  INPUT_ALIASES,
  DOORS,
  NAME_FIELDS,
  NAME_LEN,
  SPECIALS,
  DEFAULT_READINGS,
  DRIFT,
  RESOLUTION_FLAG,
  checkInteger,
  checkNumber,
  checkInput,
  checkDoor,
  floorMinute,
  factoryRecords,
  writeTextField,
};
