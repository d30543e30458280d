'use strict';
// One M307 connection per host:port for the whole Node-RED process, shared by reference count.
// The M307's device server serves ONE TCP client at a time: two config nodes naming the same
// unit (or two flows on one Node-RED) must therefore share one M307Client, as lib/registry.js
// does for Modbus ports.
//
// The life cycle of a shared connection is SharedLink's (nodes/lib/shared-link.js).
//
//   const share = acquire('10.0.0.7', { port, timeout });   // lib/defaults.js for what is left out
//   share.link.client  // the M307Client while there is one, else null
//   await share.release();  // the last one closes the connection
const { M307Client } = require('../../lib/m307/client');
const { SharedLink } = require('./shared-link');
const { createPool, linkKey } = require('../../lib/pool');
const { m307: DEFAULTS } = require('../../lib/defaults');
// Settings that belong to the connection: a second user cannot have its own.
const SHARED = ['timeout', 'reconnectMinDelay', 'reconnectMaxDelay'];

const pool = createPool(SHARED, 'connected');

const keyFor = (host, port) => linkKey({ host, port });

class M307Link extends SharedLink {
  constructor(key, host, options) {
    super(key, options);
    this.host = host;
    /** Set while a log download runs on this device (one at a time: one read pointer). */
    this.logOwner = null;
    this.start();
  }

  /** The M307Client, from the first successful connect until close. */
  get client() {
    return this.resource;
  }

  _open() {
    const { port, timeout, reconnectMinDelay, reconnectMaxDelay } = this.options;
    return M307Client.connect(this.host, { port, timeout, reconnectMinDelay, reconnectMaxDelay });
  }
}

/**
 * Takes a share of the connection to host:port. Returns { link, release(), conflict, key }.
 * `conflict` is a message when the connection already exists with other settings (theirs win).
 */
function acquire(host, options = {}) {
  const opts = { port: DEFAULTS.port, timeout: DEFAULTS.timeout, reconnectMinDelay: DEFAULTS.reconnectMinDelay, reconnectMaxDelay: DEFAULTS.reconnectMaxDelay };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) opts[k] = v;
  const key = keyFor(host, opts.port);
  return pool.acquire(key, opts, () => new M307Link(key, String(host).trim(), opts));
}

/** How many shared connections exist (tests). */
function linkCount() {
  return pool.count();
}

module.exports = { acquire, linkCount, keyFor, M307Link };
