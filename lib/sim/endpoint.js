'use strict';
// What the three simulators' connections have in common: one client's byte stream, with its
// own input buffer so that several clients never mix their bytes.

class Endpoint {
  constructor(sim, name) {
    this.sim = sim;
    this.name = name;
    this._buf = Buffer.alloc(0);
    this.closed = false;
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
}

module.exports = { Endpoint };
