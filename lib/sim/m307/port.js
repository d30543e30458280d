'use strict';

// The M307 simulator's connections: M307Port is one client's byte stream (requests cut into
// 60-byte records, answered one at a time, replies delayed, split or dropped as the faults
// say), and Connections (mixed into M307Simulator) opens and closes them, with the
// one-client-at-a-time rule of the real device server.

const { RECORD_SIZE } = require('./encoding');
const { Endpoint } = require('../endpoint');

/**
 * One TCP client (or any byte-stream endpoint). It owns its input buffer and its reply queue:
 * requests are handled one at a time in arrival order, the next only after the previous reply
 * was written completely (as the device's single MCU does).
 */
class M307Port extends Endpoint {
  constructor(sim, write, opts = {}) {
    super(sim, opts.name || 'port');
    this._write = typeof write === 'function' ? write : () => {};
    this._close = typeof opts.close === 'function' ? opts.close : () => {};
    this._queue = [];
    this._busy = false;
    this._timers = new Set();
  }

  /** Feed bytes that arrived on this connection. */
  receive(chunk) {
    if (!this._append(chunk)) return;
    while (this._buf.length >= RECORD_SIZE) {
      this._queue.push(Buffer.from(this._buf.subarray(0, RECORD_SIZE)));
      this._buf = this._buf.subarray(RECORD_SIZE);
    }
    this._armPartialTimer();
    this._pump();
  }

  _armPartialTimer() {
    this._armSilence(this._buf.length ? this.sim.partialTimeoutMs : 0, () => {
      if (!this._buf.length) return;
      const dropped = Buffer.from(this._buf);
      this._buf = Buffer.alloc(0);
      this.sim.stats.bytesDiscarded += dropped.length;
      this.sim.emit('discard', { port: this.name, bytes: dropped, reason: 'incomplete request' });
    });
  }

  _pump() {
    while (!this._busy && !this.closed && this._queue.length) {
      const req = this._queue.shift();
      const plan = this.sim._handle(this, req);
      if (!plan) continue;
      this._busy = true;
      this._deliver(plan, () => {
        this._busy = false;
        this._pump();
      });
    }
  }

  _later(fn, ms) {
    const h = setTimeout(() => {
      this._timers.delete(h);
      fn();
    }, ms);
    this._timers.add(h);
  }

  /** Write a reply according to its plan: delay, segment size and gap, drop after n bytes. */
  _deliver(plan, done) {
    const drop = plan.dropAfter != null;
    const out = drop ? plan.bytes.subarray(0, Math.max(0, Math.min(plan.dropAfter, plan.bytes.length))) : plan.bytes;
    const seg = plan.segment > 0 ? plan.segment : Math.max(1, out.length);
    let off = 0;
    const step = () => {
      if (this.closed) return;
      if (off >= out.length) { // only for an empty reply (drop after 0 bytes)
        this._hangUp();
        return;
      }
      const piece = out.subarray(off, off + seg);
      off += piece.length;
      const last = off >= out.length;
      this.sim.stats.bytesSent += piece.length;
      if (last && drop) {
        this._send(piece, () => this._hangUp());
        return;
      }
      this._send(piece);
      if (last) done();
      else this._later(step, plan.gapMs);
    };
    if (plan.delayMs > 0) this._later(step, plan.delayMs);
    else step();
  }

  _send(buf, cb) {
    try {
      this._write(buf, cb);
    } catch (err) {
      this.sim.emit('transportError', err);
      if (cb) cb();
    }
  }

  _hangUp() {
    if (this.closed) return;
    this.sim.stats.dropped++;
    this.sim.emit('drop', { port: this.name });
    this._close();
    this.close();
  }

  /** Stop: pending replies and buffered input are dropped. */
  close() {
    if (!this._end()) return;
    for (const h of this._timers) clearTimeout(h);
    this._timers.clear();
    this._queue = [];
    this.sim._ports.delete(this);
    this.sim.emit('disconnect', { port: this.name });
  }
}

/** M307Simulator's connection methods (see device.js, which mixes them in). */
class Connections {
  // ---- connections ---------------------------------------------------------------------------

  /** Number of clients being served. */
  clients() {
    return this._ports.size;
  }

  /**
   * Open an endpoint for one client. write(buf, cb) sends bytes (cb once they are handed to
   * the OS); opts.close() hangs up (used by 'drop'); opts.refuse(reset) turns the client away.
   * Returns { name, receive(buf), close() }.
   *
   * With 'refuse-second' on and a client connected, the newcomer waits refuseGraceMs (50)
   * with its bytes held back: if the first client is gone by then (a client that closes and
   * reconnects at once, before its FIN was processed), the newcomer is served; otherwise it
   * is closed, having been seen by nothing.
   */
  connect(write, opts = {}) {
    const name = opts.name || 'port';
    if (!this._refuse || this._ports.size === 0) return this._accept(write, name, opts);
    if (!(this.refuseGraceMs > 0)) return this._turnAway(name, opts);
    const sim = this;
    const pending = {
      name,
      closed: false,
      target: null,
      held: [],
      receive(buf) {
        if (this.target) this.target.receive(buf);
        else if (!this.closed) this.held.push(Buffer.from(buf));
      },
      close() {
        if (this.closed) return;
        this.closed = true;
        clearTimeout(timer);
        sim._pending.delete(this);
        if (this.target) this.target.close();
      },
    };
    const timer = setTimeout(() => {
      this._pending.delete(pending);
      if (pending.closed) return;
      if (this._refuse && this._ports.size > 0) {
        pending.closed = true;
        this._turnAway(name, opts);
        return;
      }
      pending.target = this._accept(write, name, opts);
      for (const b of pending.held) pending.target.receive(b);
      pending.held = [];
    }, this.refuseGraceMs);
    this._pending.add(pending);
    return pending;
  }

  _accept(write, name, opts) {
    const port = new M307Port(this, write, { name, close: opts.close });
    this._ports.add(port);
    this.stats.connections++;
    this.emit('connect', { port: name });
    return port;
  }

  _turnAway(name, opts) {
    this.stats.refused++;
    this.emit('refused', { port: name });
    const refuse = typeof opts.refuse === 'function' ? opts.refuse
      : typeof opts.close === 'function' ? opts.close : () => {};
    refuse(this._refuse ? this._refuse.reset : false);
    return { name, closed: true, receive() {}, close() {} };
  }

  /** Close every connection endpoint (pending replies are dropped). */
  close() {
    for (const p of [...this._pending]) p.close();
    for (const p of [...this._ports]) p.close();
  }
}

module.exports = { M307Port, Connections };
