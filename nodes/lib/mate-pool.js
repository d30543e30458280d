'use strict';
// One MateBus per serial port for the whole Node-RED process, shared by reference count (as
// lib/registry.js does for Modbus ports): every config node naming the same port, and so every
// MATE flow node, uses one link and one request queue. The MATE bus has one master; two
// MateBus objects on one adapter would fight over it.
//
// A shared bus (MateLink) owns its life cycle:
//   connecting -> open <-> reconnecting   (after a first open the native layer reconnects)
//   connecting -> reconnecting -> connecting ...
//                                  (the first open failed: retried here with capped,
//                                   jittered backoff for as long as anyone holds a share)
//   any -> closed                  (the last share was released)
//   failed                         (the settings were refused: a ValidationError; no retry)
// Listeners get { state, retryIn, error, attempt } through link.on('state', fn).
//
//   const share = acquire('/dev/ttyUSB0', { timeout: 100, retries: 2 });
//   share.link.bus            // the MateBus while there is one, else null
//   await share.link.find('mx')   // an MxDevice, auto-found (one scan shared by all nodes)
//   const stop = share.link.addDutyUser()  // master duties run while anyone wants them
//   await share.release();    // the last one closes the port
const fs = require('node:fs');
const { EventEmitter } = require('node:events');
const { MateBus } = require('../../lib/mate/bus');
const { ValidationError, ConnectionError } = require('../../lib/errors');

const DEFAULTS = Object.freeze({
  parityMode: 'auto',
  transport: 'serial',
  timeout: 100,
  retries: 2,
  allowControl: false,
  reconnectMinDelay: 1000,
  reconnectMaxDelay: 10000,
});
// Settings that belong to the bus: a second user of the same port cannot have its own.
const SHARED = ['parityMode', 'transport', 'timeout', 'retries', 'allowControl', 'reconnectMinDelay', 'reconnectMaxDelay'];
// After a scan found no device of a type, the next scan waits this long: a scan costs the bus
// about timeout x 2 per empty hub port, time the pollers would otherwise get.
const RESCAN_AFTER_MS = 30000;

const links = new Map();

function keyFor(path) {
  const p = String(path).trim();
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

class MateLink extends EventEmitter {
  constructor(key, path, options) {
    super();
    this.setMaxListeners(0); // one listener per config node and flow node
    this.key = key;
    this.path = path;
    this.options = Object.freeze({ ...options });
    /** The MateBus, from the first successful open until close. */
    this.bus = null;
    this.state = { state: 'connecting', retryIn: 0, error: null, attempt: 0 };
    this._closing = false;
    this._retryTimer = null;
    this._attempt = 0;
    this._opening = null; // the _connect() run in flight, if any
    this._scan = null; // a scan in flight (shared by every find)
    this._scanned = false;
    this._lastScan = 0;
    this._dutyUsers = 0;
    this._dutiesRunning = false;
    this._onBusState = this._onBusState.bind(this);
    this._onDuty = (name) => this.emit('duty', name);
    this._onDutyError = (err) => this.emit('duty-error', err);
    this._opening = this._connect();
  }

  _setState(state, extra = {}) {
    this.state = { state, retryIn: extra.retryIn || 0, error: extra.error || null, attempt: extra.attempt || 0 };
    this.emit('state', this.state);
  }

  async _connect() {
    if (this._closing) return;
    this._setState('connecting', { attempt: this._attempt });
    let bus;
    try {
      bus = await MateBus.open(this.path, {
        parityMode: this.options.parityMode,
        transport: this.options.transport,
        timeout: this.options.timeout,
        retries: this.options.retries,
        allowControl: this.options.allowControl,
        reconnectMinDelay: this.options.reconnectMinDelay,
        reconnectMaxDelay: this.options.reconnectMaxDelay,
      });
    } catch (err) {
      if (this._closing) return;
      if (err instanceof ValidationError) this._setState('failed', { error: err });
      else this._retryLater(err);
      return;
    }
    if (this._closing) {
      // close() came while the open was in flight; it waits for this.
      await bus.close().catch(() => {});
      return;
    }
    this._attempt = 0;
    this.bus = bus;
    this._scanned = false;
    bus.on('state', this._onBusState);
    bus.on('duty', this._onDuty);
    bus.on('duty-error', this._onDutyError);
    this._applyDuties();
    this._setState(bus.state === 'open' ? 'open' : bus.state);
  }

  _retryLater(err) {
    this._attempt += 1;
    const { reconnectMinDelay: min, reconnectMaxDelay: max } = this.options;
    const base = Math.min(max, min * 2 ** Math.min(this._attempt - 1, 20));
    const delay = Math.max(10, Math.round(base * (0.8 + Math.random() * 0.4)));
    this._setState('reconnecting', { retryIn: delay, error: err, attempt: this._attempt });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._opening = this._connect();
    }, delay);
  }

  _detachBus() {
    const bus = this.bus;
    this.bus = null;
    this._dutiesRunning = false;
    if (bus) {
      bus.removeListener('state', this._onBusState);
      bus.removeListener('duty', this._onDuty);
      bus.removeListener('duty-error', this._onDutyError);
    }
    return bus;
  }

  _onBusState(ev) {
    if (this._closing) return;
    if (ev.state === 'closed') {
      // Closed without us asking: start over rather than sit on a dead bus.
      const dead = this._detachBus();
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

  /** The error a request gets while there is no bus. */
  notConnected() {
    if (this.state.state === 'failed' && this.state.error) return this.state.error;
    return new ConnectionError(`the MATE bus ${this.path} is not connected (${this.state.state})`, 'ENOTCONNECTED', { path: this.path });
  }

  /**
   * The first device of a type on the bus ('mx' | 'fx' | 'dc'). The bus is scanned once for
   * every node that asks (one scan in flight at a time); when a type was not found, the bus is
   * scanned again at the earliest RESCAN_AFTER_MS later (a device switched on after deploy).
   */
  async find(type) {
    const bus = this.bus;
    if (!bus) throw this.notConnected();
    if (!this._scanned) await this._scanOnce(bus);
    try {
      return await bus.find(type);
    } catch (err) {
      if (err.code === 'ENODEVICE' && Date.now() - this._lastScan >= RESCAN_AFTER_MS) this._scanned = false;
      throw err;
    }
  }

  // One scan in flight at a time, shared by whoever asks. A failed scan (ENOTCONNECTED, say) is
  // not remembered: the next caller scans again.
  _scanOnce(bus) {
    if (!this._scan) {
      this._lastScan = Date.now();
      this._scan = bus.scan().then(() => {
        if (this.bus === bus) this._scanned = true;
      }).finally(() => {
        this._scan = null;
      });
    }
    return this._scan;
  }

  /** Master duties run while at least one user wants them; returns the function that leaves. */
  addDutyUser() {
    this._dutyUsers += 1;
    this._applyDuties();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this._dutyUsers -= 1;
      this._applyDuties();
    };
  }

  get dutiesRunning() {
    return this._dutiesRunning;
  }

  _applyDuties() {
    const bus = this.bus;
    if (!bus || this._closing) return;
    if (this._dutyUsers > 0 && !this._dutiesRunning) {
      this._dutiesRunning = true;
      // The duties scan the bus themselves when nobody has yet; share the flow nodes' scan
      // instead of running a second one beside it.
      const begin = () => {
        if (this.bus === bus && this._dutiesRunning && !this._closing) bus.startMasterDuties();
      };
      if (this._scanned) begin();
      else this._scanOnce(bus).then(begin, begin);
    } else if (this._dutyUsers <= 0 && this._dutiesRunning) {
      this._dutiesRunning = false;
      bus.stopMasterDuties();
    }
  }

  async close() {
    if (this._closing) return;
    this._closing = true;
    if (this._retryTimer) clearTimeout(this._retryTimer);
    this._retryTimer = null;
    const bus = this._detachBus();
    this._setState('closed');
    this.removeAllListeners('state');
    this.removeAllListeners('duty');
    this.removeAllListeners('duty-error');
    if (bus) {
      await bus.close(); // stops the duties too
    } else if (this._opening) {
      // An open in flight cannot be aborted; _connect() closes its bus when it lands.
      await this._opening;
    }
  }
}

/**
 * Takes a share of the MATE bus on `path`. Returns { link, release(), conflict, key }.
 * `conflict` is a message when the bus is already open with other settings (theirs win).
 */
function acquire(path, options = {}) {
  const opts = { ...DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) opts[k] = v;
  const key = keyFor(path);
  let e = links.get(key);
  let conflict = null;
  if (!e) {
    e = { users: 0, link: new MateLink(key, String(path).trim(), opts) };
    links.set(key, e);
  } else {
    const diff = SHARED.filter((k) => opts[k] !== e.link.options[k]);
    if (diff.length) {
      conflict = `${key} is already open with ${diff.map((k) => `${k}=${e.link.options[k]}`).join(', ')}; using those settings`;
    }
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

/** How many shared MATE buses exist (tests). */
function busCount() {
  return links.size;
}

/** How many shares the bus on `path` has (tests); 0 when there is none. */
function userCount(path) {
  const e = links.get(keyFor(path));
  return e ? e.users : 0;
}

module.exports = { acquire, busCount, userCount, keyFor, DEFAULTS, RESCAN_AFTER_MS, MateLink };
