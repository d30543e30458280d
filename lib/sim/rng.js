'use strict';
// The simulators' one pseudo-random source: xorshift32, small and deterministic, so a seed
// (--seed N, { seed }) replays the same drift, made-up history and garbage bytes.

/** xorshift32. nextUint32() gives 0..2^32-1, next() a float in [0, 1), bytes(n) a Buffer. */
class Rng {
  constructor(seed) {
    // xorshift stays at 0 forever once it is there: a zero seed takes a fixed odd one.
    this.state = (Number(seed) >>> 0) || 0x2545f491;
  }

  nextUint32() {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }

  next() {
    return this.nextUint32() / 0x100000000;
  }

  bytes(n) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.nextUint32() & 0xff;
    return b;
  }
}

module.exports = { Rng };
