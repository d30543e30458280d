'use strict';
// What the three simulators' connections have in common: one client's byte stream, with its
// own input buffer (so that several clients never mix their bytes) and its own silence timer
// (a device drops a partial request when the line goes quiet).

class Endpoint {
  constructor(sim, name) {
    this.sim = sim;
    this.name = name;
    this._buf = Buffer.alloc(0);
    this.closed = false;
    this._silenceTimer = null;
  }

  /** Counts bytes that arrived and appends them to the input buffer; false when there is nothing to parse. */
  _append(chunk) {
    if (this.closed) return false;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.sim.stats.bytesReceived += data.length;
    if (data.length === 0) return false;
    this._buf = this._buf.length ? Buffer.concat([this._buf, data]) : Buffer.from(data);
    return true;
  }

  /** (Re)starts the silence timer: onSilence() after ms without input; nothing when ms is 0. */
  _armSilence(ms, onSilence) {
    this._clearSilence();
    if (!(ms > 0)) return;
    this._silenceTimer = setTimeout(() => {
      this._silenceTimer = null;
      if (!this.closed) onSilence();
    }, ms);
    this._silenceTimer.unref?.();
  }

  _clearSilence() {
    if (this._silenceTimer) clearTimeout(this._silenceTimer);
    this._silenceTimer = null;
  }

  /** Marks the endpoint closed and drops its input; false when it already was. */
  _end() {
    if (this.closed) return false;
    this.closed = true;
    this._clearSilence();
    this._buf = Buffer.alloc(0);
    return true;
  }
}

module.exports = { Endpoint };
