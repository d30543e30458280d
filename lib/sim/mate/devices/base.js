'use strict';

// What every simulated device behind a MATE shares (MateDevice): its register table, the
// time/date sync registers, fixed values, and the answer to a decoded command. HubDevice, the
// hub on port 0, is nothing more.

const C = require('../codec');

const round1 = (v) => Math.round(v * 10) / 10;
const u16 = (v) => Math.round(v) & 0xffff; // two's complement for negative numbers

class MateDevice {
  constructor(sim, cfg, type) {
    this.sim = sim;
    this.port = cfg.port;
    this.type = type;
    this.typeId = C.DEVICE_TYPE[type];
    this.name = cfg.name || `${type}@${cfg.port}`;
    this.fixed = {};
    this.time = null; // last 0x4004 write, decoded
    this.date = null; // last 0x4005 write, decoded
    this.fault = null;
    this.stats = { commands: 0, answered: 0 };
    this._regs = new Map();
    this._defineRegisters();
    if (cfg.registers) {
      for (const [a, v] of Object.entries(cfg.registers)) this.defineRegister(Number(a), v & 0xffff);
    }
  }

  // --- registers ---------------------------------------------------------------------------

  /**
   * defineRegister(address, spec): spec is a number (a stored, writable value) or
   * { read: () => number, write?: (v) => ({ echo, note }) | undefined, value?, writable? }.
   */
  defineRegister(address, spec) {
    if (typeof spec === 'number') spec = { value: spec & 0xffff, writable: true };
    this._regs.set(address & 0xffff, { writable: !!spec.write, ...spec });
  }

  _stored(table) {
    for (const [a, v] of Object.entries(table)) this.defineRegister(Number(a), v);
  }

  _live(address, read, write) {
    this.defineRegister(address, write ? { read, write } : { read });
  }

  _defineRegisters() {
    this._live(0x0000, () => this.typeId);
  }

  /** MX and DC: 0x0001 reads 0, 0x0002..0x0004 the three parts of the firmware revision. */
  _defineFirmwareRegisters() {
    this._live(0x0001, () => 0);
    for (let i = 0; i < 3; i++) this._live(0x0002 + i, () => this.firmware[i] || 0);
  }

  _defineSyncRegisters() {
    this._live(0x4004, () => (this.time ? this.time.raw : 0), (v) => this._syncWrite('time', v));
    this._live(0x4005, () => (this.date ? this.date.raw : 0), (v) => this._syncWrite('date', v));
  }

  _syncWrite(kind, v) {
    const decoded = kind === 'time' ? C.decodeTime(v) : C.decodeDate(v);
    const info = { port: this.port, device: this.type, ...decoded };
    this[kind] = decoded;
    this.sim[kind] = info;
    this.sim.emit(kind, info);
    const note = decoded.valid ? undefined : `${kind} ${kind === 'time' ? `${decoded.hours}:${decoded.minutes}:${decoded.seconds}` : `${decoded.year}-${decoded.month}-${decoded.day}`} is not a valid ${kind}; kept anyway`;
    return { echo: this._syncEcho(kind, v), note };
  }

  _syncEcho(kind, v) {
    return v;
  }

  /** { value, known } for a READ; unknown registers read 0 (as the emulators do). */
  readRegister(address) {
    const spec = this._regs.get(address);
    if (!spec) return { value: 0, known: false };
    const v = spec.read ? spec.read() : spec.value;
    return { value: u16(v), known: true };
  }

  /** { echo, note } for a WRITE: the value echoed, and what happened when it was not stored. */
  writeRegister(address, value) {
    const spec = this._regs.get(address);
    if (!spec) return { echo: value, note: 'unknown register: echoed, not stored' };
    if (spec.write) {
      const r = spec.write(value) || {};
      return { echo: r.echo == null ? value : r.echo & 0xffff, note: r.note };
    }
    if (spec.writable) {
      spec.value = value & 0xffff;
      return { echo: value };
    }
    return { echo: value, note: 'read-only register: echoed, not changed' };
  }

  // --- values ------------------------------------------------------------------------------

  /** The model's view at the simulator's clock (see PowerSystem.at). */
  _model() {
    return this.sim.system.at(this.sim.nowMs());
  }

  /** Fix status fields (engineering units) to given values; they stop following the model. */
  set(fields) {
    if (fields == null || typeof fields !== 'object') throw new TypeError('set() needs an object of fields');
    const known = this.fieldNames();
    for (const k of Object.keys(fields)) {
      if (!known.includes(k)) throw new RangeError(`${this.type} has no field "${k}" (fields: ${known.join(', ')})`);
    }
    Object.assign(this.fixed, fields);
    return this;
  }

  /** Let fields follow the model again (all of them without arguments). */
  unset(...names) {
    if (!names.length) this.fixed = {};
    for (const n of names) delete this.fixed[n];
    return this;
  }

  fieldNames() {
    return [];
  }

  values() {
    return { ...this._liveValues(), ...this.fixed };
  }

  _liveValues() {
    return {};
  }

  // --- commands ----------------------------------------------------------------------------

  /** The reply to a decoded command (checksum already checked): { byte0, payload, note } | { silent, note }. */
  answer(cmd) {
    switch (cmd.type) {
      case C.CMD.READ: {
        const r = this.readRegister(cmd.address);
        return { byte0: this._readByte0(), value: r.value, note: r.known ? undefined : 'unknown register: answered 0' };
      }
      case C.CMD.WRITE: {
        const r = this.writeRegister(cmd.address, cmd.value);
        return { byte0: this._writeByte0(), value: r.echo, note: r.note };
      }
      case C.CMD.INC:
      case C.CMD.DEC: {
        const r = this.readRegister(cmd.address);
        return {
          byte0: this.typeId === C.DEVICE_TYPE.hub ? 0x00 : cmd.type,
          value: r.value,
          note: `${cmd.type === C.CMD.INC ? 'inc' : 'dec'} (type ${cmd.type}) not applied: polarity disputed; answered the value unchanged`,
        };
      }
      case C.CMD.STATUS: {
        const payload = this.statusPage(cmd.address, cmd.value);
        if (!payload) return { silent: true, note: `no status page 0x${cmd.address.toString(16)} on a ${this.type}` };
        return { byte0: this.typeId, payload };
      }
      case C.CMD.LOG: {
        const payload = this.logPage(cmd.value);
        if (!payload) return { silent: true, note: `a ${this.type} has no log pages` };
        return { byte0: C.CMD.LOG, payload };
      }
      default:
        return { silent: true, note: `unknown command type 0x${cmd.type.toString(16).padStart(2, '0')}` };
    }
  }

  _readByte0() {
    return C.CMD.READ;
  }

  _writeByte0() {
    return C.CMD.WRITE;
  }

  statusPage() {
    return null;
  }

  logPage() {
    return null;
  }

  describe() {
    return {
      port: this.port,
      type: this.type,
      name: this.name,
      fault: this.fault ? { mode: this.fault.mode, ...this.fault.opts } : null,
      fixed: Object.keys(this.fixed),
    };
  }
}

// -------------------------------------------------------------------------------------------

/** Hub4/Hub10 on port 0: answers reads (and writes) with byte0 00; no status or log pages. */
class HubDevice extends MateDevice {
  constructor(sim, cfg) {
    super(sim, { ...cfg, port: 0 }, 'hub');
  }

  _readByte0() {
    return 0x00;
  }

  _writeByte0() {
    return 0x00;
  }
}

module.exports = { MateDevice, HubDevice, round1, u16 };
