'use strict';

// The device side of an Outback MATE bus (docs/protocols/mate.md), in plain JavaScript, written from
// the protocol notes independently of native/core/mate so that each side checks the other.
//
// A MateSimulator holds a hub on port 0 and devices on ports 1..10 (or one device on port 0
// without a hub). A transport opens a connection with sim.connect(write) and feeds it what
// arrived; each connection frames commands on its own:
//   * a pty cannot carry the 9th bit (parity), so a command is recognised by its fixed length
//     (8 bytes) and its checksum (mate.md §4). When the 8 bytes at the front do not check, one byte
//     is dropped and the next 8 are tried (resynchronisation); a silence of `silenceMs`
//     (default 20 ms, pymate's end-of-packet silence) drops whatever partial input is left.
//   * a command with a bad checksum is never answered (mate.md §14 presumes silence).
// Every decoded command is answered (or not) by the device on its port and reported as a
// 'command' event; empty ports never answer.

const { EventEmitter } = require('node:events');
const C = require('./codec');
const { PowerSystem } = require('./model');
const { DEVICE_CLASSES, HubDevice } = require('./devices');
const { applyPreset, PRESETS } = require('./presets');
const { Rng } = require('../rng');
const { Endpoint } = require('../endpoint');

const FAULT_MODES = Object.freeze([
  'silent', // no reply at all
  'bad-checksum', // the reply's checksum is wrong
  'leading-garbage', // junk bytes, then the correct reply
  'slow', // the correct reply after opts.delayMs
  'invalid-command', // byte0 with bit 7 set (the "invalid command" error of mate.md §4)
  'upper-byte', // a READ of register 0 answers 0x11xx (FlexMax, pymate issue #23)
]);

const DEFAULT_DEVICES = Object.freeze([
  { port: 1, type: 'mx' },
  { port: 2, type: 'fx' },
  { port: 3, type: 'dc' },
]);

const MAX_HUB_PORT = 10; // Hub10

function emptyStats() {
  return {
    bytesReceived: 0,
    bytesSent: 0,
    bytesDiscarded: 0,
    commands: 0,
    answered: 0,
    checksumErrors: 0,
    byPort: {},
  };
}

function checkInt(name, v, lo, hi) {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in ${lo}..${hi} (got ${v})`);
  return v;
}

/**
 * One transport endpoint (a pty, a socket): its own input buffer, resynchronisation and
 * silence timer, and its own pending (slow) replies.
 */
class MateConnection extends Endpoint {
  constructor(sim, write, opts = {}) {
    super(sim, opts.name || 'connection');
    this._write = typeof write === 'function' ? write : () => {};
    this._dropped = [];
    this._resyncing = false;
    this._pending = new Set();
  }

  /** Feed bytes that arrived from the MATE side. */
  receive(chunk) {
    if (!this._append(chunk)) return;
    while (this._buf.length >= C.COMMAND_LENGTH) {
      if (C.checksumOk(this._buf, 0, C.COMMAND_LENGTH)) {
        const cmd = Buffer.from(this._buf.subarray(0, C.COMMAND_LENGTH));
        this._buf = this._buf.subarray(C.COMMAND_LENGTH);
        this._flushDropped('resync');
        this._resyncing = false;
        this._dispatch(cmd);
      } else {
        // One checksum error per resynchronisation, not one per byte slid over.
        if (!this._resyncing) {
          this.sim.stats.checksumErrors++;
          this._resyncing = true;
        }
        this._dropped.push(this._buf[0]);
        this._buf = this._buf.subarray(1);
      }
    }
    this._arm();
  }

  _dispatch(cmd) {
    let ev;
    try {
      ev = this.sim.respond(cmd, { connection: this.name });
    } catch (err) {
      // e.g. a value fixed with set() that its field cannot hold: no reply, and say why
      this.sim.emit('deviceError', { connection: this.name, command: cmd, error: err });
      return;
    }
    if (ev.reply) this._send(ev.reply, ev.delayMs);
  }

  _flushDropped(reason) {
    if (!this._dropped.length) return;
    const bytes = Buffer.from(this._dropped);
    this._dropped = [];
    this.sim.stats.bytesDiscarded += bytes.length;
    this.sim.emit('discard', { connection: this.name, bytes, reason });
  }

  _arm() {
    const waiting = this._buf.length || this._dropped.length;
    this._armSilence(waiting ? this.sim.silenceMs : 0, () => {
      const reason = this._resyncing ? 'checksum' : 'incomplete';
      this._dropped.push(...this._buf);
      this._buf = Buffer.alloc(0);
      this._resyncing = false;
      this._flushDropped(reason);
    });
  }

  _send(bytes, delayMs) {
    let handle = null;
    const fire = () => {
      if (handle) this._pending.delete(handle);
      if (this.closed) return;
      this.sim.stats.bytesSent += bytes.length;
      try {
        this._write(bytes);
      } catch (err) {
        this.sim.emit('transportError', err);
      }
    };
    if (!(delayMs > 0)) {
      fire();
      return;
    }
    handle = setTimeout(fire, delayMs);
    this._pending.add(handle);
  }

  /** Stop: drop buffered input and replies not sent yet. */
  close() {
    if (!this._end()) return;
    for (const h of this._pending) clearTimeout(h);
    this._pending.clear();
    this.sim._conns.delete(this);
  }
}

/**
 * new MateSimulator({
 *   hub = true,            // a hub on port 0; false: a single device on port 0
 *   devices,               // [{ port, type: 'mx'|'fx'|'dc', ...device options }]
 *                          //   default: MX on 1, FX (230 V) on 2, FLEXnet DC on 3 (no hub: MX on 0)
 *   preset,                // 'capture': the values of the capture (mate.md §13) (byte-exact replies)
 *   seed = 1,              // model weather/load and the MX log history; garbage bytes
 *   now = Date.now,        // clock (ms or Date) for the day/night model
 *   utcOffsetMinutes,      // local time of the model (default: the host's)
 *   silenceMs = 20,        // silence after which partial input is dropped (0: never)
 *   replyDelayMs = 0,      // delay before every reply
 *   system,                // PowerSystem options: capacityAh, arrayWatts, baseLoadWatts, ...
 * })
 *
 * Device options: mx { firmware: '1.9.8', auxMode, auxOn, registers };
 *   fx { firmware: 61, is230V = true, grid = false, acInputVoltage, acOutputVoltage,
 *        chargePhase: 'charge'|'silent'|'float', controls: { inverter, acIn, charger, aux, eq },
 *        registers };  dc { firmware: '1.1.71', registers }.
 *
 * Events: 'command' (one per decoded command: { port, type, typeName, address, value,
 *   command, device, reply, outcome, fault, note, delayMs }), 'discard' ({ connection, bytes,
 *   reason }), 'time' / 'date' (decoded sync writes), 'temperature' (0x4001 relays),
 *   'control' (FX control changes), 'deviceError' ({ command, error }: a device could not
 *   build its reply, e.g. a fixed value out of its field's range; the command gets none).
 */
class MateSimulator extends EventEmitter {
  constructor(opts = {}) {
    super();
    if (opts == null || typeof opts !== 'object') throw new TypeError('options must be an object');
    this.hasHub = opts.hub !== false;
    this.seed = opts.seed == null ? 1 : checkInt('seed', Number(opts.seed), 0, 0xffffffff);
    this._now = opts.now == null ? Date.now : opts.now;
    if (typeof this._now !== 'function') throw new TypeError('now must be a function returning ms or a Date');
    this.silenceMs = opts.silenceMs == null ? 20 : Number(opts.silenceMs);
    this.replyDelayMs = opts.replyDelayMs == null ? 0 : Number(opts.replyDelayMs);
    if (!(this.silenceMs >= 0)) throw new RangeError(`silenceMs must be >= 0 (got ${opts.silenceMs})`);
    if (!(this.replyDelayMs >= 0)) throw new RangeError(`replyDelayMs must be >= 0 (got ${opts.replyDelayMs})`);
    const offset = opts.utcOffsetMinutes == null ? -new Date(this.nowMs()).getTimezoneOffset() : Number(opts.utcOffsetMinutes);
    this.system = new PowerSystem({ ...(opts.system || {}), seed: this.seed, utcOffsetMinutes: offset });
    this.stats = emptyStats();
    this.time = null; // last time written to 0x4004 (any device), decoded
    this.date = null; // last date written to 0x4005, decoded
    this._rng = new Rng(this.seed ^ 0x5bd1e995);
    this._conns = new Set();
    this._devices = new Map();

    if (this.hasHub) this._devices.set(0, new HubDevice(this, {}));
    const list = opts.devices == null ? (this.hasHub ? DEFAULT_DEVICES : [{ port: 0, type: 'mx' }]) : opts.devices;
    if (!Array.isArray(list)) throw new TypeError('devices must be an array of { port, type }');
    if (!this.hasHub && list.length !== 1) throw new RangeError(`without a hub there is exactly one device, on port 0 (got ${list.length})`);
    for (const d of list) {
      if (d == null || typeof d !== 'object') throw new TypeError('each device must be an object { port, type }');
      const Cls = DEVICE_CLASSES[d.type];
      if (!Cls || d.type === 'hub') throw new RangeError(`device type must be mx, fx or dc (got ${JSON.stringify(d.type)})`);
      const port = d.port == null && !this.hasHub ? 0 : d.port;
      if (this.hasHub) checkInt('device port', port, 1, MAX_HUB_PORT);
      else if (port !== 0) throw new RangeError(`without a hub the device is on port 0 (got ${port})`);
      if (this._devices.has(port)) throw new RangeError(`port ${port} is used twice`);
      this._devices.set(port, new Cls(this, { ...d, port }));
    }
    if (opts.preset != null) applyPreset(this, opts.preset);
  }

  /** The simulator's clock in epoch milliseconds. */
  nowMs() {
    const t = this._now();
    const ms = t instanceof Date ? t.getTime() : Number(t);
    if (!Number.isFinite(ms)) throw new RangeError(`now() returned ${t}`);
    return ms;
  }

  /** Devices in port order (the hub first). */
  devices() {
    return [...this._devices.values()].sort((a, b) => a.port - b.port);
  }

  /** The device on a port, or null. */
  device(port) {
    return this._devices.get(port) || null;
  }

  _first(type) {
    return this.devices().find((d) => d.type === type) || null;
  }

  mx() { return this._first('mx'); }

  fx() { return this._first('fx'); }

  dc() { return this._first('dc'); }

  /** The first FX's controls and the state they lead to, or null without an FX. */
  get fxState() {
    const fx = this.fx();
    if (!fx) return null;
    const v = fx.values();
    return { port: fx.port, ...fx.controls, operationalMode: v.operationalMode, acMode: v.acMode, auxOn: v.auxOn };
  }

  /**
   * Make a port misbehave. opts.times: only the next N commands to that port (for
   * 'upper-byte': the next N reads of register 0). Options: slow { delayMs = 250 },
   * leading-garbage { count = 3, bytes }, upper-byte { upper = 0x11 }.
   */
  setFault(port, mode, opts = {}) {
    const dev = this._devices.get(port);
    if (!dev) throw new RangeError(`there is no device on port ${port}`);
    if (!FAULT_MODES.includes(mode)) throw new RangeError(`fault mode must be one of ${FAULT_MODES.join(', ')} (got ${JSON.stringify(mode)})`);
    const o = { ...(opts || {}) };
    if (o.times != null) checkInt('times', o.times, 1, 1e9);
    if (mode === 'slow') o.delayMs = o.delayMs == null ? 250 : Number(o.delayMs);
    if (mode === 'slow' && !(o.delayMs >= 0 && o.delayMs <= 600000)) throw new RangeError(`delayMs must be 0..600000 (got ${opts.delayMs})`);
    if (mode === 'leading-garbage') {
      if (o.bytes != null) o.bytes = Buffer.from(o.bytes);
      else o.count = checkInt('count', o.count == null ? 3 : o.count, 1, 64);
    }
    if (mode === 'upper-byte') o.upper = checkInt('upper', o.upper == null ? 0x11 : o.upper, 1, 255);
    dev.fault = { mode, opts: o, remaining: o.times == null ? null : o.times };
    return this;
  }

  /** Clear the fault of one port, or of every port without an argument. */
  clearFault(port) {
    if (port === undefined) {
      for (const d of this._devices.values()) d.fault = null;
    } else {
      const dev = this._devices.get(port);
      if (!dev) throw new RangeError(`there is no device on port ${port}`);
      dev.fault = null;
    }
    return this;
  }

  _portStats(port) {
    if (!this.stats.byPort[port]) this.stats.byPort[port] = { commands: 0, answered: 0 };
    return this.stats.byPort[port];
  }

  /**
   * The answer to one 8-byte command, faults included, without a transport: returns the
   * event also emitted as 'command' ({ ..., reply: Buffer | null, delayMs }). A command with
   * a bad checksum returns { outcome: 'bad-checksum', reply: null } (counted, no event).
   */
  respond(bytes, meta = {}) {
    const raw = Buffer.from(bytes);
    const cmd = raw.length === C.COMMAND_LENGTH ? C.parseCommand(raw) : null;
    if (!cmd) {
      this.stats.checksumErrors++;
      return { outcome: 'bad-checksum', command: raw, reply: null, delayMs: 0 };
    }
    this.stats.commands++;
    const ps = this._portStats(cmd.port);
    ps.commands++;
    const dev = this._devices.get(cmd.port) || null;
    const ev = {
      port: cmd.port,
      type: cmd.type,
      typeName: cmd.typeName,
      address: cmd.address,
      value: cmd.value,
      command: raw,
      device: dev ? dev.type : null,
      connection: meta.connection || null,
      reply: null,
      outcome: 'no-device',
      fault: null,
      note: null,
      delayMs: 0,
    };
    if (dev) this._answer(dev, cmd, ev);
    if (ev.reply) {
      this.stats.answered++;
      ps.answered++;
    }
    this.emit('command', ev);
    return ev;
  }

  _answer(dev, cmd, ev) {
    dev.stats.commands++;
    const ans = dev.answer(cmd);
    ev.note = ans.note || null;
    const f = dev.fault;
    let mode = null;
    if (f && (f.mode !== 'upper-byte' || (cmd.type === C.CMD.READ && cmd.address === 0x0000))) {
      mode = f.mode;
      if (f.remaining != null && --f.remaining <= 0) dev.fault = null;
    }
    ev.fault = mode;
    if (ans.silent || mode === 'silent') {
      ev.outcome = 'silent';
      return;
    }
    let payload = ans.payload;
    if (!payload) {
      let value = ans.value & 0xffff;
      if (mode === 'upper-byte') value = (f.opts.upper << 8) | (value & 0x00ff);
      payload = Buffer.alloc(2);
      payload.writeUInt16BE(value, 0);
    }
    let byte0 = ans.byte0;
    if (mode === 'invalid-command') byte0 |= 0x80;
    let reply = C.frame(byte0, payload);
    if (mode === 'bad-checksum') reply[reply.length - 1] ^= 0xff;
    if (mode === 'leading-garbage') {
      const junk = f.opts.bytes ? Buffer.from(f.opts.bytes) : this._rng.bytes(f.opts.count);
      reply = Buffer.concat([junk, reply]);
    }
    ev.delayMs = this.replyDelayMs + (mode === 'slow' ? f.opts.delayMs : 0);
    ev.reply = reply;
    ev.outcome = 'reply';
    dev.stats.answered++;
  }

  /** Open a transport endpoint: write(buf) sends to the MATE side; returns { receive(buf), close() }. */
  connect(write, opts = {}) {
    const c = new MateConnection(this, write, opts);
    this._conns.add(c);
    return c;
  }

  /** A plain snapshot for logs and tests. */
  describe() {
    return {
      hub: this.hasHub,
      devices: this.devices().map((d) => d.describe()),
      time: this.time,
      date: this.date,
    };
  }

  /** Close every connection (pending replies are dropped). */
  close() {
    for (const c of [...this._conns]) c.close();
  }
}

module.exports = {
  MateSimulator,
  MateConnection,
  FAULT_MODES,
  DEFAULT_DEVICES,
  PRESETS,
};
