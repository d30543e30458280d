'use strict';

// How the M307 simulator answers (mixed into M307Simulator, see device.js): the faults a test
// switches on, and the handling of each 60-byte request (status, user records, clock, log).

const E = require('./encoding');
const { checkInteger, checkNumber } = require('./layout');

const { RECORD_SIZE } = E;

const FAULT_MODES = Object.freeze([
  'split', 'slow', 'drop', 'refuse-second', 'silent', 'verify-mismatch', 'garbage',
]);

/** M307Simulator's fault and request methods. */
class Requests {
  // ---- faults --------------------------------------------------------------------------------

  /**
   * Make the device misbehave. Several modes may be active at once (e.g. 'slow' + 'split').
   *   'split'           reply in segments of opts.segment bytes (default 7), opts.gapMs apart (5)
   *   'slow'            reply after opts.delayMs (default 1000)
   *   'drop'            close the connection after opts.afterBytes bytes of the reply (30)
   *   'silent'          no reply; the request is not executed
   *   'verify-mismatch' a write user record stores (and so answers) the data with byte
   *                     opts.offset (default 8) XOR opts.xor (default 0x01)
   *   'garbage'         60 random bytes instead of the reply (unknown commands stay unanswered)
   *   'refuse-second'   (on by default) while a client is connected, another one is accepted
   *                     and closed at once (opts.reset: with a TCP RST instead of a FIN)
   * opts.times: apply to the next N requests (for 'verify-mismatch': N writes), then clear.
   */
  setFault(mode, opts = {}) {
    if (!FAULT_MODES.includes(mode)) {
      throw new RangeError(`unknown fault mode "${mode}" (known: ${FAULT_MODES.join(', ')})`);
    }
    const o = { ...opts };
    if (mode === 'split') {
      if (o.segment != null) checkInteger('split segment', o.segment, 1, 65535);
      if (o.gapMs != null) checkNumber('split gapMs', o.gapMs, 0, 60000);
    }
    if (mode === 'slow' && o.delayMs != null) checkNumber('slow delayMs', o.delayMs, 0, 600000);
    if (mode === 'drop' && o.afterBytes != null) checkInteger('drop afterBytes', o.afterBytes, 0, 1e9);
    if (mode === 'verify-mismatch') {
      if (o.offset != null) checkInteger('verify-mismatch offset', o.offset, 4, 59);
      if (o.xor != null) checkInteger('verify-mismatch xor', o.xor, 1, 255);
    }
    if (o.times != null) checkInteger('times', o.times, 1, 1e9);
    if (mode === 'refuse-second') {
      this._refuse = { reset: !!o.reset };
      return;
    }
    this._faults.set(mode, { opts: o, remaining: o.times == null ? Infinity : o.times });
  }

  /**
   * clearFault(mode) clears one mode; clearFault() clears every reply fault but leaves the
   * connection policy ('refuse-second') as it is: clear that one by name.
   */
  clearFault(mode) {
    if (mode == null) {
      this._faults.clear();
      return;
    }
    if (!FAULT_MODES.includes(mode)) {
      throw new RangeError(`unknown fault mode "${mode}" (known: ${FAULT_MODES.join(', ')})`);
    }
    if (mode === 'refuse-second') this._refuse = null;
    else this._faults.delete(mode);
  }

  /** Active faults: [{ mode, ...opts }]. */
  faults() {
    const out = [];
    if (this._refuse) out.push({ mode: 'refuse-second', ...(this._refuse.reset ? { reset: true } : {}) });
    for (const [mode, f] of this._faults) out.push({ mode, ...f.opts });
    return out;
  }

  _takeFaults(command) {
    const active = {};
    for (const [mode, f] of this._faults) {
      if (mode === 'verify-mismatch' && command !== 'writeRecord') continue;
      active[mode] = f.opts;
      f.remaining--;
      if (f.remaining <= 0) this._faults.delete(mode);
    }
    return active;
  }

  // ---- requests ------------------------------------------------------------------------------

  _handle(port, req) {
    const t = this._nowFn();
    const st = this.stats;
    st.requests++;
    const { command, record } = E.classify(req);
    st.byCommand[command]++;
    this._update(t);
    const faults = this._takeFaults(command);
    const ev = {
      port: port.name,
      command,
      record: record == null ? null : record,
      request: Buffer.from(req),
      faults: Object.keys(faults),
    };
    if (faults.silent) {
      this.emit('request', { ...ev, outcome: 'silent', reply: null, detail: null });
      return null;
    }
    const res = this._execute(command, record, req, faults, t);
    if (!res.reply) {
      this.emit('request', { ...ev, outcome: 'unknown', reply: null, detail: null });
      return null;
    }
    let bytes = res.reply;
    if (faults.garbage) {
      do bytes = this._rng.bytes(RECORD_SIZE); while (bytes.subarray(0, 4).equals(res.reply.subarray(0, 4)));
    }
    st.replies++;
    this.emit('request', { ...ev, outcome: 'reply', reply: bytes, detail: res.detail });
    const plan = { bytes, delayMs: 0, segment: 0, gapMs: 0, dropAfter: null };
    if (faults.slow) plan.delayMs = faults.slow.delayMs == null ? 1000 : faults.slow.delayMs;
    if (faults.split) {
      plan.segment = faults.split.segment == null ? 7 : faults.split.segment;
      plan.gapMs = faults.split.gapMs == null ? 5 : faults.split.gapMs;
    }
    if (faults.drop) plan.dropAfter = faults.drop.afterBytes == null ? 30 : faults.drop.afterBytes;
    return plan;
  }

  _execute(command, record, req, faults, t) {
    switch (command) {
      case 'status':
        return { reply: this._statusRecord(t), detail: null };
      case 'readRecord':
        return { reply: Buffer.from(this._records[record]), detail: null };
      case 'writeRecord': {
        // Stored as sent: the device validates nothing (m307.md §7). It answers with what it reads
        // back from NVM under the READ command.
        const data = Buffer.from(req.subarray(4, RECORD_SIZE));
        const vm = faults['verify-mismatch'];
        if (vm) {
          const off = vm.offset == null ? 8 : vm.offset;
          data[off - 4] ^= vm.xor == null ? 0x01 : vm.xor;
        }
        data.copy(this._records[record], 4);
        this._update(t);
        return { reply: Buffer.from(this._records[record]), detail: vm ? 'stored with a changed byte' : null };
      }
      case 'setClock':
        return { reply: Buffer.from(req), detail: this._storeClock(req, t) };
      case 'readClock':
        return { reply: this._clockRecord(t), detail: null };
      case 'readLog':
        return this._readLog(req);
      default:
        return { reply: null, detail: null };
    }
  }

  _storeClock(req, t) {
    const minute = E.fromBcd(req[5]);
    const hour = E.unpackHour(req[6]);
    const date = E.fromBcd(req[8]);
    const month = E.fromBcd(req[9]);
    const year = E.fromBcd(req[10]);
    let applied = false;
    let text = null;
    if (minute != null && minute <= 59 && hour != null && date != null && month != null && year != null) {
      const ms = Date.UTC(2000 + year, month - 1, date, hour, minute, 0);
      const f = E.clockFields(ms);
      if (f.month === month && f.date === date && date >= 1) {
        this._clockOffset = ms - t;
        applied = true;
        text = E.clockText(ms);
      }
    }
    this._logRate = req[11];
    this._rescheduleLog(t);
    this._track(t);
    return applied ? `clock ${text}, log every ${req[11]} min`
      : `clock unchanged (invalid date/time fields), log every ${req[11]} min`;
  }

  _clockRecord(t) {
    const b = Buffer.alloc(RECORD_SIZE, 0x00);
    b.set([...E.PREFIX.clock, 0x02], 0);
    const f = E.clockFields(this.deviceTime(t));
    b[4] = this.secondsEncoding === 'bcd' ? E.toBcd(f.second) : f.second;
    E.writeDateTime(b, 5, f);
    b[11] = this._logRate;
    b.writeUInt16BE(this.logCount, 12);
    return b;
  }

  _readLog(req) {
    const reset = req[4] === 0x01;
    const oldest = this._logTotal - this.logCount;
    if (reset) this._logRead = oldest;
    const from = Math.max(this._logRead, oldest);
    const to = this._logTotal;
    this._logRead = to;
    const parts = [];
    if (this.logEcho) parts.push(Buffer.from(req));
    parts.push(this._logSlice(from, to), E.LOG_END);
    return {
      reply: Buffer.concat(parts),
      detail: `${to - from} record(s)${reset ? ' from the oldest' : ''}${this.logEcho ? ' after an echo' : ''}`,
    };
  }
}

module.exports = { Requests, FAULT_MODES };
