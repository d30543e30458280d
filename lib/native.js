'use strict';
// Loads the compiled addon and explains what to do when it is missing.
const path = require('node:path');
const errors = require('./errors');
const v = require('./validate');

const root = path.join(__dirname, '..');
const candidates = [
  process.env.FIELDLINK_ADDON,
  path.join(root, 'build', 'Release', 'fieldlink.node'),
  path.join(root, 'build', 'Debug', 'fieldlink.node'),
].filter(Boolean);

let addon;
const failures = [];
for (const file of candidates) {
  try {
    addon = require(file);
    break;
  } catch (err) {
    failures.push(`${file}: ${err.message.split('\n')[0]}`);
  }
}

if (!addon) {
  const msg = [
    'fieldlink: the native addon could not be loaded.',
    ...failures.map((f) => `  tried ${f}`),
    'Possible fixes:',
    '  - build it: npm run build (needs g++, cmake, libasio-dev, libserialport-dev: bash scripts/setup.sh installs them)',
    '  - after a Node.js upgrade: npm rebuild fieldlink',
  ].join('\n');
  throw new Error(msg);
}

addon.setErrorFactory(errors.fromNative);

// FIELDLINK_SPIN_US: the engine's adaptive spin window in µs (0 turns it off); see
// configureEngine() in lib/engine.js and docs/performance.md.
const spin = process.env.FIELDLINK_SPIN_US;
if (spin !== undefined && spin !== '') {
  addon.engineOptions({ spinMicros: v.integer('FIELDLINK_SPIN_US', /^\d+$/.test(spin) ? Number(spin) : spin, 0, 10000) });
}

module.exports = addon;
