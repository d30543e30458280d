'use strict';

// The M307 simulator's data log (mixed into M307Simulator, see device.js): a ring of 15-byte
// records filled lazily up to now() at the log rate, pre-filled with made-up history, and the
// read pointer that makes downloads incremental.

const E = require('./encoding');
const { INPUTS, INPUT_NAMES, DOORS, floorMinute } = require('./layout');

const { LOG_RECORD_SIZE, MINUTE } = E;

/** M307Simulator's log methods. */
class Log {
  // ---- log -----------------------------------------------------------------------------------

  get logCount() {
    return Math.min(this._logTotal, this._logCap);
  }

  get logCapacity() {
    return this._logCap;
  }

  _makeLogRecord(dev, t, history) {
    const f = E.clockFields(dev);
    const r = Buffer.alloc(LOG_RECORD_SIZE);
    E.writeDateTime(r, 0, f);
    const invent = history && this.logHistory === 'plausible'; // made-up past
    for (const input of INPUT_NAMES) r.writeInt16BE(this._raw(input, t, invent || this.drift), INPUTS[input].log);
    const minute = Math.floor(t / MINUTE);
    let bits = 0;
    for (const n of [1, 2]) {
      const closed = invent ? E.hashUnit(this.seed, 100 + n, minute) >= 0.04 : !this._doors[n].open;
      if (closed === (this.logInputActive === 'closed')) bits |= DOORS[n].logBit;
    }
    const power = invent ? E.hashUnit(this.seed, 200, Math.floor(minute / 240)) >= 0.02 : this._power;
    if (power) bits |= 0x04;
    r[14] = bits;
    return r;
  }

  _appendLog(rec) {
    rec.copy(this._log, (this._logTotal % this._logCap) * LOG_RECORD_SIZE);
    this._logTotal++;
  }

  _prefillLog(n, logStart, t) {
    const dev = this.deviceTime(t);
    const step = Math.max(1, this._logRate) * MINUTE;
    if (n > 0) {
      const start = logStart != null ? E.parseClock(logStart) : floorMinute(dev) - (n - 1) * step;
      const skip = Math.max(0, n - this._logCap);
      this._logTotal = skip;
      for (let i = skip; i < n; i++) {
        const when = start + i * step;
        this._appendLog(this._makeLogRecord(when, when - this._clockOffset, true));
      }
      this._nextLog = this._logRate > 0 ? Math.max(start + n * step, floorMinute(dev) + step) : Infinity;
    } else {
      this._nextLog = this._logRate > 0 ? floorMinute(dev) + step : Infinity;
    }
  }

  _rescheduleLog(t) {
    this._nextLog = this._logRate > 0 ? floorMinute(this.deviceTime(t)) + this._logRate * MINUTE : Infinity;
  }

  /** Log every record that fell due up to real time t. */
  _advanceLog(t) {
    if (!(this._logRate > 0)) return;
    const dev = this.deviceTime(t);
    if (this._nextLog > dev) return;
    const step = this._logRate * MINUTE;
    let due = Math.floor((dev - this._nextLog) / step) + 1;
    if (due > this._logCap) { // those would be overwritten anyway
      const skip = due - this._logCap;
      this._nextLog += skip * step;
      this._logTotal += skip;
      due = this._logCap;
    }
    for (let i = 0; i < due; i++) {
      this._appendLog(this._makeLogRecord(this._nextLog, this._nextLog - this._clockOffset, false));
      this._nextLog += step;
    }
  }

  /** Records seq from..to-1 (to at most _logTotal) as one buffer, oldest first. */
  _logSlice(from, to) {
    const out = Buffer.allocUnsafe((to - from) * LOG_RECORD_SIZE);
    // The ring holds the range in at most two runs: up to the end of the ring, then from 0.
    let o = 0;
    for (let s = from; s < to;) {
      const slot = s % this._logCap;
      const run = Math.min(to - s, this._logCap - slot);
      this._log.copy(out, o, slot * LOG_RECORD_SIZE, (slot + run) * LOG_RECORD_SIZE);
      o += run * LOG_RECORD_SIZE;
      s += run;
    }
    return out;
  }

  /** Every record held, oldest first (count x 15 bytes). */
  logData() {
    this._update(this._nowFn());
    return this._logSlice(this._logTotal - this.logCount, this._logTotal);
  }

  clearLog() {
    this._logTotal = 0;
    this._logRead = 0;
    this._log.fill(0);
  }

}

module.exports = { Log };
