'use strict';

// One client of the simulated bus (a TCP connection, a pty): it cuts frames from its own byte
// stream, drops a partial frame after the inter-frame silence, and sends replies after their
// delay.

const { Endpoint } = require('../endpoint');
const { MAX_BUFFER, findFrame, looksLikeBadCrcFrame } = require('./frames');

/**
 * One transport endpoint (a TCP client, a pty). It owns its input buffer and inter-frame
 * timer, so several clients never mix their bytes.
 */
class SimPort extends Endpoint {
  constructor(sim, reply, opts = {}) {
    super(sim, opts.name || 'port');
    this._reply = typeof reply === 'function' ? reply : () => {};
    this._pending = new Set();
    // Optional: the line speed the client of this port uses right now (a pty knows it). Units
    // at another rate do not hear it, and their auto-report does not reach it.
    if (typeof opts.baudRate === 'function') this.baudRate = opts.baudRate;
  }

  /** Feed bytes that arrived on this port. */
  receive(chunk) {
    if (!this._append(chunk)) return;
    this._parse();
    if (this._buf.length > MAX_BUFFER) this._discard(this._buf.length - MAX_BUFFER, 'overflow');
    this._armGapTimer();
  }

  _parse() {
    for (;;) {
      const f = findFrame(this._buf);
      if (!f) return;
      if (f.start > 0) this._discard(f.start, 'garbage');
      const frame = Buffer.from(this._buf.subarray(0, f.length));
      this._buf = this._buf.subarray(f.length);
      this.sim._handleFrame(this, frame);
    }
  }

  _discard(n, reason) {
    const dropped = Buffer.from(this._buf.subarray(0, n));
    this._buf = this._buf.subarray(n);
    const sim = this.sim;
    if (looksLikeBadCrcFrame(dropped)) {
      sim.stats.crcErrors++;
      reason = 'bad CRC';
    }
    sim.stats.bytesDiscarded += dropped.length;
    sim.emit('discard', { port: this.name, bytes: dropped, reason });
  }

  _armGapTimer() {
    this._armSilence(this._buf.length ? this.sim.frameGapMs : 0, () => {
      if (this._buf.length) this._discard(this._buf.length, 'silence');
    });
  }

  _send(bytes, delayMs, info) {
    if (this.closed) return;
    const fire = () => {
      this._pending.delete(handle);
      if (this.closed) return;
      this.sim.stats.framesAnswered++;
      this.sim.stats.bytesSent += bytes.length;
      if (info.unit) info.unit.stats.answered++;
      this.sim.emit('reply', { port: this.name, address: info.address, bytes, fault: info.fault });
      try {
        this._reply(bytes);
      } catch (err) {
        this.sim.emit('transportError', err);
      }
    };
    const handle = delayMs > 0 ? setTimeout(fire, delayMs) : setImmediate(fire);
    this._pending.add(handle);
  }

  /** Stop: drop buffered input and replies not sent yet. */
  close() {
    if (!this._end()) return;
    for (const h of this._pending) { clearTimeout(h); clearImmediate(h); }
    this._pending.clear();
    this.sim._ports.delete(this);
  }
}

module.exports = { SimPort };
