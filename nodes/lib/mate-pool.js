'use strict';
// One MateBus per serial port for the whole Node-RED process, shared by reference count (as
// lib/registry.js does for Modbus ports): every config node naming the same port, and so every
// MATE flow node, uses one link and one request queue. The MATE bus has one master; two
// MateBus objects on one adapter would fight over it.
//
// The life cycle of a shared bus is SharedLink's (nodes/lib/shared-link.js).
//
//   const share = acquire('/dev/ttyUSB0', { timeout, retries });  // lib/defaults.js for what is left out
//   share.link.bus            // the MateBus while there is one, else null
//   await share.link.find('mx')   // an MxDevice, auto-found (one scan shared by all nodes)
//   const stop = share.link.addDutyUser()  // master duties run while anyone wants them
//   await share.release();    // the last one closes the port
const { MateBus } = require('../../lib/mate/bus');
const { ConnectionError } = require('../../lib/errors');
const { SharedLink } = require('./shared-link');
const { createPool, linkKey } = require('../../lib/pool');
const { mate: DEFAULTS } = require('../../lib/defaults');
// Settings that belong to the bus: a second user of the same port cannot have its own.
const SHARED = ['parityMode', 'transport', 'timeout', 'retries', 'allowControl', 'reconnectMinDelay', 'reconnectMaxDelay'];
// After a scan found no device of a type, the next scan waits this long: a scan costs the bus
// about timeout x 2 per empty hub port, time the pollers would otherwise get.
const RESCAN_AFTER_MS = 30000;

const pool = createPool(SHARED, 'open');

const keyFor = (path) => linkKey({ path });

class MateLink extends SharedLink {
  constructor(key, path, options) {
    super(key, options);
    this.path = path;
    this._scan = null; // a scan in flight (shared by every find)
    this._scanned = false;
    this._lastScan = 0;
    this._dutyUsers = 0;
    this._dutiesRunning = false;
    this._onDuty = (name) => this.emit('duty', name);
    this._onDutyError = (err) => this.emit('duty-error', err);
    this.start();
  }

  /** The MateBus, from the first successful open until close. */
  get bus() {
    return this.resource;
  }

  _open() {
    const o = this.options;
    return MateBus.open(this.path, {
      parityMode: o.parityMode,
      transport: o.transport,
      timeout: o.timeout,
      retries: o.retries,
      allowControl: o.allowControl,
      reconnectMinDelay: o.reconnectMinDelay,
      reconnectMaxDelay: o.reconnectMaxDelay,
    });
  }

  _attach(bus) {
    this._scanned = false;
    bus.on('duty', this._onDuty);
    bus.on('duty-error', this._onDutyError);
    this._applyDuties();
  }

  _detach(bus) {
    this._dutiesRunning = false;
    bus.removeListener('duty', this._onDuty);
    bus.removeListener('duty-error', this._onDutyError);
  }

  /**
   * The first device of a type on the bus ('mx' | 'fx' | 'dc'). The bus is scanned once for
   * every node that asks (one scan in flight at a time); when a type was not found, the bus is
   * scanned again at the earliest RESCAN_AFTER_MS later (a device switched on after deploy).
   */
  async find(type) {
    const bus = this.bus;
    if (!bus) throw new ConnectionError(`the MATE bus ${this.path} is not connected (${this.state.state})`, 'ENOTCONNECTED', { path: this.path });
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
}

/**
 * Takes a share of the MATE bus on `path`. Returns { link, release(), conflict, key }.
 * `conflict` is a message when the bus is already open with other settings (theirs win).
 */
function acquire(path, options = {}) {
  const opts = {};
  for (const k of SHARED) opts[k] = DEFAULTS[k];
  for (const [k, v] of Object.entries(options)) if (v !== undefined) opts[k] = v;
  const key = keyFor(path);
  return pool.acquire(key, opts, () => new MateLink(key, String(path).trim(), opts));
}

/** How many shared MATE buses exist (tests). */
function busCount() {
  return pool.count();
}

/** How many shares the bus on `path` has (tests); 0 when there is none. */
function userCount(path) {
  return pool.users(keyFor(path));
}

module.exports = { acquire, busCount, userCount, keyFor, RESCAN_AFTER_MS, MateLink };
