'use strict';

// Byte-level helpers for the Outback MATE bus, written from docs/protocols/mate.md §4-11 for the
// device simulator (independently of native/core/mate, so that each side checks the other).
// Encoders take engineering units (volts, amps, kWh ...) and throw RangeError for values a
// field cannot hold; decoders are their exact inverse and are used by the simulator's own
// logs and by the tests.

const COMMAND_LENGTH = 8;

const CMD = Object.freeze({
  INC: 0x00, // mate.md §5, the sources disagree: polarity disputed; the simulator never changes a value for it
  DEC: 0x01,
  READ: 0x02,
  WRITE: 0x03,
  STATUS: 0x04,
  LOG: 0x16,
});

const CMD_NAMES = Object.freeze({
  0x00: 'inc', 0x01: 'dec', 0x02: 'read', 0x03: 'write', 0x04: 'status', 0x16: 'log',
});

const DEVICE_TYPE = Object.freeze({ none: 0, hub: 1, fx: 2, mx: 3, dc: 4 });
const DEVICE_NAMES = Object.freeze({ 0: 'none', 1: 'hub', 2: 'fx', 3: 'mx', 4: 'dc' });

function hex(buf) {
  return Buffer.from(buf).toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
}

/** mate.md §4: plain 16-bit sum of buf[start..end) (the 9th bit is never part of it). */
function checksum(buf, start = 0, end = buf.length) {
  let s = 0;
  for (let i = start; i < end; i++) s += buf[i];
  return s & 0xffff;
}

/** byte0 + payload + checksum(BE) over both. */
function frame(byte0, payload) {
  const n = payload ? payload.length : 0;
  const out = Buffer.alloc(1 + n + 2);
  out[0] = byte0 & 0xff;
  if (n) Buffer.from(payload).copy(out, 1);
  out.writeUInt16BE(checksum(out, 0, 1 + n), 1 + n);
  return out;
}

/** True when the frame's last two bytes are the sum of the bytes before them. */
function checksumOk(buf, start = 0, length = buf.length - start) {
  if (length < 3) return false;
  const end = start + length;
  return checksum(buf, start, end - 2) === ((buf[end - 2] << 8) | buf[end - 1]);
}

/** The 8-byte command [port][type][address BE][value BE][checksum BE]. */
function buildCommand(port, type, address, value) {
  const b = Buffer.alloc(COMMAND_LENGTH);
  b[0] = port & 0xff;
  b[1] = type & 0xff;
  b.writeUInt16BE(address & 0xffff, 2);
  b.writeUInt16BE(value & 0xffff, 4);
  b.writeUInt16BE(checksum(b, 0, 6), 6);
  return b;
}

/** { port, type, typeName, address, value } from 8 command bytes, or null if the checksum is wrong. */
function parseCommand(buf, start = 0) {
  if (buf.length - start < COMMAND_LENGTH || !checksumOk(buf, start, COMMAND_LENGTH)) return null;
  const type = buf[start + 1];
  return {
    port: buf[start],
    type,
    typeName: CMD_NAMES[type] || `0x${type.toString(16).padStart(2, '0')}`,
    address: buf.readUInt16BE(start + 2),
    value: buf.readUInt16BE(start + 4),
  };
}

/** Round half away from zero, tolerant of binary fractions (9.9 * 10 -> 99, -0.14 * 100 -> -14). */
function scaled(value, scale) {
  const a = Math.abs(value * scale);
  const r = Math.round(a + 1e-7);
  return value < 0 ? -r : r;
}

function need(name, value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number (got ${value})`);
  }
}

/** value * scale as an integer in lo..hi, or RangeError naming the field. */
function fit(name, value, scale, lo, hi) {
  need(name, value);
  const r = scaled(value, scale);
  if (r < lo || r > hi) {
    throw new RangeError(`${name} = ${value} does not fit its field (${lo / scale}..${hi / scale})`);
  }
  return r;
}

function int16(u) {
  return u & 0x8000 ? u - 0x10000 : u;
}

// ---------------------------------------------------------------------------------------
// MX / FLEXmax status page (mate.md §9): 13 bytes after byte0 = 03.

/**
 * encodeMxStatus({ pvCurrent, batteryCurrent, kwh, ah, ahValid, auxMode, auxOn, chargerMode,
 *                  errors, batteryVoltage, pvVoltage }) -> 13 bytes
 *   pvCurrent       whole amps 0..255 (byte 1 = A XOR 0x80)
 *   batteryCurrent  amps with tenths 0..255.9 (byte 2 whole amps XOR 0x80, byte0 low nibble tenths)
 *   kwh             daily kWh, tenths, int16 (bytes 3 and 8)
 *   ah              daily Ah 0..2047: bits 10..8 in byte0 bits 6..4, low 8 bits in byte 4
 *   ahValid         byte0 bit 7 (the MATE hides Ah when it is 0); default true
 */
function encodeMxStatus(s) {
  const b = Buffer.alloc(13);
  const pv = fit('pvCurrent', s.pvCurrent, 1, 0, 255);
  const bat = fit('batteryCurrent', s.batteryCurrent, 10, 0, 2559);
  const kwh = fit('kwh', s.kwh, 10, -32768, 32767) & 0xffff;
  const ah = fit('ah', s.ah, 1, 0, 2047);
  const auxMode = fit('auxMode', s.auxMode == null ? 0 : s.auxMode, 1, 0, 63);
  b[0] = (s.ahValid === false ? 0 : 0x80) | ((ah >> 8) & 0x07) << 4 | (bat % 10);
  b[1] = (pv ^ 0x80) & 0xff;
  b[2] = (Math.floor(bat / 10) ^ 0x80) & 0xff;
  b[3] = kwh >> 8;
  b[4] = ah & 0xff;
  b[5] = auxMode | (s.auxOn ? 0x40 : 0);
  b[6] = fit('chargerMode', s.chargerMode, 1, 0, 255);
  b[7] = fit('errors', s.errors == null ? 0 : s.errors, 1, 0, 255);
  b[8] = kwh & 0xff;
  b.writeUInt16BE(fit('batteryVoltage', s.batteryVoltage, 10, 0, 0xffff), 9);
  b.writeUInt16BE(fit('pvVoltage', s.pvVoltage, 10, 0, 0xffff), 11);
  return b;
}

function decodeMxStatus(p) {
  if (p.length !== 13) throw new RangeError(`an MX status page has 13 bytes (got ${p.length})`);
  const tenths = p[0] & 0x0f;
  return {
    ahValid: (p[0] & 0x80) !== 0,
    pvCurrent: p[1] ^ 0x80,
    batteryCurrent: ((p[2] ^ 0x80) * 10 + tenths) / 10,
    kwh: int16((p[3] << 8) | p[8]) / 10,
    ah: ((p[0] & 0x70) << 4) | p[4],
    auxMode: p[5] & 0x3f,
    auxOn: (p[5] & 0x40) !== 0,
    chargerMode: p[6],
    errors: p[7],
    batteryVoltage: p.readUInt16BE(9) / 10,
    pvVoltage: p.readUInt16BE(11) / 10,
  };
}

// ---------------------------------------------------------------------------------------
// MX log page (mate.md §9): 14 bytes after byte0 = 16, bit-packed.

/**
 * encodeLogPage({ peakAmps, batteryMax, kwh, peakPvVoltage, absorbMinutes, floatMinutes, ah,
 *                 batteryMin, peakKw, day, reserved12 }) -> 14 bytes
 *
 * reserved12: byte 12 bits 1..0, which the table does not assign (the capture's day-127 page
 * has 0b10 there); carried so that encodeLogPage(decodeLogPage(b)) gives b back exactly.
 *
 * The exact inverse of the mate.md §9 table. The table gives byte 11 bits 1..0 to two fields at
 * once (battery-min bits 11..10 and peak-kW bits 7..6), so a page is representable only when
 * those bits agree; otherwise this throws RangeError (see logPageRepresentable()).
 */
function encodeLogPage(p) {
  const amps = fit('peakAmps', p.peakAmps, 10, 0, 1023);
  const vmax = fit('batteryMax', p.batteryMax, 10, 0, 1023);
  const kwh = fit('kwh', p.kwh, 10, 0, 4095);
  const pv = fit('peakPvVoltage', p.peakPvVoltage, 1, 0, 255);
  const absorb = fit('absorbMinutes', p.absorbMinutes, 1, 0, 4095);
  const flt = fit('floatMinutes', p.floatMinutes, 1, 0, 4095);
  const ah = fit('ah', p.ah, 1, 0, 16383);
  const vmin = fit('batteryMin', p.batteryMin, 10, 0, 4095);
  const watts = fit('peakKw', p.peakKw, 1000, 0, 16383);
  const day = fit('day', p.day == null ? 0 : p.day, 1, 0, 255);
  const reserved = fit('reserved12', p.reserved12 == null ? 0 : p.reserved12, 1, 0, 3);
  if (((watts >> 6) & 0x03) !== ((vmin >> 10) & 0x03)) {
    throw new RangeError(`peakKw ${p.peakKw} and batteryMin ${p.batteryMin} need different values in byte 11 bits 1..0 `
      + '(the log page table of the protocol notes gives those bits to both fields)');
  }
  const b = Buffer.alloc(14);
  b[0] = amps & 0xff;
  b[1] = ((amps >> 8) & 0x03) | ((vmax & 0x3f) << 2);
  b[2] = ((vmax >> 6) & 0x0f) | ((kwh & 0x0f) << 4);
  b[3] = (kwh >> 4) & 0xff;
  b[4] = pv;
  b[5] = absorb & 0xff;
  b[6] = ((absorb >> 8) & 0x0f) | ((flt & 0x0f) << 4);
  b[7] = (flt >> 4) & 0xff;
  b[8] = ah & 0xff;
  b[9] = ((ah >> 8) & 0x3f) | ((vmin & 0x03) << 6);
  b[10] = (vmin >> 2) & 0xff;
  b[11] = (watts >> 6) & 0xff; // bits 1..0 are also battery-min bits 11..10 (checked above)
  b[12] = ((watts & 0x3f) << 2) | reserved; // bits 1..0: not in the table
  b[13] = day;
  return b;
}

/** The mate.md §9 table, read literally. */
function decodeLogPage(b) {
  if (b.length !== 14) throw new RangeError(`an MX log page has 14 bytes (got ${b.length})`);
  return {
    peakAmps: (b[0] | ((b[1] & 0x03) << 8)) / 10,
    batteryMax: (((b[1] & 0xfc) >> 2) | ((b[2] & 0x0f) << 6)) / 10,
    kwh: (((b[2] & 0xf0) >> 4) | (b[3] << 4)) / 10,
    peakPvVoltage: b[4],
    absorbMinutes: b[5] | ((b[6] & 0x0f) << 8),
    floatMinutes: ((b[6] & 0xf0) >> 4) | (b[7] << 4),
    ah: b[8] | ((b[9] & 0x3f) << 8),
    batteryMin: (((b[9] & 0xc0) >> 6) | (b[10] << 2) | ((b[11] & 0x03) << 10)) / 10,
    peakKw: (((b[12] & 0xfc) >> 2) | (b[11] << 6)) / 1000,
    day: b[13],
    reserved12: b[12] & 0x03,
  };
}

/** True when encodeLogPage can carry both values (see the byte-11 overlap above). */
function logPageRepresentable(peakKw, batteryMin) {
  return ((scaled(peakKw, 1000) >> 6) & 0x03) === ((scaled(batteryMin, 10) >> 10) & 0x03);
}

// ---------------------------------------------------------------------------------------
// FX status page (mate.md §10): 13 bytes after byte0 = 02.

const FX_MISC_230V = 0x01;
const FX_MISC_AUX = 0x80;

/**
 * encodeFxStatus({ inverterCurrent, chargerCurrent, buyCurrent, acInputVoltage, acOutputVoltage,
 *                  sellCurrent, operationalMode, errors, acMode, batteryVoltage, is230V, auxOn,
 *                  miscReserved, warnings }) -> 13 bytes
 * Voltages/currents are real values; on a 230 V unit the bytes carry volts / 2 and amps * 2
 * (the decoder multiplies voltages by 2 and divides currents by 2). miscReserved: extra bits
 * 1..6 of byte 11 (the capture shows bit 3 set).
 */
function encodeFxStatus(s) {
  const hv = !!s.is230V;
  const vs = hv ? 0.5 : 1;
  const as = hv ? 2 : 1;
  const b = Buffer.alloc(13);
  b[0] = fit('inverterCurrent', s.inverterCurrent || 0, as, 0, 255);
  b[1] = fit('chargerCurrent', s.chargerCurrent || 0, as, 0, 255);
  b[2] = fit('buyCurrent', s.buyCurrent || 0, as, 0, 255);
  b[3] = fit('acInputVoltage', s.acInputVoltage || 0, vs, 0, 255);
  b[4] = fit('acOutputVoltage', s.acOutputVoltage || 0, vs, 0, 255);
  b[5] = fit('sellCurrent', s.sellCurrent || 0, as, 0, 255);
  b[6] = fit('operationalMode', s.operationalMode, 1, 0, 255);
  b[7] = fit('errors', s.errors || 0, 1, 0, 255);
  b[8] = fit('acMode', s.acMode, 1, 0, 255);
  b.writeInt16BE(fit('batteryVoltage', s.batteryVoltage, 10, -32768, 32767), 9);
  const reserved = fit('miscReserved', s.miscReserved || 0, 1, 0, 255) & 0x7e;
  b[11] = (hv ? FX_MISC_230V : 0) | (s.auxOn ? FX_MISC_AUX : 0) | reserved;
  b[12] = fit('warnings', s.warnings || 0, 1, 0, 255);
  return b;
}

function decodeFxStatus(p) {
  if (p.length !== 13) throw new RangeError(`an FX status page has 13 bytes (got ${p.length})`);
  const hv = (p[11] & FX_MISC_230V) !== 0;
  const v = (x) => (hv ? x * 2 : x);
  const a = (x) => (hv ? x / 2 : x);
  return {
    inverterCurrent: a(p[0]),
    chargerCurrent: a(p[1]),
    buyCurrent: a(p[2]),
    acInputVoltage: v(p[3]),
    acOutputVoltage: v(p[4]),
    sellCurrent: a(p[5]),
    operationalMode: p[6],
    errors: p[7],
    acMode: p[8],
    batteryVoltage: p.readInt16BE(9) / 10,
    is230V: hv,
    auxOn: (p[11] & FX_MISC_AUX) !== 0,
    miscReserved: p[11] & 0x7e,
    warnings: p[12],
  };
}

// ---------------------------------------------------------------------------------------
// FLEXnet DC status (mate.md §11): pages 0x0A..0x0F, 13 bytes each, read as one 78-byte block.

const DC_BLOCK_LENGTH = 78;
const DC_FIRST_PAGE = 0x0a;
const DC_LAST_PAGE = 0x0f;

// [name, block offset, kind, scale]; kinds: i16 (signed BE), u8, bytes(n)
const DC_LAYOUT = Object.freeze([
  ['shuntACurrent', 0, 'i16', 10],
  ['shuntBCurrent', 2, 'i16', 10],
  ['shuntCCurrent', 4, 'i16', 10],
  ['batteryVoltage', 6, 'i16', 10],
  ['soc', 8, 'u8', 1],
  ['shuntAPower', 9, 'i16', 100],
  ['shuntBPower', 11, 'i16', 100],
  ['shuntCPower', 13, 'i16', 100],
  ['unknownB2', 15, 'u8', 1],
  ['flags', 16, 'u8', 1],
  ['inCurrent', 17, 'i16', 10],
  ['outCurrent', 19, 'i16', 10],
  ['batteryCurrent', 21, 'i16', 10],
  ['inPower', 23, 'i16', 100],
  ['outPower', 25, 'i16', 100], // B.12 + C.0: straddles the pages
  ['batteryPower', 27, 'i16', 100],
  ['inAh', 29, 'i16', 1],
  ['outAh', 31, 'i16', 1],
  ['batteryAh', 33, 'i16', 1],
  ['inKwh', 35, 'i16', 100],
  ['outKwh', 37, 'i16', 100],
  ['batteryKwh', 39, 'i16', 100],
  ['daysSinceFull', 41, 'i16', 10],
  ['unknownD', 43, 'bytes', 9],
  ['unknownE', 52, 'bytes', 3],
  ['shuntAKwh', 55, 'i16', 100],
  ['shuntBKwh', 57, 'i16', 100],
  ['shuntCKwh', 59, 'i16', 100],
  ['shuntAAh', 61, 'i16', 1],
  ['shuntBAh', 63, 'i16', 1],
  ['shuntCAh', 65, 'i16', 1],
  ['minSoc', 67, 'u8', 1],
  ['netAh', 68, 'i16', 1],
  ['netKwh', 70, 'i16', 100],
  ['unknownF7', 72, 'u8', 1],
  ['unusedF', 73, 'bytes', 5],
]);

/** The 78-byte block from named values (missing numbers are 0, missing byte runs are zeros). */
function encodeDcBlock(s) {
  const b = Buffer.alloc(DC_BLOCK_LENGTH);
  for (const [name, off, kind, scale] of DC_LAYOUT) {
    const v = s[name];
    if (kind === 'bytes') {
      if (v == null) continue;
      const src = Buffer.from(v);
      if (src.length !== scale) throw new RangeError(`${name} must be ${scale} bytes (got ${src.length})`);
      src.copy(b, off);
    } else if (kind === 'u8') {
      b[off] = fit(name, v == null ? 0 : v, scale, 0, 255);
    } else {
      b.writeInt16BE(fit(name, v == null ? 0 : v, scale, -32768, 32767), off);
    }
  }
  return b;
}

function decodeDcBlock(b) {
  if (b.length !== DC_BLOCK_LENGTH) throw new RangeError(`a FLEXnet DC block has 78 bytes (got ${b.length})`);
  const out = {};
  for (const [name, off, kind, scale] of DC_LAYOUT) {
    if (kind === 'bytes') out[name] = Buffer.from(b.subarray(off, off + scale));
    else if (kind === 'u8') out[name] = b[off];
    else out[name] = b.readInt16BE(off) / scale;
  }
  return out;
}

/** The 13-byte payload of DC status page 0x0A..0x0F from a 78-byte block. */
function dcPage(block, page) {
  const i = page - DC_FIRST_PAGE;
  if (!(i >= 0 && i < 6)) throw new RangeError(`FLEXnet DC status pages are 0x0A..0x0F (got ${page})`);
  return Buffer.from(block.subarray(i * 13, i * 13 + 13));
}

// ---------------------------------------------------------------------------------------
// Time/date sync registers 0x4004/0x4005 (mate.md §8) and the battery-temperature mapping.

function encodeTime(hours, minutes, seconds) {
  fit('hours', hours, 1, 0, 31);
  fit('minutes', minutes, 1, 0, 63);
  fit('seconds', seconds, 1, 0, 63);
  return ((hours & 0x1f) << 11) | ((minutes & 0x3f) << 5) | ((seconds >> 1) & 0x1f);
}

/** { hours, minutes, seconds, valid } (seconds are even: the register holds seconds / 2). */
function decodeTime(raw) {
  const hours = (raw >> 11) & 0x1f;
  const minutes = (raw >> 5) & 0x3f;
  const seconds = (raw & 0x1f) * 2;
  return { raw, hours, minutes, seconds, valid: hours < 24 && minutes < 60 && seconds < 60 };
}

function encodeDate(year, month, day) {
  fit('year', year, 1, 2000, 2127);
  fit('month', month, 1, 0, 15);
  fit('day', day, 1, 0, 31);
  return (((year - 2000) & 0x7f) << 9) | ((month & 0x0f) << 5) | (day & 0x1f);
}

/** { year, month, day, valid } with year = 2000 + bits 15..9 (the base is unverified, mate.md §14). */
function decodeDate(raw) {
  const year = 2000 + ((raw >> 9) & 0x7f);
  const month = (raw >> 5) & 0x0f;
  const day = raw & 0x1f;
  let valid = month >= 1 && month <= 12 && day >= 1;
  if (valid) valid = day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
  return { raw, year, month, day, valid };
}

/** mate.md §8: DC °C from the raw battery temperature relayed by the MATE (approximate). */
function temperatureFromRaw(raw) {
  return Math.round(-0.3576 * raw + 70.1);
}

/** The raw value whose mapping is closest to celsius (inverse of temperatureFromRaw). */
function rawFromTemperature(celsius) {
  return Math.max(0, Math.min(255, Math.round((70.1 - celsius) / 0.3576)));
}

module.exports = {
  COMMAND_LENGTH,
  CMD,
  CMD_NAMES,
  DEVICE_TYPE,
  DEVICE_NAMES,
  DC_LAYOUT,
  DC_BLOCK_LENGTH,
  DC_FIRST_PAGE,
  DC_LAST_PAGE,
  hex,
  checksum,
  checksumOk,
  frame,
  buildCommand,
  parseCommand,
  scaled,
  int16,
  encodeMxStatus,
  decodeMxStatus,
  encodeLogPage,
  decodeLogPage,
  logPageRepresentable,
  encodeFxStatus,
  decodeFxStatus,
  encodeDcBlock,
  decodeDcBlock,
  dcPage,
  encodeTime,
  decodeTime,
  encodeDate,
  decodeDate,
  temperatureFromRaw,
  rawFromTemperature,
};
