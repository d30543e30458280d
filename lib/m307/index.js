'use strict';
// Pure M307 decoders (from native/core/m307) for callers who hold raw bytes.
const native = require('../native');

const m307 = {
  decodeStatus: (buf60) => native.m307.decodeStatus(buf60),
  decodeClock: (buf60) => native.m307.decodeClock(buf60),
  decodeLogRecord: (buf15, resolution = 0.1) => native.m307.decodeLogRecord(buf15, resolution),
  decodeUserRecord: (buf60, n) => native.m307.decodeFields(buf60, n),
  bcdToInt: (b) => native.m307.bcdToInt(b),
  intToBcd: (n) => native.m307.intToBcd(n),
  decodeHour: (b) => native.m307.decodeHour(b),
  encodeHour: (h) => native.m307.encodeHour(h),
};

module.exports = { m307 };
