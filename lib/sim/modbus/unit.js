'use strict';

// One simulated Modbus temperature/humidity sensor: its registers as its profile maps them,
// its values (with an optional slow random walk), and its address and baud settings.

const { getProfile, encodeBaud, decodeBaud } = require('./profiles');
const { toInt16 } = require('./frames');
const { Rng } = require('../rng');
const { roundScaled, clamp, checkNumber } = require('../scale');

/**
 * One simulated sensor. Settings registers (address, baud) change at once when written, but
 * the unit keeps listening with its active address/baud until powerCycle().
 */
class SimUnit {
  constructor(cfg, sim, index) {
    if (cfg == null || typeof cfg !== 'object') throw new TypeError('unit config must be an object');
    const profile = getProfile(cfg.profile);
    this.index = index;
    this.name = cfg.name || `unit ${cfg.address}`;
    this.profile = profile;
    checkNumber('unit address', cfg.address, 1, 255);
    if (!Number.isInteger(cfg.address)) throw new RangeError(`unit address must be an integer (got ${cfg.address})`);
    this.address = cfg.address; // active: the address it listens to

    const convention = cfg.baudConvention || (profile.baud && profile.baud.convention) || 'raw';
    if (convention !== 'raw' && convention !== 'code') {
      throw new RangeError(`baudConvention must be 'raw' or 'code' (got ${convention})`);
    }
    this.baudConvention = convention;
    const baudRate = cfg.baudRate == null ? 9600 : cfg.baudRate;
    if (profile.baud && encodeBaud(profile, convention, baudRate) == null) {
      throw new RangeError(`baudRate ${baudRate} is not one of ${profile.baud.rates.join('/')} for profile ${profile.name}`);
    }
    this.baudRate = baudRate; // active line speed

    const tc = cfg.temperatureCorrection == null ? 0 : cfg.temperatureCorrection;
    const hc = cfg.humidityCorrection == null ? 0 : cfg.humidityCorrection;
    checkNumber('temperatureCorrection', tc, -profile.correctionLimit, profile.correctionLimit);
    checkNumber('humidityCorrection', hc, -profile.correctionLimit, profile.correctionLimit);

    // Register contents (what a read returns / a write changes).
    this.registers = {
      address: cfg.address,
      baud: profile.baud ? encodeBaud(profile, convention, baudRate) : null,
      temperatureCorrection: roundScaled(tc, profile.correctionScale),
      humidityCorrection: roundScaled(hc, profile.correctionScale),
    };

    const t = cfg.temperature == null ? 21.5 : cfg.temperature;
    const h = cfg.humidity == null ? 45.0 : cfg.humidity;
    checkNumber('temperature', t, -3276.8, 3276.7);
    checkNumber('humidity', h, 0, 100);
    this.drift = cfg.drift !== false;
    this.driftIntervalMs = cfg.driftIntervalMs == null ? 2000 : cfg.driftIntervalMs;
    const seed = cfg.seed != null ? cfg.seed
      : sim.seed != null ? (sim.seed + 0x9e37 * (index + 1))
        : Math.floor(Math.random() * 0xffffffff);
    this.rng = new Rng(seed);
    this._now = sim._now;
    this._setBase(t, h);

    this.fault = null;
    this.stats = { requests: 0, answered: 0, exceptions: 0, broadcasts: 0 };
  }

  _setBase(t, h) {
    this.baseTemperature = t;
    this.baseHumidity = h;
    this.temperature = t;
    this.humidity = h;
    this._lastStep = this._now();
  }

  /** Advance the random walk to now (lazily: no timers, nothing keeps the process alive). */
  _advance() {
    if (!this.drift || !(this.driftIntervalMs > 0)) return;
    const now = this._now();
    let steps = Math.floor((now - this._lastStep) / this.driftIntervalMs);
    if (steps <= 0) return;
    this._lastStep += steps * this.driftIntervalMs;
    if (steps > 500) steps = 500;
    for (let s = 0; s < steps; s++) {
      // Small steps with a pull back towards the configured value.
      this.temperature += (this.rng.next() - 0.5) * 0.2 + (this.baseTemperature - this.temperature) * 0.05;
      this.humidity += (this.rng.next() - 0.5) * 0.6 + (this.baseHumidity - this.humidity) * 0.05;
      this.temperature = clamp(this.temperature, this.baseTemperature - 3, this.baseTemperature + 3);
      this.humidity = clamp(this.humidity, Math.max(0, this.baseHumidity - 8), Math.min(100, this.baseHumidity + 8));
    }
  }

  /** Reported values (after corrections), in engineering units. */
  readings() {
    this._advance();
    const cs = this.profile.correctionScale;
    return {
      temperature: this.temperature + toInt16(this.registers.temperatureCorrection & 0xffff) / cs,
      humidity: clamp(this.humidity + toInt16(this.registers.humidityCorrection & 0xffff) / cs, 0, 100),
    };
  }

  /** 16-bit register value for a kind. */
  readKind(kind) {
    const p = this.profile;
    switch (kind) {
      case 'temperature':
        return clamp(roundScaled(this.readings().temperature, p.valueScale), -32768, 32767) & 0xffff;
      case 'humidity':
        return clamp(roundScaled(this.readings().humidity, p.valueScale), 0, 0xffff);
      case 'address': return this.registers.address & 0xffff;
      case 'baud': return this.registers.baud & 0xffff;
      case 'temperatureCorrection': return this.registers.temperatureCorrection & 0xffff;
      case 'humidityCorrection': return this.registers.humidityCorrection & 0xffff;
      default: throw new Error(`no such register kind ${kind}`);
    }
  }

  /** True when value may be written to a register of this kind. */
  acceptsValue(kind, value) {
    const p = this.profile;
    switch (kind) {
      case 'address': return value >= p.addressRange[0] && value <= p.addressRange[1];
      case 'baud': return decodeBaud(p, this.baudConvention, value) != null;
      case 'temperatureCorrection':
      case 'humidityCorrection':
        return Math.abs(toInt16(value)) <= p.correctionLimit * p.correctionScale;
      default: return false;
    }
  }

  writeKind(kind, value) {
    if (kind === 'temperatureCorrection' || kind === 'humidityCorrection') {
      this.registers[kind] = toInt16(value);
    } else {
      this.registers[kind] = value;
    }
  }

  /** Apply the stored address/baud registers, as a real unit does when it powers up. */
  powerCycle() {
    this.address = this.registers.address;
    if (this.profile.baud) this.baudRate = decodeBaud(this.profile, this.baudConvention, this.registers.baud);
  }

  /** A plain snapshot for logs and tests. */
  describe() {
    const r = this.readings();
    return {
      address: this.address,
      profile: this.profile.name,
      baudRate: this.baudRate,
      baudConvention: this.baudConvention,
      temperature: Math.round(r.temperature * 100) / 100,
      humidity: Math.round(r.humidity * 100) / 100,
      registers: { ...this.registers },
      fault: this.fault ? { mode: this.fault.mode, ...this.fault.opts } : null,
    };
  }
}

module.exports = { SimUnit };
