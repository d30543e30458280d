'use strict';

// A small, deterministic model of the off-grid system behind the simulated MATE bus: a PV
// array on an MX charge controller, a battery bank measured by a FLEXnet DC and a load drawn
// through the FX inverter. Everything is a pure function of (seed, calendar day, minute), so
// a simulator driven by an injected clock gives the same bytes on every run, and a past day's
// log page equals what "today" showed when that day ended.
//
// Each day is integrated once, minute by minute from local midnight, and cached:
//   sun -> available PV watts -> charger stage (sleeping / bulk / absorb / float) -> charge
//   current, against the load -> battery state of charge -> battery voltage.
// Instantaneous values between two minutes are interpolated; daily totals are prefix sums.
// It is meant to look plausible on a MATE screen and in a dashboard, not to be physics.

const { clamp } = require('../scale');

const MINUTES = 1440;
const MS_PER_DAY = 86400000;

const MODE = Object.freeze({ SLEEPING: 0, FLOAT: 1, BULK: 2, ABSORB: 3, EQ: 4 });

/** Deterministic hash of integers to [0, 1). */
function noise(seed, a, b = 0) {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(a | 0, 0x85ebca77) ^ Math.imul(b | 0, 0xc2b2ae3d)) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15; h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000;
}

const DEFAULTS = Object.freeze({
  capacityAh: 500, // net Ah -120 at 76 % SOC in the capture => 500 Ah
  arrayWatts: 1000,
  absorbVoltage: 28.8,
  floatVoltage: 27.2,
  absorbMinutes: 120,
  chargeLimitAmps: 60,
  baseLoadWatts: 90,
  batteryTemperature: 15, // °C (raw 0x9A in the capture maps to 15 °C at the DC)
});

class PowerSystem {
  /**
   * new PowerSystem({ seed, utcOffsetMinutes, capacityAh, arrayWatts, absorbVoltage,
   *                   floatVoltage, absorbMinutes, chargeLimitAmps, baseLoadWatts,
   *                   batteryTemperature })
   */
  constructor(opts = {}) {
    this.seed = (opts.seed == null ? 1 : Number(opts.seed)) >>> 0;
    this.utcOffsetMinutes = opts.utcOffsetMinutes == null ? 0 : Number(opts.utcOffsetMinutes);
    for (const [k, v] of Object.entries(DEFAULTS)) {
      this[k] = opts[k] == null ? v : Number(opts[k]);
      if (!Number.isFinite(this[k])) throw new RangeError(`${k} must be a number (got ${opts[k]})`);
    }
    if (!(this.capacityAh > 0)) throw new RangeError('capacityAh must be > 0');
    this._days = new Map();
  }

  /** Local calendar day number (days since 1970-01-01 in the simulator's time zone). */
  dayNumber(ms) {
    return Math.floor((ms + this.utcOffsetMinutes * 60000) / MS_PER_DAY);
  }

  /** Minutes since local midnight, with a fraction. */
  minuteOfDay(ms) {
    const local = ms + this.utcOffsetMinutes * 60000;
    return (local - Math.floor(local / MS_PER_DAY) * MS_PER_DAY) / 60000;
  }

  _ocv(soc) {
    return 23.4 + 2.2 * soc / 100;
  }

  _loadWatts(d, m) {
    const h = m / 60;
    let w = this.baseLoadWatts * (0.9 + 0.2 * noise(this.seed, d, 7000 + Math.floor(m / 5)));
    if (h >= 6.5 && h < 8) w += 250;
    if (h >= 18 && h < 22.5) w += 350;
    const slot = Math.floor(m / 15);
    if (noise(this.seed, d, 9000 + slot) < 0.12) w += 150 + 300 * noise(this.seed, d, 9500 + slot);
    return w;
  }

  /** Integrates day d (cached). */
  day(d) {
    const hit = this._days.get(d);
    if (hit) return hit;
    const seed = this.seed;
    const date = new Date(d * MS_PER_DAY);
    const doy = Math.floor((date - Date.UTC(date.getUTCFullYear(), 0, 1)) / MS_PER_DAY);
    const length = 12 + 2.5 * Math.cos((2 * Math.PI * (doy - 172)) / 365);
    const rise = 12.5 - length / 2;
    const weather = 0.3 + 0.7 * Math.pow(noise(seed, d, 1), 0.6);
    const vocCold = 82 + 4 * noise(seed, d, 3);

    const f = () => new Float64Array(MINUTES);
    const c = {
      day: d,
      pvVoc: f(), pvVoltage: f(), pvCurrent: f(), chargeCurrent: f(), loadCurrent: f(),
      batteryVoltage: f(), soc: f(), mode: new Uint8Array(MINUTES),
      // prefix sums, index m = total over minutes [0, m)
      chargeAh: new Float64Array(MINUTES + 1), chargeWh: new Float64Array(MINUTES + 1),
      loadAh: new Float64Array(MINUTES + 1), loadWh: new Float64Array(MINUTES + 1),
    };

    let soc = 60 + 25 * noise(seed, d, 2);
    let stage = MODE.SLEEPING;
    let absorbed = 0;
    let batV = this._ocv(soc);
    for (let m = 0; m < MINUTES; m++) {
      const t = m / 60;
      let sun = 0;
      if (t > rise && t < rise + length) {
        const cloud = clamp(weather * (0.7 + 0.5 * noise(seed, d, 100 + Math.floor(m / 10))), 0.08, 1);
        sun = Math.pow(Math.sin((Math.PI * (t - rise)) / length), 1.3) * cloud;
      }
      const voc = sun > 0 ? vocCold * (0.88 + 0.12 * Math.min(1, sun * 15)) - 4 * sun : 0; // hot panels at noon
      const availW = this.arrayWatts * sun * 0.96;
      const loadA = this._loadWatts(d, m) / batV;

      let chgA = 0;
      if (availW < 8) {
        stage = MODE.SLEEPING;
      } else {
        if (stage === MODE.SLEEPING) stage = soc >= 99 ? MODE.FLOAT : MODE.BULK;
        if (stage === MODE.BULK && soc >= 90) { stage = MODE.ABSORB; absorbed = 0; }
        const availA = Math.min(availW / batV, this.chargeLimitAmps);
        if (stage === MODE.BULK) {
          chgA = availA;
        } else {
          const acceptance = this.capacityAh * 0.025 * (100 - soc);
          chgA = Math.min(availA, loadA + acceptance + 0.3);
          if (stage === MODE.ABSORB) {
            absorbed++;
            if (absorbed >= this.absorbMinutes || acceptance < 0.02 * this.capacityAh) stage = MODE.FLOAT;
          }
        }
      }
      const net = chgA - loadA;
      soc = clamp(soc + ((net > 0 ? net * 0.95 : net) / 60 / this.capacityAh) * 100, 5, 100);
      const ocv = this._ocv(soc);
      if (stage === MODE.ABSORB) batV = Math.min(this.absorbVoltage, ocv + 3.5);
      else if (stage === MODE.FLOAT) batV = chgA > loadA ? this.floatVoltage : ocv + net * 0.012;
      else if (stage === MODE.BULK) batV = Math.min(this.absorbVoltage - 0.1, ocv + net * 0.012 + (chgA > 0 ? 0.2 + 1.5 * Math.max(0, soc - 70) / 20 : 0));
      else batV = ocv + net * 0.012;

      c.pvVoc[m] = voc;
      c.pvVoltage[m] = chgA > 0 ? voc * 0.81 : voc;
      c.pvCurrent[m] = chgA > 0 ? (chgA * batV) / 0.96 / c.pvVoltage[m] : 0;
      c.chargeCurrent[m] = chgA;
      c.loadCurrent[m] = loadA;
      c.batteryVoltage[m] = batV;
      c.soc[m] = soc;
      c.mode[m] = stage;
      c.chargeAh[m + 1] = c.chargeAh[m] + chgA / 60;
      c.chargeWh[m + 1] = c.chargeWh[m] + (chgA * batV) / 60;
      c.loadAh[m + 1] = c.loadAh[m] + loadA / 60;
      c.loadWh[m + 1] = c.loadWh[m] + (loadA * batV) / 60;
    }
    if (this._days.size > 200) this._days.delete(this._days.keys().next().value);
    this._days.set(d, c);
    return c;
  }

  /**
   * Day d up to minute `upto` (fractional; default the whole day): the numbers a log page and
   * the daily counters need.
   */
  summary(d, upto = MINUTES) {
    const c = this.day(d);
    if (upto >= MINUTES && c.fullSummary) return { ...c.fullSummary };
    const end = clamp(upto, 0, MINUTES);
    const whole = Math.floor(end);
    const frac = end - whole;
    // minutes seen so far: the whole ones, plus the current one when it has begun
    const last = clamp(frac > 0 ? whole : whole - 1, 0, MINUTES - 1);
    const s = {
      peakAmps: 0, batteryMax: -Infinity, batteryMin: Infinity, peakPvVoltage: 0, peakWatts: 0,
      absorbMinutes: 0, floatMinutes: 0, minSoc: Infinity, maxSoc: -Infinity, lastFullMinute: -1,
    };
    for (let m = 0; m <= last; m++) {
      const a = c.chargeCurrent[m];
      if (a > s.peakAmps) s.peakAmps = a;
      if (a * c.batteryVoltage[m] > s.peakWatts) s.peakWatts = a * c.batteryVoltage[m];
      if (c.batteryVoltage[m] > s.batteryMax) s.batteryMax = c.batteryVoltage[m];
      if (c.batteryVoltage[m] < s.batteryMin) s.batteryMin = c.batteryVoltage[m];
      if (c.pvVoc[m] > s.peakPvVoltage) s.peakPvVoltage = c.pvVoc[m];
      if (c.soc[m] < s.minSoc) s.minSoc = c.soc[m];
      if (c.soc[m] > s.maxSoc) s.maxSoc = c.soc[m];
      if (c.soc[m] >= 99.5) s.lastFullMinute = m;
      if (m < whole) {
        if (c.mode[m] === MODE.ABSORB) s.absorbMinutes++;
        if (c.mode[m] === MODE.FLOAT) s.floatMinutes++;
      }
    }
    const i = Math.min(whole, MINUTES);
    const part = (prefix, rateOf) => prefix[i] + (i < MINUTES ? (frac * rateOf(i)) / 60 : 0);
    s.chargeAh = part(c.chargeAh, (m) => c.chargeCurrent[m]);
    s.chargeKwh = part(c.chargeWh, (m) => c.chargeCurrent[m] * c.batteryVoltage[m]) / 1000;
    s.loadAh = part(c.loadAh, (m) => c.loadCurrent[m]);
    s.loadKwh = part(c.loadWh, (m) => c.loadCurrent[m] * c.batteryVoltage[m]) / 1000;
    if (end >= MINUTES) c.fullSummary = { ...s };
    return s;
  }

  /** Lowest and highest battery voltage of day d between two minutes (inclusive). */
  batteryRange(d, from, to) {
    const c = this.day(d);
    const a = clamp(Math.floor(from), 0, MINUTES - 1);
    const b = clamp(Math.floor(to), a, MINUTES - 1);
    let min = Infinity;
    let max = -Infinity;
    for (let m = a; m <= b; m++) {
      const v = c.batteryVoltage[m];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { min, max };
  }

  /** Everything about the system at time ms (epoch milliseconds). */
  at(ms) {
    const d = this.dayNumber(ms);
    const minute = this.minuteOfDay(ms);
    const c = this.day(d);
    const m0 = Math.min(Math.floor(minute), MINUTES - 1);
    const m1 = Math.min(m0 + 1, MINUTES - 1);
    const k = clamp(minute - m0, 0, 1);
    const lerp = (arr) => arr[m0] + (arr[m1] - arr[m0]) * k;
    const today = this.summary(d, minute);

    let daysSinceFull;
    if (today.lastFullMinute >= 0) {
      daysSinceFull = (minute - today.lastFullMinute) / MINUTES;
    } else {
      daysSinceFull = 30;
      for (let back = 1; back <= 30; back++) {
        const s = this.summary(d - back);
        if (s.lastFullMinute >= 0) {
          daysSinceFull = back + (minute - s.lastFullMinute) / MINUTES;
          break;
        }
      }
    }
    const hour = minute / 60;
    const temperature = this.batteryTemperature + 2.5 * Math.sin((2 * Math.PI * (hour - 10)) / 24);
    return {
      day: d,
      minute,
      mode: c.mode[m0],
      pvVoc: lerp(c.pvVoc),
      pvVoltage: lerp(c.pvVoltage),
      pvCurrent: lerp(c.pvCurrent),
      chargeCurrent: lerp(c.chargeCurrent),
      loadCurrent: lerp(c.loadCurrent),
      batteryVoltage: lerp(c.batteryVoltage),
      soc: lerp(c.soc),
      batteryTemperature: temperature,
      daysSinceFull,
      today,
    };
  }
}

module.exports = { PowerSystem, MODE, MINUTES, noise };
