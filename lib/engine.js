'use strict';
// The I/O engine shared by every bus and connection in the process (docs/ARCHITECTURE.md,
// "Threads"). One setting today: the adaptive spin window.
const native = require('./native');
const v = require('./validate');

/**
 * configureEngine({ spinMicros }) -> engine stats.
 * spinMicros (0..10000, default 250; 0 turns spinning off): when three in four recent idle periods of
 * the engine thread were shorter than this, it polls for up to this long before sleeping, so
 * a reply or the next request does not pay a thread wake-up. It turns itself off when idle
 * periods are longer (a serial wire at 9,600 baud, most LAN devices, a slow poll), so it costs nothing there.
 * On a single-CPU machine the default is 0. The environment variable FIELDLINK_SPIN_US sets
 * the same at load time.
 */
function configureEngine(options = {}) {
  const o = v.plainObject('options', options);
  v.knownKeys('options', o, ['spinMicros']);
  if (o.spinMicros !== undefined) v.integer('spinMicros', o.spinMicros, 0, 10000);
  return native.engineOptions(o.spinMicros === undefined ? {} : { spinMicros: o.spinMicros });
}

/** Counters of the engine loop: { spinMicros, idlePeriods, spins, spinHits, sleeps, hitRate }. */
function engineStats() {
  return native.engineOptions();
}

module.exports = { configureEngine, engineStats };
