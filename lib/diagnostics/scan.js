'use strict';
// Finding Modbus units: scanModbus() tries unit ids × baud rates × parities; probeProfile()
// says which built-in register maps read plausible values from one unit.

const { ModbusBus, PARITIES } = require('../modbus/bus');
const { profiles: BUILT_IN, resolveProfile } = require('../modbus/profiles');
const v = require('../validate');
const defaults = require('../defaults').modbus;
const { abortSignal, throwIfAborted } = v;
const { isPseudoTerminal, isTcp } = require('./port');


// Built-in profiles with distinct register maps: a profile that reads exactly what an
// earlier one reads (xy-md02-sht40 = xy-md02) is folded into it (sameAs).
function distinctProfiles(names) {
  const out = [];
  for (const name of names) {
    const p = resolveProfile(name);
    const key = JSON.stringify([p.functionCode, p.temperature, p.humidity, p.addressRegister, p.addressReadRegister, p.baudRegister]);
    const twin = out.find((x) => x.key === key);
    if (twin) twin.sameAs.push(p.name);
    else out.push({ key, profile: p, sameAs: [] });
  }
  return out;
}

const typical = (vals) =>
  (vals.temperature === undefined || (vals.temperature >= -20 && vals.temperature <= 50)) &&
  (vals.humidity === undefined || (vals.humidity >= 5 && vals.humidity <= 95));

/**
 * Which register maps answer plausibly at `address`: each built-in profile's read is tried,
 * and a profile is kept when the read succeeds and its values are within the profile's
 * range. Each kept profile is checked further by reading its address register: the unit's
 * own address there confirms the map (+2); another value or a refusal counts against it (-1).
 * Values in the everyday range (-20..50 °C, 5..95 %RH) add 1. Sorted best first.
 *
 * The bytes cannot always decide: xy-md02 (÷10) and xy-md02-x100 (÷100) read the same
 * registers, and so do sht3x-asia and wb-generic with temperature and humidity the other way
 * round. Such ties are marked `ambiguous: true`; compare with a thermometer.
 *
 * @returns {Promise<Array<{ profile, description, sameAs, values, raw, addressCheck, score, ambiguous }>>}
 */
async function probeProfile(bus, address, options = {}) {
  const { profiles = Object.keys(BUILT_IN), signal } = v.knownKeys('options', v.plainObject('options', options), ['profiles', 'signal']);
  if (!bus || typeof bus.sensor !== 'function') v.fail('bus', 'an open ModbusBus', bus, 'EINVAL');
  v.integer('address', address, 1, 247);
  if (!Array.isArray(profiles)) v.fail('profiles', 'an array of profile names or objects', profiles, 'EINVAL');
  abortSignal('signal', signal);
  const out = [];
  for (const { profile: p, sameAs } of distinctProfiles(profiles)) {
    throwIfAborted(signal);
    let reading;
    try {
      reading = await bus.sensor(address, { profile: BUILT_IN[p.name] === p ? p.name : p }).read();
    } catch (err) {
      throwIfAborted(signal);
      if (err && ['DeviceError', 'TimeoutError', 'ProtocolError'].includes(err.name)) continue;
      throw err;
    }
    if (!reading.valid) continue;
    const values = {};
    if (reading.temperature !== undefined) values.temperature = reading.temperature;
    if (reading.humidity !== undefined) values.humidity = reading.humidity;
    let score = 0;
    let addressCheck = 'none';
    const reg = p.addressReadRegister ?? p.addressRegister;
    if (reg !== undefined) {
      try {
        const [x] = await bus.readHoldingRegisters(address, reg, 1);
        addressCheck = x === address ? 'confirmed' : `register 0x${reg.toString(16).padStart(4, '0')} holds ${x}`;
        score += x === address ? 2 : -1;
      } catch (err) {
        throwIfAborted(signal);
        if (!err || !['DeviceError', 'TimeoutError', 'ProtocolError'].includes(err.name)) throw err;
        addressCheck = err.code === 'EREJECTED' ? `register 0x${reg.toString(16).padStart(4, '0')} refused (${err.exceptionName})` : `no reply (${err.code})`;
        score -= 1;
      }
    }
    if (typical(values)) score += 1;
    out.push({ profile: p.name, description: p.description || null, sameAs, values, raw: reading.raw, addressCheck, score, ambiguous: false });
  }
  out.sort((a, b) => b.score - a.score);
  if (out.length > 1 && out[0].score === out[1].score) {
    for (const x of out) if (x.score === out[0].score) x.ambiguous = true;
  }
  return out;
}

/** "1-10,15,20-22" or an array -> sorted unique unit ids. */
function parseUnits(units) {
  if (Array.isArray(units)) {
    units.forEach((u, i) => v.integer(`units[${i}]`, u, 1, 247));
    return [...new Set(units)];
  }
  if (typeof units !== 'string') v.fail('units', 'an array of unit ids or a range such as "1-247"', units, 'EINVAL');
  const out = [];
  for (const part of units.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) v.fail('units', 'a list such as "1-10,15"', units, 'EINVAL');
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    v.integer('units (first)', a, 1, 247);
    v.integer('units (last)', b, a, 247);
    for (let u = a; u <= b; u++) out.push(u);
  }
  if (out.length === 0) v.fail('units', 'at least one unit id', units, 'EINVAL');
  return [...new Set(out)];
}

/**
 * Tries every unit id at every baud rate and parity, with a short timeout; a unit is found
 * when it answers the probe read with a valid reply or a Modbus exception (either proves a
 * unit with that id listens at those settings). The port is reopened for each baud rate and
 * parity. A rate the OS cannot set (14400 on Linux) is skipped and reported through
 * onProgress ({ skipped }).
 *
 * @param {string} path
 * @param {object} [options] {
 *   units = '1-247' (string or array), baudRates = [9600], parities = ['none'],
 *   timeout (ms per unit; 50 on a pseudo-terminal, 100 on a serial port, 300 over TCP),
 *   profile = 'xy-md02' (its read is the probe), profileProbe = false (probeProfile for each
 *   unit found), stopAfter (stop after that many units), signal (AbortSignal: rejects with its
 *   reason and closes the port), onProgress({ done, total, address, baudRate, parity, found, unit, skipped }) }
 * @returns {Promise<Array<{ address, baudRate, parity, answer: 'reply'|'exception', exception?, registers?,
 *   profile?, values?, profiles? }>>}
 */
async function scanModbus(path, options = {}) {
  const o = v.knownKeys('options', v.plainObject('options', options), ['units', 'baudRates', 'parities', 'timeout', 'profile',
    'profileProbe', 'stopAfter', 'signal', 'onProgress', 'open', 'serialDriver']);
  const tcp = isTcp(path);
  const units = parseUnits(o.units ?? '1-247');
  const baudRates = o.baudRates ?? [defaults.baudRate];
  const parities = o.parities ?? [defaults.parity];
  if (!Array.isArray(baudRates) || baudRates.length === 0) v.fail('baudRates', 'a non-empty array of baud rates', baudRates, 'EINVAL');
  baudRates.forEach((b, i) => v.integer(`baudRates[${i}]`, b, 300, 4000000));
  if (!Array.isArray(parities) || parities.length === 0) v.fail('parities', "a non-empty array of 'none', 'even', 'odd'", parities, 'EINVAL');
  parities.forEach((p, i) => v.oneOf(`parities[${i}]`, p, PARITIES));
  const timeout = o.timeout ?? (tcp ? 300 : isPseudoTerminal(path) ? 50 : 100);
  v.integer('timeout', timeout, 10, 60000);
  const profile = resolveProfile(o.profile);
  const stopAfter = o.stopAfter ?? Infinity;
  if (stopAfter !== Infinity) v.integer('stopAfter', stopAfter, 1, 100000);
  const signal = abortSignal('signal', o.signal);
  const onProgress = o.onProgress ?? null;
  if (onProgress !== null && typeof onProgress !== 'function') v.fail('onProgress', 'a function', onProgress, 'EINVAL');
  const open = o.open ?? ((p, opts) => ModbusBus.open(p, opts));
  const profileProbe = Boolean(o.profileProbe);

  const register = Math.min(...[profile.temperature, profile.humidity].filter(Boolean).map((c) => c.register));
  const combos = [];
  for (const baudRate of tcp ? [null] : baudRates) for (const parity of tcp ? [null] : parities) combos.push({ baudRate, parity });
  const total = combos.length * units.length;
  const found = [];
  let done = 0;
  let bus = null;
  const onAbort = () => {
    if (bus) bus.close().catch(() => {});
  };
  throwIfAborted(signal);
  if (signal) signal.addEventListener('abort', onAbort, { once: true });
  const report = (extra) => {
    if (onProgress) onProgress({ done, total, found: found.length, ...extra });
  };
  try {
    for (const { baudRate, parity } of combos) {
      throwIfAborted(signal);
      const opts = { timeout, retries: 0, offlineAfter: 0, serialDriver: o.serialDriver ?? defaults.serialDriver };
      if (baudRate !== null) Object.assign(opts, { baudRate, parity });
      try {
        bus = await open(path, opts);
      } catch (err) {
        throwIfAborted(signal);
        if (err && (err.name === 'ValidationError' || err.code === 'ENOTSUPPORTED') && baudRate !== null) {
          done += units.length;
          report({ baudRate, parity, skipped: { baudRate, parity, reason: err.message } });
          continue;
        }
        throw err;
      }
      try {
        for (const address of units) {
          throwIfAborted(signal);
          const unit = await probeUnit(bus, address, profile, register, signal);
          done += 1;
          if (unit) {
            Object.assign(unit, { baudRate, parity });
            if (profileProbe) {
              const plausible = await probeProfile(bus, address, { signal });
              unit.profiles = plausible;
              unit.profile = plausible.length ? plausible[0].profile : null;
              unit.values = plausible.length ? plausible[0].values : null;
            }
            found.push(unit);
          }
          report({ address, baudRate, parity, unit: unit || null });
          if (found.length >= stopAfter) return found;
        }
      } finally {
        const b = bus;
        bus = null;
        await b.close().catch(() => {});
      }
    }
    return found;
  } catch (err) {
    throwIfAborted(signal);
    throw err;
  } finally {
    if (signal) signal.removeEventListener('abort', onAbort);
    if (bus) await bus.close().catch(() => {});
  }
}

// The probe read of one unit: a reply or an exception means a unit is there. A corrupted
// reply is tried once more (noise should not hide a unit); silence is silence.
async function probeUnit(bus, address, profile, register, signal) {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const registers = profile.functionCode === 3
        ? await bus.readHoldingRegisters(address, register, 1)
        : await bus.readInputRegisters(address, register, 1);
      return { address, answer: 'reply', registers };
    } catch (err) {
      throwIfAborted(signal);
      if (err && err.code === 'EREJECTED') return { address, answer: 'exception', exception: err.exceptionCode, exceptionName: err.exceptionName };
      if (err && err.name === 'TimeoutError') return null;
      if (err && err.name === 'ProtocolError') continue;
      throw err;
    }
  }
  return null;
}

module.exports = { scanModbus, probeProfile, parseUnits };
