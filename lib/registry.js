'use strict';
// One bus per port for the whole process: every Node-RED node (and any caller) naming
// the same port shares one link and so one queue. Reference counted (lib/pool.js).
const fs = require('node:fs');
const { ModbusBus, parseTarget } = require('./modbus/bus');
const { createPool } = require('./pool');

function keyFor(target) {
  const t = parseTarget(target);
  if (t.kind === 'tcp') return `tcp://${t.host}:${t.port}`;
  try {
    return fs.realpathSync(t.path);
  } catch {
    return t.path;
  }
}

// Settings that belong to the link: a second user cannot have its own. A setting one side
// leaves to its default is no conflict.
const SETTINGS = ['baudRate', 'parity', 'dataBits', 'stopBits', 'timeout', 'retries', 'interFrameDelay'];
const pool = createPool(SETTINGS, 'open', { differs: (a, b) => a !== undefined && b !== undefined && a !== b });

// The pooled link: the open in flight (or done), given up at once when the last user leaves.
function openLink(target, options) {
  const abort = new AbortController();
  const bus = ModbusBus.open(target, { ...options, signal: abort.signal });
  bus.catch(() => {}); // a failed open is the users' to see, through `bus`
  return {
    options,
    bus,
    async close() {
      abort.abort(); // an open still in progress gives up
      try {
        await (await bus).close();
      } catch {
        /* the open failed or was given up: nothing to close */
      }
    },
  };
}

/**
 * Takes a share of the bus on `target`. Returns { bus: Promise<ModbusBus>, release(), conflict, key }.
 * `conflict` is a message when the bus is already open with other serial settings. A share
 * whose open failed is dropped from the pool, so the next acquire opens afresh.
 */
function acquireModbusBus(target, options = {}) {
  const key = keyFor(target);
  const share = pool.acquire(key, options, () => openLink(target, options));
  share.link.bus.catch(() => pool.drop(key, share.link));
  return { bus: share.link.bus, release: share.release, conflict: share.conflict, key };
}

function openBusCount() {
  return pool.count();
}

module.exports = { acquireModbusBus, openBusCount };
