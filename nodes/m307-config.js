'use strict';
// Node-RED flow node "fieldlink-m307-config": applies settings to an M307 Temperature Guard
// from msg.payload:
//   { deviceInfo: { deviceName, unitOfMeasure },
//     temperatureSensorNames: [name1, name2], doorSensorNames: [..], internalSensorNames: [..],
//     limits: { ...partial, as M307Client.setSensorLimits }, settings: { ...partial },
//     clock: true | ISO string | Date | epoch ms, logRateMinutes: 1..60 }
// Every part is optional; a name left out, undefined or null keeps the stored one. Each write is
// verified by the client (read back and compared; EVERIFY when it did not stick); the clock is
// read back and compared here too. The output is a report:
//   msg.payload = { applied, before, after, changed }
// Errors go to done(err) (Catch nodes see msg.error.code); msg.report then holds what was done
// before the failure, with report.failed naming the part that failed.
const { ValidationError, DeviceError } = require('../lib/errors');
const { deviceNode } = require('./lib/device-node');
const { translator } = require('./lib/i18n');

const NAME_PARTS = {
  temperatureSensorNames: ['getTemperatureSensorNames', 'setTemperatureSensorNames'],
  doorSensorNames: ['getDoorSensorNames', 'setDoorSensorNames'],
  internalSensorNames: ['getInternalSensorNames', 'setInternalSensorNames'],
};
// The order parts are applied in (the clock last: it also moves the log schedule).
const PARTS = ['deviceInfo', 'temperatureSensorNames', 'doorSensorNames', 'internalSensorNames', 'limits', 'settings', 'clock'];
const KEYS = [...PARTS, 'logRateMinutes'];
const CLOCK_TOLERANCE_MS = 90 * 1000; // the device keeps whole minutes; allow for a minute tick

function isPlainObject(x) {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Date);
}

/**
 * Checks the shape of msg.payload before anything is sent; the values themselves are checked
 * by the client, part by part. Returns { parts: [[name, value]], clockDate, logRate }.
 */
function plan(payload, now = new Date()) {
  if (!isPlainObject(payload)) {
    throw new ValidationError(`msg.payload must be an object with any of ${KEYS.join(', ')}`, 'EINVAL', { argument: 'msg.payload' });
  }
  const unknown = Object.keys(payload).filter((k) => !KEYS.includes(k));
  if (unknown.length) {
    throw new ValidationError(`msg.payload has no setting ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${KEYS.join(', ')})`,
      'EINVAL', { argument: `msg.payload.${unknown[0]}` });
  }
  const parts = [];
  for (const part of PARTS) {
    const value = payload[part];
    if (value === undefined || value === null || (part === 'clock' && value === false)) continue;
    if (NAME_PARTS[part]) {
      if (!Array.isArray(value) || value.length < 1 || value.length > 2) {
        throw new ValidationError(`msg.payload.${part} must be an array of one or two names (null keeps a name)`, 'EINVAL',
          { argument: `msg.payload.${part}` });
      }
      parts.push([part, value.map((x) => (x === null ? undefined : x))]);
    } else if (part === 'clock') {
      let date;
      if (value === true) date = now;
      else if (value instanceof Date) date = value;
      else if (typeof value === 'string' || typeof value === 'number') date = new Date(value);
      if (!date || Number.isNaN(date.getTime())) {
        throw new ValidationError('msg.payload.clock must be true (this host\'s time), an ISO 8601 time, a Date or epoch ms',
          'EINVAL', { argument: 'msg.payload.clock' });
      }
      parts.push([part, date]);
    } else {
      if (!isPlainObject(value)) {
        throw new ValidationError(`msg.payload.${part} must be an object`, 'EINVAL', { argument: `msg.payload.${part}` });
      }
      parts.push([part, value]);
    }
  }
  let logRate;
  if (payload.logRateMinutes !== undefined && payload.logRateMinutes !== null) {
    logRate = payload.logRateMinutes;
    if (!Number.isInteger(logRate) || logRate < 1 || logRate > 60) {
      throw new ValidationError(`msg.payload.logRateMinutes must be an integer 1..60, got ${JSON.stringify(logRate)}`,
        Number.isInteger(logRate) ? 'ERANGE' : 'EINVAL', { argument: 'msg.payload.logRateMinutes' });
    }
    // The device stores the clock and the log rate with one command: a rate alone sets the
    // clock to this host's time too.
    if (!parts.some(([p]) => p === 'clock')) parts.push(['clock', now]);
  }
  if (!parts.length) {
    throw new ValidationError(`msg.payload names nothing to apply (known: ${KEYS.join(', ')})`, 'EINVAL', { argument: 'msg.payload' });
  }
  return { parts, logRate };
}

/** Dotted paths whose values differ between a and b. */
function differences(a, b, prefix = '') {
  if (isPlainObject(a) && isPlainObject(b)) {
    const out = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) out.push(...differences(a[k], b[k], prefix ? `${prefix}.${k}` : k));
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const out = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...differences(a[i], b[i], `${prefix}[${i}]`));
    return out;
  }
  return a === b ? [] : [prefix];
}

/** Applies one part; returns { before, after } in JSON-safe form. */
async function applyPart(client, part, value, logRate) {
  if (NAME_PARTS[part]) {
    const [get, set] = NAME_PARTS[part];
    const before = await client[get]();
    const after = await client[set](value[0], value[1]);
    return { before, after };
  }
  switch (part) {
    case 'deviceInfo': {
      const before = await client.getDeviceInfo();
      return { before, after: await client.setDeviceInfo(value) };
    }
    case 'limits': {
      const before = await client.getSensorLimits();
      return { before, after: await client.setSensorLimits(value) };
    }
    case 'settings': {
      const before = await client.getDeviceSettings();
      return { before, after: await client.setDeviceSettings(value) };
    }
    case 'clock': {
      const info = await client.getLogInfo();
      const rate = logRate === undefined ? info.logRateMinutes : logRate;
      // The clock and the rate are stored by one command, which takes 1..60 minutes: a unit
      // that is not logging (0) or logs more rarely cannot keep its rate, so ask for one.
      if (!(rate >= 1 && rate <= 60)) {
        throw new ValidationError(`the device logs every ${rate} min, which cannot be kept when the clock is set; `
          + 'give msg.payload.logRateMinutes (1..60) too', 'EINVAL', { argument: 'msg.payload.logRateMinutes' });
      }
      const after = await client.setLogDatetime(value, rate);
      const want = new Date(value.getFullYear(), value.getMonth(), value.getDate(), value.getHours(), value.getMinutes());
      if (!after.datetime || Math.abs(after.datetime.getTime() - want.getTime()) > CLOCK_TOLERANCE_MS
        || (logRate !== undefined && after.logRateMinutes !== logRate)) {
        throw new DeviceError(`the clock did not stick: asked for ${want.toISOString()} every ${rate} min, `
          + `the device reads ${after.datetime ? after.datetime.toISOString() : 'an invalid time'} every ${after.logRateMinutes} min`, 'EVERIFY');
      }
      const { dayOfWeek, ...before } = info;
      return { before, after };
    }
    default:
      throw new Error(`unhandled part ${part}`);
  }
}

/** JSON-safe copy of a value: Dates become ISO strings, non-finite numbers null. */
function jsonSafe(value) {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

module.exports = function register(RED) {
  const t = translator(RED, 'm307-config');

  function M307ConfigNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const ctx = deviceNode(RED, node, config, { t, prefix: 'm307-config', configField: 'device' });

    function apply(msg) {
      const { parts, logRate } = plan(msg.payload);
      ctx.outcome('blue', 'dot', t('m307-config.status.applying'));
      return ctx.withDevice(async (client) => {
        const report = { applied: {}, before: {}, after: {}, changed: [] };
        for (const [part, value] of parts) {
          if (ctx.closed) return null;
          let r;
          try {
            r = await applyPart(client, part, value, logRate);
          } catch (err) {
            report.failed = part;
            err.report = report;
            throw err;
          }
          report.applied[part] = jsonSafe(part === 'clock' ? { datetime: value, logRateMinutes: r.after.logRateMinutes } : value);
          report.before[part] = jsonSafe(r.before);
          report.after[part] = jsonSafe(r.after);
          report.changed.push(...differences(report.before[part], report.after[part], part));
        }
        return report;
      });
    }

    ctx.onInput(async (msg) => {
      let report;
      try {
        report = await apply(msg);
      } catch (err) {
        if (err.report) {
          msg.report = err.report;
          delete err.report;
        }
        throw err;
      }
      if (!report) return null;
      msg.payload = report;
      ctx.outcome('green', 'dot', t('m307-config.status.applied', { parts: Object.keys(report.applied).join(', ') }));
      return msg;
    });

    ctx.start();
  }

  RED.nodes.registerType('fieldlink-m307-config', M307ConfigNode);
};

module.exports.plan = plan;
module.exports.differences = differences;
