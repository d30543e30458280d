'use strict';

// Byte-level helpers for the M307 Temperature Guard simulator (docs/protocols/m307.md).
// Written from the protocol notes only; native/core/m307 is a separate reading of the same
// notes, so that each side checks the other.

const RECORD_SIZE = 60; // every request and every ordinary reply (m307.md §2)
const LOG_RECORD_SIZE = 15; // one log entry (m307.md §9)
const LOG_CAPACITY = 4000;
const LOG_END = Buffer.from('THE-END', 'ascii'); // copied into replies, never mutated
const USER_RECORDS = 6; // records 0..5 (the guide's "four" is a typo, m307.md §3)

// Command prefixes (bytes 0..2); byte 3 selects the variant (m307.md §3).
const PREFIX = Object.freeze({
  status: [0x3f, 0xcd, 0xdc],
  readRecord: [0xaa, 0xbb, 0xcc],
  writeRecord: [0xdd, 0xcc, 0xbb],
  clock: [0xde, 0xca, 0xde],
});

const COMMAND_NAMES = Object.freeze([
  'status', 'readRecord', 'writeRecord', 'setClock', 'readClock', 'readLog', 'unknown',
]);

function hasPrefix(buf, p) {
  return buf[0] === p[0] && buf[1] === p[1] && buf[2] === p[2];
}

/**
 * What a 60-byte request asks for: { command, record? }. command is one of COMMAND_NAMES;
 * anything not in the m307.md §3 table (including records 6..255) is 'unknown'.
 */
function classify(req) {
  const b3 = req[3];
  if (hasPrefix(req, PREFIX.status)) return { command: b3 === 0x00 ? 'status' : 'unknown' };
  if (hasPrefix(req, PREFIX.readRecord)) {
    return b3 < USER_RECORDS ? { command: 'readRecord', record: b3 } : { command: 'unknown' };
  }
  if (hasPrefix(req, PREFIX.writeRecord)) {
    return b3 < USER_RECORDS ? { command: 'writeRecord', record: b3 } : { command: 'unknown' };
  }
  if (hasPrefix(req, PREFIX.clock)) {
    if (b3 === 0x00) return { command: 'setClock' };
    if (b3 === 0x02) return { command: 'readClock' };
    if (b3 === 0x04) return { command: 'readLog' };
  }
  return { command: 'unknown' };
}

/** The four command bytes of "read user record n" (also the header of a write's reply). */
function readRecordCommand(n) {
  return [...PREFIX.readRecord, n];
}

// ---- BCD and the packed hour byte (m307.md §8) --------------------------------------------------

function toBcd(n) {
  if (!Number.isInteger(n) || n < 0 || n > 99) throw new RangeError(`BCD value must be 0..99 (got ${n})`);
  return ((Math.floor(n / 10)) << 4) | (n % 10);
}

/** The value of a BCD byte, or null if either nibble is not a decimal digit. */
function fromBcd(b) {
  const hi = (b >> 4) & 0x0f;
  const lo = b & 0x0f;
  if (hi > 9 || lo > 9) return null;
  return hi * 10 + lo;
}

/**
 * Hour 0..23 as the device reports it: bit6 = 1 (12-hour mode), bit5 = PM,
 * bits4..0 = BCD hour 1..12. 00:xx is 12 AM (0x52), 12:xx is 12 PM (0x72).
 */
function packHour(h24) {
  if (!Number.isInteger(h24) || h24 < 0 || h24 > 23) throw new RangeError(`hour must be 0..23 (got ${h24})`);
  const h12 = h24 % 12 === 0 ? 12 : h24 % 12;
  return 0x40 | (h24 >= 12 ? 0x20 : 0) | toBcd(h12);
}

/**
 * Hour 0..23 from a request's hour byte, or null. The guide asks for a 24-hour BCD value
 * ("00-24"; 24 is taken as 00); a byte with bit6 set is read as a packed 12-hour byte.
 */
function unpackHour(b) {
  if (b & 0x80) return null;
  if (b & 0x40) {
    const h12 = fromBcd(b & 0x1f);
    if (h12 == null || h12 < 1 || h12 > 12) return null;
    return (h12 % 12) + (b & 0x20 ? 12 : 0);
  }
  const h = fromBcd(b & 0x3f);
  if (h == null || h > 24) return null;
  return h % 24;
}

// ---- device wall clock --------------------------------------------------------------------------
// The device clock is a plain wall clock with no time zone. It is held as milliseconds whose
// UTC fields are the device's fields, so host time zones and DST never enter into it.

const MINUTE = 60000;

/** Fields of a device time: day of week 1..7 with 1 = Sunday. */
function clockFields(ms) {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    date: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    dow: d.getUTCDay() + 1,
  };
}

function clockText(ms) {
  const f = clockFields(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${f.year}-${p(f.month)}-${p(f.date)} ${p(f.hour)}:${p(f.minute)}:${p(f.second)}`;
}

/**
 * A device wall-clock time from: 'YYYY-MM-DD HH:MM[:SS]' (or with a 'T'), a Date (its local
 * fields, i.e. what a clock on the wall here shows), or a number (already in device ms).
 */
function parseClock(value) {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError('clock must be a finite number');
    return value;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError('clock is an invalid Date');
    return Date.UTC(value.getFullYear(), value.getMonth(), value.getDate(), value.getHours(),
      value.getMinutes(), value.getSeconds(), value.getMilliseconds());
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(value));
  if (!m) throw new RangeError(`clock must look like "2024-05-01 13:45:00" (got ${JSON.stringify(value)})`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x == null ? 0 : Number(x)));
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const f = clockFields(ms);
  if (f.year !== y || f.month !== mo || f.date !== d || f.hour !== h || f.minute !== mi || f.second !== s) {
    throw new RangeError(`clock ${JSON.stringify(value)} is not a valid date and time`);
  }
  return ms;
}

// ---- fixed-width ASCII fields (m307.md §6) ------------------------------------------------------

/** Write str NUL-padded into buf[off .. off+len). */
function writeAscii(buf, off, len, str) {
  const s = String(str);
  if (!/^[\x20-\x7e]*$/.test(s)) throw new RangeError(`text must be printable ASCII (got ${JSON.stringify(s)})`);
  if (s.length > len) throw new RangeError(`text is longer than ${len} characters: ${JSON.stringify(s)}`);
  buf.fill(0x00, off, off + len);
  buf.write(s, off, 'ascii');
}

/** Text of a fixed-width field, up to the first NUL, trailing spaces removed. */
function readAscii(buf, off, len) {
  const field = buf.subarray(off, off + len);
  const end = field.indexOf(0x00);
  return field.subarray(0, end < 0 ? len : end).toString('latin1').replace(/ +$/, '');
}

/** True when a name field holds anything but padding (NUL, space, or erased 0xFF). */
function isNamed(buf, off, len) {
  for (let i = off; i < off + len; i++) {
    const c = buf[i];
    if (c !== 0x00 && c !== 0x20 && c !== 0xff) return true;
  }
  return false;
}

// ---- misc ---------------------------------------------------------------------------------------

function hex(buf) {
  return Buffer.from(buf).toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
}

/** A stable hash of a few integers to [0, 1): the same inputs always give the same value. */
function hashUnit(...ints) {
  let h = 0x811c9dc5;
  for (const x of ints) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000;
}

/**
 * The six date/time bytes of a log entry and of the clock reply, from clockFields(): minute,
 * hour (packHour), day of week, date, month and two-digit year, BCD, at buf[off..off+5].
 */
function writeDateTime(buf, off, f) {
  buf[off] = toBcd(f.minute);
  buf[off + 1] = packHour(f.hour);
  buf[off + 2] = toBcd(f.dow);
  buf[off + 3] = toBcd(f.date);
  buf[off + 4] = toBcd(f.month);
  buf[off + 5] = toBcd(((f.year % 100) + 100) % 100);
}

module.exports = {
  writeDateTime,
  RECORD_SIZE,
  LOG_RECORD_SIZE,
  LOG_CAPACITY,
  LOG_END,
  USER_RECORDS,
  PREFIX,
  COMMAND_NAMES,
  MINUTE,
  classify,
  readRecordCommand,
  toBcd,
  fromBcd,
  packHour,
  unpackHour,
  clockFields,
  clockText,
  parseClock,
  writeAscii,
  readAscii,
  isNamed,
  hex,
  hashUnit,
};
