'use strict';
// MateBus: talk to Outback MATE-bus devices (MX/FM charge controller, FX inverter,
// FLEXnet DC, hub) as a MATE would, from Node.js.
const { EventEmitter } = require('node:events');
const native = require('../native');
const v = require('../validate');
const { ValidationError, DeviceError, ProtocolError } = require('../errors');
const defaults = require('../defaults').mate;
const u = require('./units');
const { mate } = require('./index');

// Every number of the protocol comes from native/core/mate through the addon.
const P = native.mate;
const CMD = P.commands; // { read, write, status, log }
const TYPE_IDS = P.deviceTypes; // { none, hub, fx, mx, dc }
const TYPE_NAMES = Object.fromEntries(Object.entries(TYPE_IDS).map(([name, id]) => [id, name]));

// FX controls: plain WRITEs of an enum value (table in native/core/mate/registers.cpp).
// { inverter: { register: 0x003d, values: { off: 0, search: 1, on: 2 } }, ... }
const FX_CONTROLS = Object.freeze(Object.fromEntries(P.fxControls.map((c) => [c.name, Object.freeze({ register: c.address, values: Object.freeze(c.values) })])));

function checkPort(port) {
  return v.integer('port', port, 0, P.maxPort);
}

// The address of a register by its name in a device's table.
function addressOf(type, name) {
  const spec = mate.registers(type).find((r) => r.name === name);
  if (!spec) throw new Error(`the ${type} register table has no "${name}"`);
  return spec.address;
}

// A reply from another device type than the one asked for: EMISMATCH, as the core reports it.
function typeMismatch(port, want, got, what) {
  return new ProtocolError(`port ${port} answered as ${TYPE_NAMES[got] || got}, not ${what}`, 'EMISMATCH',
    { mismatch: 'deviceType', expected: TYPE_IDS[want], got, port });
}

class MateDevice {
  constructor(bus, port, type) {
    this.bus = bus;
    this.port = checkPort(port);
    this.type = type;
    this._table = null;
  }

  get registers() {
    if (!this._table) this._table = mate.registers(this.type);
    return this._table;
  }

  _spec(name) {
    const spec = this.registers.find((r) => r.name === name);
    if (!spec) {
      throw new ValidationError(`${this.type} has no register "${name}" (known: ${this.registers.map((r) => r.name).join(', ')})`,
        'EINVAL', { argument: 'name' });
    }
    return spec;
  }

  /** Reads a named register: { name, value, unit, raw, address, format() }. */
  async read(name) {
    const spec = this._spec(name);
    if (!spec.readable) throw new ValidationError(`register "${name}" cannot be read`, 'EINVAL', { argument: 'name' });
    const raw = await this.bus.readRegister(this.port, spec.address);
    const value = native.mate.registerValue(TYPE_IDS[this.type], name, raw);
    return u.withUnits({ name, value, raw, address: spec.address, unit: spec.unit, evidence: spec.evidence }, { value: spec.unit });
  }

  /** Reads a register by address: the raw 16-bit value. */
  readRaw(address) {
    return this.bus.readRegister(this.port, address);
  }

  /**
   * Writes a named register in engineering units (needs allowControl). The native session
   * reads it back and rejects with DeviceError EVERIFY when it did not take the value.
   */
  async write(name, value) {
    const spec = this._spec(name);
    this.bus._needControl(`writing ${this.type} register "${name}"`);
    v.number('value', value, -1e9, 1e9);
    const raw = native.mate.registerRaw(TYPE_IDS[this.type], name, value);
    const back = await this.bus._writeVerified(this.port, spec.address, raw);
    return native.mate.registerValue(TYPE_IDS[this.type], name, back);
  }

  /** Firmware revision: the FX's firmwareRevision; the MX's and DC's firmwareA..C as A.B.C. */
  async firmware() {
    if (this.type === 'fx') return String(await this.bus.readRegister(this.port, addressOf('fx', 'firmwareRevision')));
    const parts = [];
    for (const n of ['firmwareA', 'firmwareB', 'firmwareC']) parts.push(await this.bus.readRegister(this.port, addressOf(this.type, n)));
    return parts.join('.');
  }
}

class MxDevice extends MateDevice {
  constructor(bus, port) {
    super(bus, port, 'mx');
  }

  /** { pvCurrent, batteryCurrent, kilowattHours, ampHours, pvVoltage, batteryVoltage, chargerMode, auxMode, auxOn, errors, raw, units } */
  async getStatus() {
    const r = await this.bus.status(this.port, P.statusPage, P.mxStatusParam);
    if (r.byte0 !== TYPE_IDS.mx) throw typeMismatch(this.port, 'mx', r.byte0, 'an MX');
    const s = mate.decode.mxStatus(r.payload);
    s.raw = r.payload.toString('hex');
    return s;
  }

  /** A daily log page: 0 = today so far, -1 = yesterday ... -127 (pyMATE's convention). */
  async getLogPage(day = 0) {
    v.integer('day', day, -127, 0);
    const r = await this.bus._command(this.port, CMD.log, 0, -day);
    const page = mate.decode.mxLogPage(r.payload);
    page.day = page.day === 0 ? 0 : -page.day;
    page.raw = r.payload.toString('hex');
    return page;
  }
}

class FxDevice extends MateDevice {
  constructor(bus, port) {
    super(bus, port, 'fx');
  }

  async getStatus() {
    const r = await this.bus.status(this.port, P.statusPage, 0);
    if (r.byte0 !== TYPE_IDS.fx) throw typeMismatch(this.port, 'fx', r.byte0, 'an FX');
    const s = mate.decode.fxStatus(r.payload);
    s.raw = r.payload.toString('hex');
    return s;
  }

  /** Error names from the FX's errors register (same bits as status byte 7). */
  async getErrors() {
    return this._bits('errors');
  }

  /** Warning names from the FX's warnings register (same bits as status byte 12). */
  async getWarnings() {
    return this._bits('warnings');
  }

  async _bits(kind) {
    const raw = await this.bus.readRegister(this.port, addressOf('fx', kind));
    return kind === 'errors' ? native.mate.decode.fxErrors(raw) : native.mate.decode.fxWarnings(raw);
  }

  /** Current control settings: { inverter: 'on', acIn: 'use', charger: 'auto', aux: 'off', eq: 'off' } */
  async getControls() {
    const out = {};
    for (const [name, c] of Object.entries(FX_CONTROLS)) {
      const raw = await this.bus.readRegister(this.port, c.register);
      out[name] = Object.keys(c.values).find((k) => c.values[k] === raw) ?? raw;
    }
    return out;
  }

  /**
   * setControl('inverter', 'search'). Refused with ValidationError ECONTROL unless the bus
   * was opened with { allowControl: true }: writing inverter 'off' cuts the AC output.
   */
  async setControl(control, value) {
    const c = FX_CONTROLS[control];
    if (!c) v.fail('control', `one of ${Object.keys(FX_CONTROLS).join(', ')}`, control, 'EINVAL');
    if (!(value in c.values)) v.fail('value', `one of ${Object.keys(c.values).join(', ')} for ${control}`, value, 'EINVAL');
    this.bus._needControl(`setting the FX ${control} control`);
    try {
      await this.bus._writeVerified(this.port, c.register, c.values[value]);
    } catch (err) {
      if (err.code === 'EVERIFY') err.message = `FX ${control} did not change to ${value}: ${err.message}`;
      throw err;
    }
    return value;
  }
}

class DcDevice extends MateDevice {
  constructor(bus, port) {
    super(bus, port, 'dc');
  }

  /** All six status pages (0x0A..0x0F) decoded as one block; { pages: 3 } reads A..C only. */
  async getStatus(options = {}) {
    const { pages = 6 } = v.knownKeys('options', v.plainObject('options', options), ['pages']);
    v.integer('pages', pages, 1, 6);
    const parts = [];
    for (let i = 0; i < pages; i++) {
      const r = await this.bus.status(this.port, P.dcFirstPage + i, 0);
      if (r.byte0 !== TYPE_IDS.dc) throw typeMismatch(this.port, 'dc', r.byte0, 'a FLEXnet DC');
      parts.push(r.payload);
    }
    const block = Buffer.concat(parts);
    const s = mate.decode.dcStatus(block);
    s.raw = block.toString('hex');
    return s;
  }

  /**
   * Resets today's minimum battery voltage (the DC's resetBatteryMin register). It clears a
   * statistic and changes nothing in how the system runs, so it does not need allowControl.
   */
  resetDailyMinimum() {
    return this.bus._write(this.port, addressOf('dc', 'resetBatteryMin'), DC_RESET);
  }

  /** Resets today's maximum battery voltage (resetBatteryMax); no allowControl needed. */
  resetDailyMaximum() {
    return this.bus._write(this.port, addressOf('dc', 'resetBatteryMax'), DC_RESET);
  }
}

const DEVICE_CLASSES = { mx: MxDevice, fx: FxDevice, dc: DcDevice };
const DEVICE_TYPE_REGISTER = addressOf('mx', 'deviceType'); // the same register on every device
const DC_RESET = P.dcResetValue; // what a MATE writes to the DC's reset registers
const PARITY_MODES = ['auto', 'mark-space', 'odd-even']; // how the 9th bit is made (docs/ARCHITECTURE.md)
const TRANSPORTS = ['serial', 'pjon'];

class MateBus extends EventEmitter {
  /**
   * What open() checks, without opening: the path and the options (library defaults for
   * the missing ones), resolved, or a ValidationError naming the first bad one. The editor's
   * Scan checks a panel's settings with it before anything reaches the port.
   */
  static checkOptions(path, options = {}) {
    if (typeof path !== 'string' || !path) v.fail('path', 'a serial port path such as "/dev/ttyUSB0"', path, 'EINVAL');
    const o = v.plainObject('options', options);
    const keys = ['parityMode', 'transport', 'timeout', 'retries', 'allowControl', 'serialDriver', 'interFrameDelay',
      'baudRate', 'reconnectMinDelay', 'reconnectMaxDelay'];
    v.knownKeys('options', o, [...keys, 'signal']);
    const opts = { path };
    for (const k of keys) opts[k] = o[k] ?? defaults[k];
    v.oneOf('parityMode', opts.parityMode, PARITY_MODES);
    v.oneOf('transport', opts.transport, TRANSPORTS);
    v.integer('timeout', opts.timeout, 10, 10000);
    v.integer('retries', opts.retries, 0, 10);
    if (typeof opts.allowControl !== 'boolean') v.fail('allowControl', 'true or false', opts.allowControl, 'EINVAL');
    v.oneOf('serialDriver', opts.serialDriver, v.SERIAL_DRIVERS);
    // 'auto': none on a pseudo-terminal, the MATE's 2 ms on a serial line (one rule for every
    // family: io::autoGap in native/io/channel.cpp).
    if (opts.interFrameDelay !== 'auto') v.number('interFrameDelay', opts.interFrameDelay, 0, 1000);
    v.reconnectDelays(opts);
    return opts;
  }

  /**
   * Opens the bus. parityMode 'auto' uses mark/space parity where the port has it and the
   * per-byte odd/even emulation otherwise. transport 'pjon' talks to uMATE's serial bridge.
   */
  static async open(path, options = {}) {
    const opts = MateBus.checkOptions(path, options);
    const signal = v.abortSignal('signal', options.signal);
    const bus = new MateBus(opts);
    bus.parityMode = await v.abortable(signal, () => bus.close(), () => bus._native.open());
    return bus;
  }

  constructor(opts) {
    super();
    this.path = opts.path;
    this.options = Object.freeze({ ...opts });
    this._state = 'connecting';
    this._closed = false;
    this._devices = null;
    this._duties = [];
    this._native = new native.NativeMateBus(opts, (state, error, retryIn) => {
      this._state = state;
      this.emit('state', { state, error: error || null, retryIn });
    });
  }

  get state() {
    return this._state;
  }

  /** Fixed when the bus is opened: a flow cannot switch controls on later. */
  get allowControl() {
    return this.options.allowControl;
  }

  _needControl(what) {
    if (!this.allowControl) {
      throw new ValidationError(`${what} changes how the system runs (it can cut power); open the bus with { allowControl: true } to allow it`,
        'ECONTROL', { argument: 'allowControl' });
    }
  }

  _command(port, type, address, value, retries) {
    checkPort(port);
    return this._native.command(port, type, address, value, retries);
  }

  async readRegister(port, address) {
    v.integer('address', address, 0, 0xffff);
    return (await this._command(port, CMD.read, address, 0)).value;
  }

  /**
   * WRITE (type 03) of any register. Resolves with the value the device echoed (not always the
   * full value: docs/protocols/mate.md §5). A raw write can change anything, setpoints and the inverter mode
   * included, so it needs { allowControl: true } like the named controls.
   */
  async writeRegister(port, address, value) {
    v.integer('address', address, 0, 0xffff);
    v.integer('value', value, 0, 0xffff);
    this._needControl(`writing register 0x${address.toString(16).padStart(4, '0')}`);
    return this._write(port, address, value);
  }

  // Writes without the allowControl check: for callers that checked it already (named
  // registers, FX controls) and for what a MATE writes anyway (clock, date, battery
  // temperature relay, the DC's daily min/max statistics).
  async _write(port, address, value) {
    return (await this._command(port, CMD.write, address, value)).value;
  }

  // WRITE then READ back in the native session (like M307's verified writes): resolves with
  // the value read back, rejects with DeviceError EVERIFY when it differs.
  _writeVerified(port, address, value) {
    checkPort(port);
    return this._native.writeVerified(port, address, value);
  }

  /** A raw STATUS request: { byte0, payload } */
  status(port, page, param = 0) {
    v.integer('page', page, 0, 0xff);
    return this._command(port, CMD.status, page, param);
  }

  /**
   * Finds the devices: port 0 first; behind a hub, ports 1..10. An empty port costs one
   * timeout. [{ port, type: 'hub'|'mx'|'fx'|'dc', typeId, firmware }]
   */
  async scan(options = {}) {
    const { firmware = false, onProgress } = v.knownKeys('options', v.plainObject('options', options), ['firmware', 'onProgress']);
    const found = [];
    const probe = async (port) => {
      try {
        const raw = (await this._command(port, CMD.read, DEVICE_TYPE_REGISTER, 0, port === 0 ? undefined : 1)).value;
        const typeId = raw & P.deviceTypeMask; // some units set the upper byte (pymate #23)
        return { port, type: TYPE_NAMES[typeId] || `unknown-${typeId}`, typeId };
      } catch (err) {
        if (err.code === 'ETIMEDOUT') return null;
        throw err;
      }
    };
    const first = await probe(0);
    if (onProgress) onProgress({ port: 0, of: P.maxPort, found: first });
    if (first) found.push(first);
    if (first && first.type === 'hub') {
      for (let p = 1; p <= P.maxPort; p++) {
        const d = await probe(p);
        if (onProgress) onProgress({ port: p, of: P.maxPort, found: d });
        if (d) found.push(d);
      }
    }
    if (firmware) {
      for (const d of found) if (DEVICE_CLASSES[d.type]) d.firmware = await this.device(d.port, d.type).firmware();
    }
    this._devices = found;
    return found.map((d) => ({ ...d }));
  }

  device(port, type) {
    const Cls = DEVICE_CLASSES[type];
    if (!Cls) v.fail('type', "'mx', 'fx' or 'dc'", type, 'EINVAL');
    return new Cls(this, port);
  }

  mx(port = 0) {
    return new MxDevice(this, port);
  }

  fx(port = 0) {
    return new FxDevice(this, port);
  }

  dc(port = 0) {
    return new DcDevice(this, port);
  }

  /**
   * The first device of a type. Uses the last scan's result; when that has no such device
   * (nothing was plugged in yet, the hub was off) it scans again before giving up.
   */
  async find(type) {
    v.oneOf('type', type, ['mx', 'fx', 'dc']);
    const cached = this._devices && this._devices.find((x) => x.type === type);
    if (cached) return this.device(cached.port, type);
    await this.scan();
    const d = this._devices.find((x) => x.type === type);
    if (!d) throw new DeviceError(`no ${type} found on the bus (found: ${this._devices.map((x) => `${x.type}@${x.port}`).join(', ') || 'nothing'})`, 'ENODEVICE');
    return this.device(d.port, type);
  }

  /**
   * Does what a MATE does for its devices (docs/protocols/mate.md §8): time to MX and DC every 30 s, date to DC
   * every 60 s, the MX battery temperature relayed to FX and DC every 60 s. Errors are
   * emitted as 'duty-error' events. Returns a function that stops it.
   */
  startMasterDuties(options = {}) {
    const o = v.knownKeys('options', v.plainObject('options', options), ['timeInterval', 'dateInterval', 'temperatureInterval', 'now']);
    const { timeInterval = 30000, dateInterval = 60000, temperatureInterval = 60000, now = () => new Date() } = o;
    this.stopMasterDuties();
    const run = (name, fn) => async () => {
      try {
        if (!this._devices) {
          // One scan for all duties that start together.
          this._dutyScan ??= this.scan().finally(() => { this._dutyScan = null; });
          await this._dutyScan;
        }
        await fn();
        this.emit('duty', name);
      } catch (err) {
        this.emit('duty-error', Object.assign(err, { duty: name }));
      }
    };
    const ports = (...types) => (this._devices || []).filter((d) => types.includes(d.type)).map((d) => d.port);
    const time = run('time', async () => {
      const t = now();
      const raw = mate.encode.time(t.getHours(), t.getMinutes(), t.getSeconds());
      for (const p of ports('mx', 'dc')) await this._write(p, addressOf(this._typeAt(p), 'time'), raw);
    });
    const date = run('date', async () => {
      const t = now();
      const raw = mate.encode.date(t.getFullYear(), t.getMonth() + 1, t.getDate());
      for (const p of ports('dc')) await this._write(p, addressOf('dc', 'date'), raw);
    });
    const temp = run('temperature', async () => {
      const [mx] = ports('mx');
      if (mx === undefined) return;
      const raw = await this.readRegister(mx, addressOf('mx', 'batteryTemperatureRaw'));
      for (const p of ports('fx', 'dc')) await this._write(p, addressOf(this._typeAt(p), 'batteryTemperatureSync'), raw);
    });
    const timers = [setInterval(time, timeInterval), setInterval(date, dateInterval), setInterval(temp, temperatureInterval)];
    for (const t of timers) t.unref();
    this._duties = timers;
    time();
    date();
    temp();
    return () => this.stopMasterDuties();
  }

  _typeAt(port) {
    return this._devices.find((d) => d.port === port).type;
  }

  stopMasterDuties() {
    for (const t of this._duties) clearInterval(t);
    this._duties = [];
  }

  /** The parity decisions of recent packets (what a pty cannot show): { mode, packets } */
  parityTrace() {
    return this._native.parityTrace();
  }

  stats() {
    return this._native.stats();
  }

  async close() {
    if (this._closed) return;
    this._closed = true;
    this.stopMasterDuties();
    await this._native.close();
  }

  async [Symbol.asyncDispose || Symbol.for('nodejs.asyncDispose')]() {
    await this.close();
  }
}

module.exports = { MateBus, MxDevice, FxDevice, DcDevice, FX_CONTROLS, PARITY_MODES, TRANSPORTS };
