'use strict';
// One bus per port for the whole process: every Node-RED node (and any caller) naming
// the same port shares one link and so one queue. Reference counted.
const fs = require('node:fs');
const { ModbusBus, parseTarget } = require('./modbus/bus');

const entries = new Map();

function keyFor(target) {
  const t = parseTarget(target);
  if (t.kind === 'tcp') return `tcp://${t.host}:${t.port}`;
  try {
    return fs.realpathSync(t.path);
  } catch {
    return t.path;
  }
}

// Settings that belong to the link: a second user cannot have its own.
const SETTINGS = ['baudRate', 'parity', 'dataBits', 'stopBits', 'timeout', 'retries', 'interFrameDelay'];

/**
 * Takes a share of the bus on `target`. Returns { bus: Promise<ModbusBus>, release(), conflict }.
 * `conflict` is a message when the bus is already open with other serial settings.
 */
function acquireModbusBus(target, options = {}) {
  const key = keyFor(target);
  let e = entries.get(key);
  let conflict = null;
  if (!e) {
    const abort = new AbortController();
    e = { users: 0, options, abort, bus: ModbusBus.open(target, { ...options, signal: abort.signal }) };
    e.bus.catch(() => entries.get(key) === e && entries.delete(key));
    entries.set(key, e);
  } else {
    const diff = SETTINGS.filter((k) => options[k] !== undefined && e.options[k] !== undefined && options[k] !== e.options[k]);
    if (diff.length) conflict = `${key} is already open with ${diff.map((k) => `${k}=${e.options[k]}`).join(', ')}; using those settings`;
  }
  e.users += 1;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    e.users -= 1;
    if (e.users > 0) return;
    if (entries.get(key) === e) entries.delete(key);
    e.abort.abort(); // an open still in progress gives up at once
    try {
      const bus = await e.bus;
      await bus.close();
    } catch {
      /* the open failed: nothing to close */
    }
  };
  return { bus: e.bus, release, conflict, key };
}

function openBusCount() {
  return entries.size;
}

module.exports = { acquireModbusBus, openBusCount };
