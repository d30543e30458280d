'use strict';
// Number helpers the simulators share when they turn physical values into register units.

/** Round half away from zero, tolerant of binary fractions (54.6 * 10 -> 546, 1.005 * 100 -> 101). */
function roundScaled(value, scale) {
  const a = Math.abs(value * scale);
  const r = Math.round(a + 1e-7);
  return value < 0 ? -r : r;
}

function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/** A RangeError naming the value unless v is a finite number in lo..hi. */
function checkNumber(name, v, lo, hi) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${name} must be a number in ${lo}..${hi} (got ${v})`);
  }
}

module.exports = { roundScaled, clamp, checkNumber };
