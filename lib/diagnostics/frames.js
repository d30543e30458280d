'use strict';
// Byte-level evidence for the Modbus diagnostics: build a read request, and say what a burst
// of received bytes is (a good reply, an exception, our reply bit-inverted, our reply with a
// bad CRC, all 0xFF, all 0x00, text from the ASCII "ordinary protocol", another unit's
// frame, or garbage). No I/O here, so every rule can be checked with plain buffers.
//
// The CRC and the request builder are native/core/modbus's, through the addon: the
// diagnostics judge bytes the native framer rejected, but with the same CRC-16/MODBUS.
const native = require('../native');

const M = native.modbus;

function crc16(buf, start = 0, end = buf.length) {
  return M.crc16(Buffer.isBuffer(buf) ? buf : Buffer.from(buf), start, end);
}

/** body + CRC (low byte first). */
function withCrc(body) {
  const b = Buffer.from(body);
  const c = crc16(b);
  return Buffer.concat([b, Buffer.from([c & 0xff, c >>> 8])]);
}

/** buf[start, end) carries its own valid CRC. */
function crcValid(buf, start = 0, end = buf.length) {
  return end - start >= 4 && crc16(buf, start, end) === 0;
}

/** "01 04 00 01" (upper case, spaced), or null for nothing. */
function hex(buf) {
  if (!buf || buf.length === 0) return null;
  return Buffer.from(buf).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 ');
}

/** A read request: fc 03 or 04, `count` registers from `register`. */
function readRequest(address, functionCode, register, count) {
  return M.readRequest(address, functionCode, register, count);
}

/** What the profile reads for a measurement: { functionCode, register, count }. */
function profileRead(profile) {
  const regs = [profile.temperature, profile.humidity].filter(Boolean).map((c) => c.register);
  const register = Math.min(...regs);
  return { functionCode: profile.functionCode, register, count: Math.max(...regs) - register + 1 };
}

/**
 * The first CRC-valid frame in buf sent by `address` in answer to function `fc` reading
 * `count` registers: a normal reply (addr fc 2n data CRC) or an exception (addr fc|0x80 code CRC).
 * address null: from any unit. Returns { start, frame, address, exception, registers } or null.
 */
function findReply(buf, { address = null, fc, count }) {
  const replyLen = 5 + 2 * count;
  for (let i = 0; i + 5 <= buf.length; i++) {
    if (address !== null && buf[i] !== address) continue;
    if (address === null && (buf[i] < 1 || buf[i] > 247)) continue;
    if (buf[i + 1] === fc && buf[i + 2] === 2 * count && i + replyLen <= buf.length && crcValid(buf, i, i + replyLen)) {
      const frame = buf.subarray(i, i + replyLen);
      const registers = [];
      for (let r = 0; r < count; r++) registers.push(frame.readUInt16BE(3 + 2 * r));
      return { start: i, frame, address: buf[i], exception: null, registers };
    }
    if (buf[i + 1] === (fc | 0x80) && crcValid(buf, i, i + 5)) {
      return { start: i, frame: buf.subarray(i, i + 5), address: buf[i], exception: buf[i + 2], registers: null };
    }
  }
  return null;
}

// Bytes a ℃ sign may take on the wire: UTF-8 (U+2103) or GB2312/GBK (the vendor's likely
// code page). The manual shows the sign but not its bytes, so both encodings are inferred.
const CELSIUS_UTF8 = Buffer.from([0xe2, 0x84, 0x83]);
const CELSIUS_GB2312 = Buffer.from([0xa1, 0xe6]);

/**
 * Reads bytes as text when they look like text: at least 4 bytes, at least 90% printable
 * ASCII / CR / LF / TAB or part of a ℃ sign, and at least one digit. Returns
 * { text, encoding: 'ascii'|'utf-8'|'gb2312', lines } or null. Other bytes show as \xNN.
 */
function asText(buf) {
  if (!buf || buf.length < 4) return null;
  let printable = 0;
  let digits = 0;
  let encoding = 'ascii';
  let text = '';
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b === 0xe2 && buf[i + 1] === 0x84 && buf[i + 2] === 0x83) {
      text += '℃';
      printable += 3;
      encoding = 'utf-8';
      i += 2;
    } else if (b === 0xa1 && buf[i + 1] === 0xe6) {
      text += '℃';
      printable += 2;
      encoding = 'gb2312';
      i += 1;
    } else if ((b >= 0x20 && b <= 0x7e) || b === 0x0d || b === 0x0a || b === 0x09) {
      text += String.fromCharCode(b);
      printable += 1;
      if (b >= 0x30 && b <= 0x39) digits += 1;
    } else {
      text += `\\x${b.toString(16).padStart(2, '0')}`;
    }
  }
  if (digits === 0 || printable < 0.9 * buf.length) return null;
  const lines = text.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l.length > 0);
  return { text, encoding, lines };
}

/** "27.4℃,67.7%" -> { temperature: 27.4, humidity: 67.7 }; null when the line is not one. */
function parseReportLine(line) {
  const m = /^(-?\d+(?:\.\d+)?)\s*(?:℃|°C|C)?\s*,\s*(\d+(?:\.\d+)?)\s*%/.exec(line);
  return m ? { temperature: Number(m[1]), humidity: Number(m[2]) } : null;
}

const invert = (buf) => Buffer.from(buf.map((b) => b ^ 0xff));

/** True when some stretch of buf (4..256 bytes) carries a valid CRC: Modbus traffic. */
function containsCrcFrame(buf) {
  return M.findCrcFrame(Buffer.isBuffer(buf) ? buf : Buffer.from(buf)) >= 0;
}

/**
 * What a burst of bytes received after a read request to `address` is. kind:
 *   none        nothing arrived
 *   reply       a valid reply from `address` (registers)
 *   exception   a valid exception reply from `address` (exception code)
 *   all-ff      only 0xFF bytes (floating line / no common ground)
 *   all-00      only 0x00 bytes (A shorted to B, or a line held low)
 *   inverted    XOR 0xFF of the bytes holds a valid frame from `address` (A/B swapped)
 *   bad-crc     a frame that starts with `address` and the function code and has the
 *               reply's length (or an exception's), but whose CRC fails
 *   other-unit  a valid reply to our function from another unit
 *   text        printable text (the ASCII protocol)
 *   garbage     anything else
 */
function classify(bytes, { address, fc, count }) {
  const buf = Buffer.from(bytes || []);
  if (buf.length === 0) return { kind: 'none' };
  if (buf.every((b) => b === 0xff)) return { kind: 'all-ff' };
  if (buf.every((b) => b === 0x00)) return { kind: 'all-00' };
  const mine = findReply(buf, { address, fc, count });
  if (mine) return { kind: mine.exception === null ? 'reply' : 'exception', ...mine };
  const inv = findReply(invert(buf), { address, fc, count });
  if (inv) return { kind: 'inverted', ...inv };
  const replyLen = 5 + 2 * count;
  for (let i = 0; i + 5 <= buf.length; i++) {
    if (buf[i] !== address) continue;
    const tail = buf.length - i;
    if ((buf[i + 1] === fc && (tail === replyLen || (tail > replyLen && i === 0))) || (buf[i + 1] === (fc | 0x80) && tail === 5)) {
      return { kind: 'bad-crc', start: i, frame: buf.subarray(i, buf[i + 1] === fc ? i + replyLen : i + 5) };
    }
  }
  const other = findReply(buf, { address: null, fc, count });
  if (other) return { kind: 'other-unit', ...other };
  const text = asText(buf);
  if (text) return { kind: 'text', ...text };
  return { kind: 'garbage' };
}

module.exports = {
  crc16,
  withCrc,
  crcValid,
  hex,
  readRequest,
  profileRead,
  findReply,
  classify,
  asText,
  parseReportLine,
  invert,
  containsCrcFrame,
  CELSIUS_UTF8,
  CELSIUS_GB2312,
};
