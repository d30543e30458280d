'use strict';
// Whether one device is answering: the one rule that the Node-RED device nodes, the
// "to Home Assistant" node and the headless gateway all follow.
//
//   online   a request was answered;
//   offline  at once when nothing answered (a timeout, the Modbus offline breaker, a link
//            that is lost or cannot be opened), or after `failuresBeforeOffline` garbled
//            answers in a row (bad checksum, framing, another unit or kind of reply): one noisy frame does not
//            flap the device, a line that only ever garbles does not look live;
//   unchanged by a device's refusal (an exception reply, a write that did not stick) or a
//            rejected argument: the device is talking.
// A link that is `closed` is a redeploy or a shutdown, not the device going away.

/** Codes that mean nothing answered. */
const NOT_ANSWERING = new Set(['ETIMEDOUT', 'EOFFLINE', 'ECONNLOST', 'ENOTCONNECTED', 'ECONNREFUSED', 'ECONNTIMEOUT',
  'ECONNRESET', 'EBUSY', 'ENOENT', 'EACCES', 'EIO', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);
/** Codes of an answer that arrived garbled. */
const GARBLED = new Set(['ECHECKSUM', 'EFRAME', 'EMISMATCH']);

class Availability {
  constructor({ failuresBeforeOffline = 3 } = {}) {
    this.failuresBeforeOffline = failuresBeforeOffline;
    this.state = 'unknown';
    this.since = null; // Date of the last change
    this.reason = null;
    this.code = null;
    this.garbled = 0; // garbled answers in a row
  }

  _set(state, reason, code) {
    if (state === this.state) return false;
    this.state = state;
    this.since = new Date();
    this.reason = reason;
    this.code = code;
    return true;
  }

  /** A request was answered. Returns true when the state changed. */
  success() {
    this.garbled = 0;
    return this._set('online', null, null);
  }

  /** A request failed with `err`. Returns true when the state changed. */
  failure(err) {
    const code = err && err.code;
    if (NOT_ANSWERING.has(code)) return this.offline(err.message, code);
    if (GARBLED.has(code) && ++this.garbled >= this.failuresBeforeOffline) {
      return this.offline(`${this.garbled} garbled answers in a row: ${err.message || code}`, code);
    }
    return false;
  }

  /** Offline for a reason known from elsewhere (a link that cannot be opened, a message). */
  offline(reason, code = null) {
    return this._set('offline', reason || 'no answer', code || null);
  }

  /** A link state event ({ state, error }) of a bus or client. */
  linkState(st) {
    if (!st || st.state === 'open' || st.state === 'connecting' || st.state === 'closed') return false;
    const e = st.error;
    const why = st.state === 'reconnecting' ? `link lost${e && e.code ? ` (${e.code})` : ''}, reconnecting`
      : st.state === 'failed' ? `cannot open the link${e && e.code ? ` (${e.code})` : ''}` : 'link down';
    return this.offline(e && e.message ? `${why}: ${e.message}` : why, (e && e.code) || 'ECONNLOST');
  }

  /** { state, since (ISO), reason, code } */
  toJSON() {
    return { state: this.state, since: this.since && this.since.toISOString(), reason: this.reason, code: this.code };
  }
}

module.exports = { Availability, NOT_ANSWERING, GARBLED };
