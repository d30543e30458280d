'use strict';
// One Modbus link per port (or TCP serial server) for the whole Node-RED process, shared by
// reference count in lib/registry.js's pool: the bus nodes and any caller of
// acquireModbusBus() in the same process share one link and so one request queue.
//
// The life cycle of a shared link is SharedLink's (nodes/lib/shared-link.js).
//
//   const share = acquire('/dev/ttyUSB0', { baudRate, timeout });   // lib/defaults.js for what is left out
//   share.link.bus            // the ModbusBus while there is one, else null
//   await share.release();    // the last one closes the port
const { ModbusBus } = require('../../lib/modbus/bus');
const registry = require('../../lib/registry');
const { SharedLink } = require('./shared-link');

class ModbusLink extends SharedLink {
  constructor(key, target, options) {
    super(key, options);
    this.target = target;
    this._abort = new AbortController(); // given up on close: an open in flight stops at once
    this.start();
  }

  /** The ModbusBus, from the first successful open until close. */
  get bus() {
    return this.resource;
  }

  _open() {
    const { reconnectMinDelay, reconnectMaxDelay, ...line } = this.options;
    return ModbusBus.open(this.target, { ...line, reconnectMinDelay, reconnectMaxDelay, signal: this._abort.signal });
  }

  /** For acquireModbusBus() callers sharing this link: the bus once open, else the reason. */
  async opened() {
    const st = await this.settled();
    if (this.resource) return this.resource;
    throw st.error || new Error(`${this.target} is ${st.state}`);
  }

  close() {
    const closing = super.close(); // marks the link closing before the open is given up
    this._abort.abort();
    return closing;
  }
}

/**
 * Takes a share of the link on `target`. Returns { link, release(), conflict, key }.
 * `conflict` is a message when the link already exists with other settings (theirs win).
 */
function acquire(target, options) {
  const share = registry.acquireLink(target, options, (key) => {
    const link = new ModbusLink(key, target, options);
    // Refused settings are not retried: the link leaves the pool, the next user starts afresh.
    link.on('state', (st) => {
      if (st.state === 'failed') registry.dropLink(key, link);
    });
    return link;
  });
  if (share.link instanceof ModbusLink) return share;
  // A caller of acquireModbusBus() in this process opened the port first: this node gets a
  // link of its own, which finds the port locked and retries until that caller lets go.
  share.release();
  const own = new ModbusLink(share.key, target, options);
  return { link: own, release: () => own.close(), conflict: share.conflict, key: share.key };
}

module.exports = { acquire, ModbusLink, keyFor: registry.keyFor };
