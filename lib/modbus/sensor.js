'use strict';
// ModbusSensor: named, scaled, signed-correct values from a temperature/humidity sensor,
// and verified configuration writes (address, baud rate, corrections).
const v = require('../validate');
const { ValidationError, DeviceError } = require('../errors');
const { resolveProfile, decimalsFor } = require('./profiles');

const toSigned = (x) => (x >= 0x8000 ? x - 0x10000 : x);
const toUnsigned = (x) => (x < 0 ? x + 0x10000 : x);
const round = (x, digits) => Number(x.toFixed(digits));

function decode(raw, ch) {
  const n = ch.signed ? toSigned(raw) : raw;
  return round(n / ch.scale, decimalsFor(ch.scale));
}

class ModbusSensor {
  constructor(bus, address, options = {}) {
    v.integer('address', address, 1, 247);
    const o = v.knownKeys('options', v.plainObject('options', options), ['profile', 'validRange']);
    this.bus = bus;
    this.address = address;
    this.profile = resolveProfile(o.profile);
    this.range = o.validRange || this.profile.range;
  }

  _need(key, what) {
    if (this.profile[key] === undefined) {
      throw new ValidationError(`profile "${this.profile.name}" has no ${what} register`, 'ENOTSUPPORTED', { argument: 'profile' });
    }
    return this.profile[key];
  }

  _readValues(register, count) {
    return this.profile.functionCode === 3
      ? this.bus.readHoldingRegisters(this.address, register, count)
      : this.bus.readInputRegisters(this.address, register, count);
  }

  /**
   * Reads temperature and humidity in one request.
   * @returns {{temperature, humidity, timestamp, valid, address, units, raw}}
   */
  async read() {
    const { temperature: t, humidity: h } = this.profile;
    const regs = [t, h].filter(Boolean).map((c) => c.register);
    const first = Math.min(...regs);
    const count = Math.max(...regs) - first + 1;
    const values = await this._readValues(first, count);
    const out = { address: this.address, timestamp: new Date(), valid: true, units: {}, raw: {} };
    if (t) {
      out.raw.temperature = values[t.register - first];
      out.temperature = decode(out.raw.temperature, t);
      out.units.temperature = '°C';
      const [lo, hi] = this.range.temperature;
      if (out.temperature < lo || out.temperature > hi) out.valid = false;
    }
    if (h) {
      out.raw.humidity = values[h.register - first];
      out.humidity = decode(out.raw.humidity, h);
      out.units.humidity = '%RH';
      const [lo, hi] = this.range.humidity;
      if (out.humidity < lo || out.humidity > hi) out.valid = false;
    }
    return out;
  }

  async readTemperature() {
    const t = this.profile.temperature;
    if (!t) throw new ValidationError(`profile "${this.profile.name}" has no temperature`, 'ENOTSUPPORTED');
    const [raw] = await this._readValues(t.register, 1);
    return decode(raw, t);
  }

  async readHumidity() {
    const h = this.profile.humidity;
    if (!h) throw new ValidationError(`profile "${this.profile.name}" has no humidity`, 'ENOTSUPPORTED');
    const [raw] = await this._readValues(h.register, 1);
    return decode(raw, h);
  }

  _baudFromRaw(raw) {
    const p = this.profile;
    const rates = p.baudRates || [];
    if (p.baudConvention !== 'code' && rates.includes(raw)) return { baudRate: raw, convention: 'raw' };
    if (p.baudConvention !== 'raw' && p.baudCodes && p.baudCodes[raw] !== undefined) {
      return { baudRate: p.baudCodes[raw], convention: 'code' };
    }
    return { baudRate: null, convention: 'unknown' };
  }

  /** { address, baudRate, temperatureCorrection, humidityCorrection, raw } (what the profile has). */
  async readConfig() {
    const p = this.profile;
    const keys = [
      ['address', p.addressReadRegister ?? p.addressRegister],
      ['baudRate', p.baudRegister],
      ['temperatureCorrection', p.temperatureCorrectionRegister],
      ['humidityCorrection', p.humidityCorrectionRegister],
    ].filter(([, r]) => r !== undefined);
    if (keys.length === 0) throw new ValidationError(`profile "${p.name}" has no configuration registers`, 'ENOTSUPPORTED');
    const regs = keys.map(([, r]) => r);
    const first = Math.min(...regs);
    const count = Math.max(...regs) - first + 1;
    const values = await this.bus.readHoldingRegisters(this.address, first, count);
    const out = { raw: {} };
    for (const [k, r] of keys) {
      const raw = values[r - first];
      out.raw[k] = raw;
      if (k === 'address') out.address = raw;
      else if (k === 'baudRate') {
        const b = this._baudFromRaw(raw);
        out.baudRate = b.baudRate;
        out.baudConvention = b.convention;
      } else out[k] = round(toSigned(raw) / (p.correctionScale || 10), 1);
    }
    return out;
  }

  // Writes one holding register, then reads it back: a write that did not stick rejects
  // with DeviceError EVERIFY.
  async _writeVerified(register, value, what) {
    await this.bus.writeRegister(this.address, register, value);
    const [back] = await this.bus.readHoldingRegisters(this.address, register, 1);
    if (back !== value) {
      throw new DeviceError(`${what} did not stick: wrote ${value} to register 0x${register.toString(16).padStart(4, '0')}, read back ${back}`,
        'EVERIFY', { unit: this.address, written: value, readBack: back });
    }
  }

  async _setCorrection(key, registerKey, value, unit) {
    const p = this.profile;
    const reg = this._need(registerKey, `${key} correction`);
    const lim = p.correctionRange || 10;
    v.number(key, value, -lim, lim);
    const raw = Math.round(value * (p.correctionScale || 10));
    await this._writeVerified(reg, toUnsigned(raw), `${key} ${value}${unit}`);
    return round(raw / (p.correctionScale || 10), 1);
  }

  /** Offset added by the sensor to its temperature, −10.0..+10.0 °C. */
  setTemperatureCorrection(value) {
    return this._setCorrection('temperatureCorrection', 'temperatureCorrectionRegister', value, ' °C');
  }

  /** Offset added by the sensor to its humidity, −10.0..+10.0 %RH. */
  setHumidityCorrection(value) {
    return this._setCorrection('humidityCorrection', 'humidityCorrectionRegister', value, ' %RH');
  }

  /**
   * Gives the sensor a new unit address (1..247). Many units apply it only after a power
   * cycle: this object follows the address the unit actually answers at.
   */
  async setAddress(newAddress) {
    v.integer('newAddress', newAddress, 1, 247);
    const reg = this._need('addressRegister', 'address');
    const readReg = this.profile.addressReadRegister ?? reg;
    const previous = this.address;
    if (newAddress === previous) return { previous, address: previous, active: true };
    await this.bus.writeRegister(previous, reg, newAddress);
    // Old address still answering with the new value stored: pending a power cycle.
    try {
      const [back] = await this.bus.readHoldingRegisters(previous, readReg, 1);
      if (back !== newAddress) {
        throw new DeviceError(`address change did not stick: unit ${previous} still reports ${back}`, 'EVERIFY', { unit: previous });
      }
      return { previous, address: newAddress, active: false, note: 'stored; the sensor uses it after a power cycle' };
    } catch (err) {
      if (err.code !== 'ETIMEDOUT' && err.code !== 'EOFFLINE') throw err;
    }
    const [back] = await this.bus.readHoldingRegisters(newAddress, readReg, 1);
    if (back !== newAddress) {
      throw new DeviceError(`unit ${newAddress} answered but reports address ${back}`, 'EVERIFY', { unit: newAddress });
    }
    this.address = newAddress;
    return { previous, address: newAddress, active: true };
  }

  /**
   * Stores a new baud rate. The register convention (raw rate or code, docs/protocols/modbus.md §6)
   * is read from the device first. It applies after a power cycle; the bus keeps its rate.
   */
  async setBaudRate(baudRate) {
    const p = this.profile;
    const reg = this._need('baudRegister', 'baud rate');
    v.oneOf('baudRate', baudRate, p.baudRates || []);
    const [current] = await this.bus.readHoldingRegisters(this.address, reg, 1);
    let { convention } = this._baudFromRaw(current);
    if (convention === 'unknown') {
      if (p.baudConvention === 'auto') {
        throw new DeviceError(`baud register 0x${reg.toString(16)} holds ${current}, which is neither a rate nor a known code; refusing to write`,
          'EVERIFY', { unit: this.address });
      }
      convention = p.baudConvention;
    }
    let raw = baudRate;
    if (convention === 'code') {
      raw = Number(Object.keys(p.baudCodes).find((k) => p.baudCodes[k] === baudRate));
    }
    await this._writeVerified(reg, raw, `baud rate ${baudRate}`);
    return { baudRate, convention, raw, note: 'stored; the sensor uses it after a power cycle' };
  }
}

module.exports = { ModbusSensor, toSigned, toUnsigned };
