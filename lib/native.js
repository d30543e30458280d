'use strict';
// Loads the compiled addon and explains what to do when it is missing.
const errors = require('./errors');
const v = require('./validate');

const target = require('./native-target');

// FIELDLINK_ADDON, then a source build (build/Release, build/Debug), then the prebuilt addon
// for this platform, arch, libc and ARM version (prebuilds/<target>/); see lib/native-target.js.
const info = target.describe();
let addon;
const failures = [];
for (const c of target.candidates(info)) {
  try {
    addon = require(c.file);
    break;
  } catch (err) {
    failures.push({ ...c, error: err.message.split('\n')[0] });
  }
}

if (!addon) {
  const err = new Error(target.loadErrorMessage(info, failures));
  err.code = 'FIELDLINK_NO_ADDON';
  throw err;
}

addon.setErrorFactory(errors.fromNative);

// FIELDLINK_SPIN_US: the engine's adaptive spin window in µs (0 turns it off); see
// configureEngine() in lib/engine.js and docs/performance.md.
const spin = process.env.FIELDLINK_SPIN_US;
if (spin !== undefined && spin !== '') {
  addon.engineOptions({ spinMicros: v.integer('FIELDLINK_SPIN_US', /^\d+$/.test(spin) ? Number(spin) : spin, 0, 10000) });
}

module.exports = addon;
