'use strict';
// One M307 connection per host:port for the whole Node-RED process, shared by reference count.
// The M307's device server serves ONE TCP client at a time: two config nodes naming the same
// unit (or two flows on one Node-RED) must therefore share one M307Client, as lib/registry.js
// does for Modbus ports.
//
// A shared connection (M307Link) owns its life cycle:
//   connecting -> open <-> reconnecting   (after a first open the client reconnects by itself)
//   connecting -> reconnecting -> connecting ...
//                                  (the first connect failed: retried here with capped,
//                                   jittered backoff for as long as anyone holds a share)
//   any -> closed                  (the last share was released)
//   failed                         (the settings were refused: a ValidationError; no retry)
// Listeners get { state, retryIn, error, attempt } through link.on('state', fn).
//
//   const share = acquire('10.0.0.7', { port: 10001, timeout: 2000 });
//   share.link.client  // the M307Client while there is one, else null
//   await share.release();  // the last one closes the connection
const { EventEmitter } = require('node:events');
const { M307Client } = require('../../lib/m307/client');
const { ValidationError } = require('../../lib/errors');

const DEFAULTS = Object.freeze({ port: 10001, timeout: 2000, reconnectMinDelay: 1000, reconnectMaxDelay: 10000 });
// Settings that belong to the connection: a second user cannot have its own.
const SHARED = ['timeout', 'reconnectMinDelay', 'reconnectMaxDelay'];

const links = new Map();

function keyFor(host, port) {
  const h = String(host).trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

class M307Link extends EventEmitter {
  constructor(key, host, options) {
    super();
    this.setMaxListeners(0); // one listener per config node and flow node
    this.key = key;
    this.host = host;
    this.options = Object.freeze({ ...options });
    /** The M307Client, from the first successful connect until close. */
    this.client = null;
    this.state = { state: 'connecting', retryIn: 0, error: null, attempt: 0 };
    /** Set while a log download runs on this device (one at a time: one read pointer). */
    this.logOwner = null;
    this._closing = false;
    this._retryTimer = null;
    this._attempt = 0;
    this._attemptDone = null; // the _connect() run in flight, if any
    this._onClientState = this._onClientState.bind(this);
    this._attemptDone = this._connect();
  }

  _setState(state, extra = {}) {
    this.state = { state, retryIn: extra.retryIn || 0, error: extra.error || null, attempt: extra.attempt || 0 };
    this.emit('state', this.state);
  }

  async _connect() {
    if (this._closing) return;
    this._setState('connecting', { attempt: this._attempt });
    const { port, timeout, reconnectMinDelay, reconnectMaxDelay } = this.options;
    let client;
    try {
      client = await M307Client.connect(this.host, { port, timeout, reconnectMinDelay, reconnectMaxDelay });
    } catch (err) {
      if (this._closing) return;
      if (err instanceof ValidationError) this._setState('failed', { error: err });
      else this._retryLater(err);
      return;
    }
    if (this._closing) {
      // close() came while the connect was in flight (it cannot be aborted) and waits for this.
      await client.close().catch(() => {});
      return;
    }
    this._attempt = 0;
    this.client = client;
    client.on('state', this._onClientState);
    this._setState(client.state === 'open' ? 'open' : client.state);
  }

  _retryLater(err) {
    this._attempt += 1;
    const { reconnectMinDelay: min, reconnectMaxDelay: max } = this.options;
    const base = Math.min(max, min * 2 ** Math.min(this._attempt - 1, 20));
    const delay = Math.max(10, Math.round(base * (0.8 + Math.random() * 0.4)));
    this._setState('reconnecting', { retryIn: delay, error: err, attempt: this._attempt });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._attemptDone = this._connect();
    }, delay);
  }

  _onClientState(ev) {
    if (this._closing) return;
    if (ev.state === 'closed') {
      // Closed without us asking: start over rather than sit on a dead client.
      const dead = this.client;
      this.client = null;
      if (dead) dead.removeListener('state', this._onClientState);
      this._retryLater(ev.error || null);
      return;
    }
    this._setState(ev.state, { retryIn: ev.retryIn, error: ev.error });
  }

  /** Resolves once the state is no longer 'connecting' (a connect attempt has an outcome). */
  settled() {
    if (this.state.state !== 'connecting') return Promise.resolve(this.state);
    return new Promise((resolve) => {
      const on = (st) => {
        if (st.state === 'connecting') return;
        this.removeListener('state', on);
        resolve(st);
      };
      this.on('state', on);
    });
  }

  async close() {
    if (this._closing) return;
    this._closing = true;
    if (this._retryTimer) clearTimeout(this._retryTimer);
    this._retryTimer = null;
    const client = this.client;
    this.client = null;
    this._setState('closed');
    this.removeAllListeners('state');
    if (client) {
      client.removeListener('state', this._onClientState);
      await client.close();
    } else if (this._attemptDone) {
      // A connect in flight cannot be aborted; _connect() closes its client when it lands.
      await this._attemptDone;
    }
  }
}

/**
 * Takes a share of the connection to host:port. Returns { link, release(), conflict, key }.
 * `conflict` is a message when the connection already exists with other settings (theirs win).
 */
function acquire(host, options = {}) {
  const opts = { ...DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) opts[k] = v;
  const key = keyFor(host, opts.port);
  let e = links.get(key);
  let conflict = null;
  if (!e) {
    e = { users: 0, link: new M307Link(key, String(host).trim(), opts) };
    links.set(key, e);
  } else {
    const diff = SHARED.filter((k) => opts[k] !== e.link.options[k]);
    if (diff.length) conflict = `${key} is already connected with ${diff.map((k) => `${k}=${e.link.options[k]}`).join(', ')}; using those settings`;
  }
  e.users += 1;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    e.users -= 1;
    if (e.users > 0) return;
    if (links.get(key) === e) links.delete(key);
    await e.link.close();
  };
  return { link: e.link, release, conflict, key };
}

/** How many shared connections exist (tests). */
function linkCount() {
  return links.size;
}

module.exports = { acquire, linkCount, keyFor, DEFAULTS, M307Link };
