'use strict';
// One bus per port for the whole process: every caller naming the same port, and every
// Node-RED bus node (nodes/lib/modbus-pool.js puts its links in this same pool), shares one
// link and so one queue. Reference counted (lib/pool.js); ports are named by lib/pool.js's
// linkKey().
const { ModbusBus, parseTarget } = require('./modbus/bus');
const { createPool, linkKey } = require('./pool');

function keyFor(target) {
  const t = parseTarget(target);
  return t.kind === 'tcp' ? linkKey({ scheme: 'tcp', host: t.host, port: t.port }) : linkKey({ path: t.path });
}

// Settings that belong to the link: a second user cannot have its own. A setting one side
// leaves to its default is no conflict.
const SETTINGS = ['baudRate', 'parity', 'dataBits', 'stopBits', 'timeout', 'retries', 'interFrameDelay'];
const pool = createPool(SETTINGS, 'open', { differs: (a, b) => a !== undefined && b !== undefined && a !== b });

// A pooled link made for a caller of acquireModbusBus(): the open in flight (or done), given
// up at once when the last user leaves, dropped from the pool when it fails. Every pooled link
// (this one, or a Node-RED ModbusLink) has `options`, `close()` and `opened()`: the ModbusBus,
// or the error that there is none.
function openLink(key, target, options) {
  const abort = new AbortController();
  const bus = ModbusBus.open(target, { ...options, signal: abort.signal });
  const link = {
    options,
    opened: () => bus,
    async close() {
      abort.abort(); // an open still in progress gives up
      try {
        await (await bus).close();
      } catch {
        /* the open failed or was given up: nothing to close */
      }
    },
  };
  bus.catch(() => pool.drop(key, link)); // the next acquire opens afresh
  return link;
}

/**
 * Takes a share of the link on `target`, made by create(key) for its first user.
 * Returns { link, release(), conflict, key } (lib/pool.js).
 */
function acquireLink(target, options, create) {
  const key = keyFor(target);
  return pool.acquire(key, options, () => create(key));
}

/**
 * Takes a share of the bus on `target`. Returns { bus: Promise<ModbusBus>, release(), conflict, key }.
 * `conflict` is a message when the bus is already open with other serial settings. A share
 * whose open failed is dropped from the pool, so the next acquire opens afresh.
 */
function acquireModbusBus(target, options = {}) {
  const share = acquireLink(target, options, (key) => openLink(key, target, options));
  const bus = Promise.resolve().then(() => share.link.opened());
  bus.catch(() => {}); // a failed open is the users' to see, through `bus`
  return { bus, release: share.release, conflict: share.conflict, key: share.key };
}

/** Forgets `link` (its settings were refused, say): the next acquire of its key creates a new one. */
function dropLink(key, link) {
  pool.drop(key, link);
}

function openBusCount() {
  return pool.count();
}

module.exports = { acquireModbusBus, acquireLink, dropLink, openBusCount, keyFor };
