'use strict';

// CRC-16/MODBUS, written from docs/protocols/modbus.md §3 (independently of native/core):
// init 0xFFFF, reflected polynomial 0xA001, no final XOR, sent low byte first.
// A whole valid frame (data + its CRC) checks to 0.

const TABLE = new Uint16Array(256);
for (let n = 0; n < 256; n++) {
  let v = n;
  for (let bit = 0; bit < 8; bit++) v = (v & 1) ? ((v >>> 1) ^ 0xa001) : (v >>> 1);
  TABLE[n] = v;
}

/** CRC-16/MODBUS of buf[start, end). Returns the 16-bit value (low byte goes first on the wire). */
function crc16(buf, start = 0, end = buf.length) {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = crcStep(crc, buf[i]);
  return crc;
}

/** One byte of the running CRC (lets a framer extend a CRC byte by byte). */
function crcStep(crc, byte) {
  return (crc >>> 8) ^ TABLE[(crc ^ byte) & 0xff];
}

/** A new Buffer: body followed by its CRC, low byte first. */
function withCrc(body) {
  const out = Buffer.alloc(body.length + 2);
  Buffer.from(body).copy(out, 0);
  const crc = crc16(out, 0, body.length);
  out[body.length] = crc & 0xff;
  out[body.length + 1] = crc >>> 8;
  return out;
}

/** True when buf[start, end) is a frame whose last two bytes are the CRC of the rest. */
function crcOk(buf, start = 0, end = buf.length) {
  return end - start >= 4 && crc16(buf, start, end) === 0;
}

module.exports = { crc16, crcStep, withCrc, crcOk };
