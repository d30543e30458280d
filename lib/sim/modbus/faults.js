'use strict';

// How a simulated Modbus unit misbehaves: the protocol faults and the wiring faults a test
// switches on with setFault(), and what each does to a correct reply.

const { withCrc, crcOk } = require('./crc');

const FAULT_MODES = Object.freeze([
  'silent', 'bad-crc', 'garbage', 'slow', 'exception', 'wrong-unit', 'short', 'leading-garbage',
]);

// Wiring faults: what the master's receiver delivers when the cable to a unit is wrong. They
// are kept apart from FAULT_MODES (protocol faults) but set the same way, with setFault().
//   swapped-ab        A and B reversed: the correct reply with every byte XOR 0xFF. This models
//                     the receive side only (the unit is assumed to have understood the
//                     request); on a real bus an inverted line also turns start/stop bits over,
//                     and the unit usually cannot decode the inverted request at all, so a real
//                     swap most often shows as silence (see lib/diagnostics/modbus.js).
//   floating-ground   no common ground / no bias: as many 0xFF bytes as the reply had
//   shorted-ab        A shorted to B: as many 0x00 bytes as the reply had
//   noise             interference: with probability opts.rate (default 1) one bit of the
//                     reply flips, somewhere after the address and function bytes, so the
//                     frame is still recognisably this unit's but its CRC fails
//   ascii-autoreport  the unit was left in the XY-MD02 "ordinary protocol" auto-report mode
//                     (docs/protocols/modbus.md §8): it ignores Modbus and, every opts.intervalMs
//                     (default 1000, the manual's HZ:1), sends a line such as
//                     "27.4℃,67.7%\r\n" unsolicited to every client at its baud rate.
//                     opts.encoding: 'utf-8' (default; ℃ is U+2103 = E2 84 83) or 'gb2312'
//                     (℃ = A1 E6, what a GB2312/GBK firmware would send; the manual does not
//                     say which, see autoReportLine()).
const WIRING_FAULT_MODES = Object.freeze([
  'swapped-ab', 'floating-ground', 'shorted-ab', 'noise', 'ascii-autoreport',
]);
const ALL_FAULT_MODES = Object.freeze([...FAULT_MODES, ...WIRING_FAULT_MODES]);

/** Turn a correct reply into what a faulty unit sends. Returns { bytes, delayMs }. */
function applyFault(unit, mode, opts, clean) {
  let delayMs = opts.delayMs == null ? 0 : Number(opts.delayMs);
  let bytes = clean;
  switch (mode) {
    case null:
    case 'exception':
      break;
    case 'slow':
      if (opts.delayMs == null) delayMs = 1000;
      break;
    case 'bad-crc':
      bytes = Buffer.from(clean);
      bytes[bytes.length - 2] ^= 0xff;
      bytes[bytes.length - 1] ^= 0xff;
      break;
    case 'garbage':
      do bytes = unit.rng.bytes(clean.length); while (crcOk(bytes) || bytes.equals(clean));
      break;
    case 'wrong-unit': {
      const other = opts.unit == null ? (clean[0] % 247) + 1 : opts.unit;
      const body = Buffer.from(clean.subarray(0, clean.length - 2));
      body[0] = other;
      bytes = withCrc(body);
      break;
    }
    case 'short': {
      const n = opts.length == null ? Math.max(1, clean.length - 3) : Math.max(0, Math.min(opts.length, clean.length - 1));
      bytes = Buffer.from(clean.subarray(0, n));
      break;
    }
    case 'leading-garbage': {
      const junk = opts.bytes != null ? Buffer.from(opts.bytes) : unit.rng.bytes(opts.count == null ? 3 : opts.count);
      bytes = Buffer.concat([junk, clean]);
      break;
    }
    case 'swapped-ab':
      bytes = Buffer.from(clean.map((b) => b ^ 0xff));
      break;
    case 'floating-ground':
      bytes = Buffer.alloc(clean.length, 0xff);
      break;
    case 'shorted-ab':
      bytes = Buffer.alloc(clean.length, 0x00);
      break;
    case 'noise': {
      const rate = opts.rate == null ? 1 : opts.rate;
      if (clean.length > 2 && unit.rng.next() < rate) {
        bytes = Buffer.from(clean);
        const at = 2 + Math.floor(unit.rng.next() * (bytes.length - 2));
        bytes[at] ^= 1 << Math.floor(unit.rng.next() * 8);
      }
      break;
    }
    default:
      break;
  }
  return { bytes, delayMs };
}

module.exports = { FAULT_MODES, WIRING_FAULT_MODES, ALL_FAULT_MODES, applyFault };
