'use strict';

// What travels on the simulated Modbus RTU line: function and exception codes, where a request
// frame ends in a byte stream (by its length, else by a matching CRC), a request decoded into
// a plain object, and the ASCII line an XY-MD02 sends in its auto-report mode.

const { crcStep, crcOk } = require('./crc');

const MAX_ADU = 256; // longest Modbus RTU frame
const MAX_BUFFER = 2 * MAX_ADU; // input kept while waiting for a frame boundary

const FN_READ_HOLDING = 0x03;
const FN_READ_INPUT = 0x04;
const FN_WRITE_SINGLE = 0x06;
const FN_WRITE_MULTIPLE = 0x10;

const EXCEPTION = Object.freeze({
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  DEVICE_FAILURE: 0x04,
});

const CELSIUS_SIGN = Object.freeze({
  'utf-8': Buffer.from('\u2103', 'utf8'), // E2 84 83
  gb2312: Buffer.from([0xa1, 0xe6]),
});

/**
 * One auto-report line of the "ordinary protocol": "<t>℃,<h>%" + CR LF, one decimal each,
 * like the manual's READ reply example "27.4℃,67.7%". The line ending is not documented; CR LF
 * is assumed.
 */
function autoReportLine(temperature, humidity, encoding = 'utf-8') {
  const sign = CELSIUS_SIGN[encoding];
  if (!sign) throw new RangeError(`encoding must be one of ${Object.keys(CELSIUS_SIGN).join(', ')} (got ${encoding})`);
  return Buffer.concat([
    Buffer.from(temperature.toFixed(1), 'ascii'),
    sign,
    Buffer.from(`,${humidity.toFixed(1)}%\r\n`, 'ascii'),
  ]);
}

/**
 * Length of the request that starts at buf[i], from its function code:
 *   > 0  the full length (bytes),
 *   0    more bytes are needed before the length is known,
 *  -1    unknown function code (length found by looking for a matching CRC).
 * Functions other than 03/04/06/10 are not supported (exception 01), but the standard ones
 * still have known lengths, so they are framed the way a real slave frames them.
 */
function requestLength(buf, i, avail) {
  const fc = buf[i + 1];
  switch (fc) {
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
      return 8;
    case 0x07: case 0x0b: case 0x0c: case 0x11:
      return 4;
    case 0x0f: case 0x10:
      return avail < 7 ? 0 : 9 + buf[i + 6];
    case 0x16:
      return 10;
    case 0x17:
      return avail < 11 ? 0 : 13 + buf[i + 10];
    default:
      return -1;
  }
}

/** The earliest complete CRC-valid frame in buf: { start, length } or null. */
function findFrame(buf) {
  const n = buf.length;
  for (let i = 0; i + 4 <= n; i++) {
    const avail = n - i;
    const len = requestLength(buf, i, avail);
    if (len > 0) {
      if (len <= avail && crcOk(buf, i, i + len)) return { start: i, length: len };
    } else if (len < 0) {
      // Unknown function: accept the shortest stretch whose CRC matches.
      let crc = 0xffff;
      const end = Math.min(n, i + MAX_ADU);
      for (let j = i; j < end; j++) {
        crc = crcStep(crc, buf[j]);
        if (j - i + 1 >= 4 && crc === 0) return { start: i, length: j - i + 1 };
      }
    }
  }
  return null;
}

/** True when discarded bytes began with a complete frame of a known function with a bad CRC. */
function looksLikeBadCrcFrame(buf) {
  if (buf.length < 4) return false;
  const len = requestLength(buf, 0, buf.length);
  return len > 0 && len <= buf.length && !crcOk(buf, 0, len);
}

function toInt16(u) { return u & 0x8000 ? u - 0x10000 : u; }

function hex(buf) {
  return Buffer.from(buf).toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
}

/** Decode a CRC-checked request frame into a plain object. */
function decodeRequest(frame) {
  const req = {
    address: frame[0],
    broadcast: frame[0] === 0,
    function: frame[1],
    raw: frame,
    hex: hex(frame),
  };
  const fc = frame[1];
  if (fc === FN_READ_HOLDING || fc === FN_READ_INPUT) {
    req.start = frame.readUInt16BE(2);
    req.quantity = frame.readUInt16BE(4);
  } else if (fc === FN_WRITE_SINGLE) {
    req.start = frame.readUInt16BE(2);
    req.quantity = 1;
    req.values = [frame.readUInt16BE(4)];
  } else if (fc === FN_WRITE_MULTIPLE) {
    req.start = frame.readUInt16BE(2);
    req.quantity = frame.readUInt16BE(4);
    req.byteCount = frame[6];
    req.values = [];
    for (let o = 7; o + 1 < frame.length - 2; o += 2) req.values.push(frame.readUInt16BE(o));
  }
  return req;
}

module.exports = {
  MAX_ADU,
  MAX_BUFFER,
  FN_READ_HOLDING,
  FN_READ_INPUT,
  FN_WRITE_SINGLE,
  FN_WRITE_MULTIPLE,
  EXCEPTION,
  CELSIUS_SIGN,
  autoReportLine,
  requestLength,
  findFrame,
  looksLikeBadCrcFrame,
  decodeRequest,
  toInt16,
  hex,
};
