'use strict';
// Per-device availability from the same signals the Node-RED device nodes show: a reply makes
// a device online; a link that is not open, or a read that fails because nothing answered
// (a ConnectionError, ETIMEDOUT, or EOFFLINE from the Modbus bus's offline breaker) makes it
// offline at once; other failures (a bad CRC, a garbled frame) only after `failuresBeforeOffline`
// in a row, so one noisy frame does not flap the device in Home Assistant.

const NOT_ANSWERING = new Set([
  'ETIMEDOUT', 'EOFFLINE', 'ENOENT', 'EACCES', 'EBUSY', 'ECONNREFUSED', 'ECONNTIMEOUT', 'ECONNLOST', 'ENOTCONNECTED', 'ECLOSED', 'EIO',
]);

class Availability {
  constructor({ failuresBeforeOffline = 3 } = {}) {
    this.failuresBeforeOffline = failuresBeforeOffline;
    this.state = 'unknown';
    this.reason = null;
    this.since = null;
    this.failures = 0;
  }

  _set(state, reason) {
    if (state === this.state) return false;
    this.state = state;
    this.reason = reason;
    this.since = new Date().toISOString();
    return true;
  }

  /** A reply arrived. Returns true when the state changed. */
  success() {
    this.failures = 0;
    return this._set('online', null);
  }

  /** A read failed. Returns true when the state changed. */
  failure(err) {
    this.failures += 1;
    const code = (err && err.code) || 'ERROR';
    if (NOT_ANSWERING.has(code) || this.failures >= this.failuresBeforeOffline) return this._set('offline', code);
    return false;
  }

  /** The link went down (state event of the bus or client). */
  linkDown(code = 'ECONNLOST') {
    return this._set('offline', code);
  }
}

module.exports = { Availability, NOT_ANSWERING };
