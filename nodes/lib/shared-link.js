'use strict';
// What the Modbus, M307 and MATE pools have in common: a shared connection (SharedLink) with its
// own life cycle (ModbusLink, M307Link, MateLink). The pools that count references to them are
// lib/pool.js; the config nodes relay the state through nodes/lib/config-node.js.
//
//   connecting -> open <-> reconnecting   (after a first open the library reconnects by itself)
//   connecting -> reconnecting -> connecting ...
//                                  (the first open failed: retried here with capped,
//                                   jittered backoff for as long as anyone holds a share)
//   any -> closed                  (the last share was released)
//   failed                         (the settings were refused: a ValidationError; no retry)
// Listeners get { state, retryIn, error, attempt } through link.on('state', fn).
//
// A subclass implements _open() (resolves with the library object: an EventEmitter with
// 'state' events, .state and close()), and may override _attach(resource) / _detach(resource).
const { EventEmitter } = require('node:events');
const { ValidationError } = require('../../lib/errors');

class SharedLink extends EventEmitter {
  constructor(key, options) {
    super();
    this.setMaxListeners(0); // one listener per config node and flow node
    this.key = key;
    this.options = Object.freeze({ ...options });
    /** The library object, from the first successful open until close. */
    this.resource = null;
    this.state = { state: 'connecting', retryIn: 0, error: null, attempt: 0 };
    this._closing = false;
    this._retryTimer = null;
    this._attempt = 0;
    this._pending = null; // the _connect() run in flight, if any
    this._onResourceState = this._onResourceState.bind(this);
  }

  /** Subclasses call this at the end of their constructor. */
  start() {
    this._pending = this._connect();
  }

  _setState(state, extra = {}) {
    this.state = { state, retryIn: extra.retryIn || 0, error: extra.error || null, attempt: extra.attempt || 0 };
    this.emit('state', this.state);
  }

  _attach() {}

  _detach() {}

  async _connect() {
    if (this._closing) return;
    this._setState('connecting', { attempt: this._attempt });
    let resource;
    try {
      resource = await this._open();
    } catch (err) {
      if (this._closing) return;
      if (err instanceof ValidationError) this._setState('failed', { error: err });
      else this._retryLater(err);
      return;
    }
    if (this._closing) {
      // close() came while the open was in flight (it cannot be aborted) and waits for this.
      await resource.close().catch(() => {});
      return;
    }
    this._attempt = 0;
    this.resource = resource;
    resource.on('state', this._onResourceState);
    this._attach(resource);
    this._setState(resource.state === 'open' ? 'open' : resource.state);
  }

  _retryLater(err) {
    this._attempt += 1;
    const { reconnectMinDelay: min, reconnectMaxDelay: max } = this.options;
    const base = Math.min(max, min * 2 ** Math.min(this._attempt - 1, 20));
    const delay = Math.max(10, Math.round(base * (0.8 + Math.random() * 0.4)));
    this._setState('reconnecting', { retryIn: delay, error: err, attempt: this._attempt });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._pending = this._connect();
    }, delay);
  }

  _release() {
    const resource = this.resource;
    this.resource = null;
    if (resource) {
      resource.removeListener('state', this._onResourceState);
      this._detach(resource);
    }
    return resource;
  }

  _onResourceState(ev) {
    if (this._closing) return;
    if (ev.state === 'closed') {
      // Closed without us asking: start over rather than sit on a dead object.
      const dead = this._release();
      if (dead) dead.close().catch(() => {});
      this._retryLater(ev.error || null);
      return;
    }
    this._setState(ev.state, { retryIn: ev.retryIn, error: ev.error });
  }

  /** Resolves once the state is no longer 'connecting' (an open attempt has an outcome). */
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
    const resource = this._release();
    this._setState('closed');
    this.removeAllListeners();
    if (resource) {
      await resource.close();
    } else if (this._pending) {
      // An open in flight cannot be aborted; _connect() closes what it opens when it lands.
      await this._pending;
    }
  }
}

module.exports = { SharedLink };
