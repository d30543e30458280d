'use strict';
// Node-RED flow node "fieldlink-m307-status": reads the status record of an M307 Temperature
// Guard (two probes, internal temperature and humidity, two doors, mains power, battery) on a
// poll timer and on every input message.
//   output 1: the status as msg.payload, JSON-safe (see statusPayload below)
//   output 2: one message per input whose alarm flag changed since the previous reading
// The status dot shows the two probe temperatures (green), the inputs in alarm (red ring) or
// the state of the connection (yellow ring). Errors go through done(err) / node.error(err, msg)
// so Catch nodes see them with msg.error.code.
const { deviceNode } = require('./lib/device-node');
const { translator } = require('./lib/i18n');

// The inputs of the status record, in the order the status text lists them.
const INPUTS = [
  { key: 'temperatureSensor1', label: 'temp1', kind: 'temperature' },
  { key: 'temperatureSensor2', label: 'temp2', kind: 'temperature' },
  { key: 'internalTemperature', label: 'internal', kind: 'temperature' },
  { key: 'internalHumidity', label: 'humidity', kind: 'humidity' },
  { key: 'door1', label: 'door1', kind: 'door' },
  { key: 'door2', label: 'door2', kind: 'door' },
];

/**
 * The client's status object made JSON-safe, in a documented way:
 *  - an analogue input keeps { reading, readingStatus, raw, timeOutOfLimits, inAlarm }, with
 *    reading a number when readingStatus is 'value' and null otherwise ('no-sensor',
 *    'open-circuit' (the client's Infinity), 'shorted' (-Infinity), 'failed');
 *  - doors, power, battery, resolution and unit are copied as they are;
 *  - alarms: the keys of the inputs in alarm now; timestamp: when it was read (ISO, UTC).
 */
function statusPayload(s, when = new Date()) {
  const out = {};
  for (const input of INPUTS) {
    const x = s[input.key];
    if (input.kind === 'door') {
      out[input.key] = { state: x.state, timeOutOfLimits: x.timeOutOfLimits, inAlarm: x.inAlarm, raw: x.raw };
    } else {
      out[input.key] = {
        reading: typeof x.reading === 'number' && Number.isFinite(x.reading) ? x.reading : null,
        readingStatus: x.readingStatus,
        raw: x.raw,
        timeOutOfLimits: x.timeOutOfLimits,
        inAlarm: x.inAlarm,
      };
    }
  }
  out.mainPower = s.mainPower;
  out.mainPowerRaw = s.mainPowerRaw;
  out.batteryVoltage = s.batteryVoltage;
  out.temperatureResolution = s.temperatureResolution;
  out.temperatureUnit = s.temperatureUnit;
  out.alarms = INPUTS.filter((i) => out[i.key].inAlarm).map((i) => i.key);
  out.timestamp = when.toISOString();
  return out;
}

module.exports = function register(RED) {
  const t = translator(RED, 'm307-status');

  function M307StatusNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    // Outputs: the status, the alarm changes, availability.
    const ctx = deviceNode(RED, node, config, { t, prefix: 'm307-status', configField: 'device', topic: 'm307', polls: true, outputs: 3 });
    let flags = null; // input key -> inAlarm of the previous reading (null before the first)

    function showReading(p) {
      const unit = `°${p.temperatureUnit === 'C' || p.temperatureUnit === 'F' ? p.temperatureUnit : '?'}`;
      const decimals = p.temperatureResolution === 1 ? 0 : 1;
      const show = (x) => (x.readingStatus === 'value' && x.reading !== null
        ? `${x.reading.toFixed(decimals)} ${unit}`
        : t(`m307-status.reading.${x.readingStatus}`));
      if (p.alarms.length) {
        const labels = INPUTS.filter((i) => p.alarms.includes(i.key)).map((i) => i.label);
        ctx.outcome('red', 'ring', t('m307-status.status.alarm', { inputs: labels.join(', ') }));
      } else {
        ctx.outcome('green', 'dot', t('m307-status.status.reading', { temp1: show(p.temperatureSensor1), temp2: show(p.temperatureSensor2) }));
      }
    }

    /** The alarm-change messages for a new reading (and remembers its flags). */
    function alarmChanges(p) {
      const changed = INPUTS.filter((i) => (flags === null ? p[i.key].inAlarm : flags[i.key] !== p[i.key].inAlarm));
      const previous = flags;
      flags = {};
      for (const i of INPUTS) flags[i.key] = p[i.key].inAlarm;
      const keys = changed.map((i) => i.key);
      return changed.map((i) => {
        const x = p[i.key];
        const payload = {
          input: i.key,
          label: i.label,
          inAlarm: x.inAlarm,
          previous: previous === null ? null : previous[i.key],
          reading: i.kind === 'door' ? null : x.reading,
          timeOutOfLimits: x.timeOutOfLimits,
          changed: keys,
          timestamp: p.timestamp,
        };
        if (i.kind === 'door') payload.state = x.state;
        else payload.readingStatus = x.readingStatus;
        return { topic: `${node.topic}/alarm`, payload };
      });
    }

    // One status read: [the status message, the alarm-change messages or null].
    function read(msg) {
      return ctx.withDevice(async (client) => {
        const p = statusPayload(await client.readStatus());
        if (ctx.closed) return null;
        msg.payload = p;
        msg.staleAt = ctx.staleAt(p.timestamp);
        msg.topic = node.topic;
        showReading(p);
        const alarms = alarmChanges(p);
        return [msg, alarms.length ? alarms : null];
      });
    }

    ctx.onInput(read);
    ctx.start(read);
  }

  RED.nodes.registerType('fieldlink-m307-status', M307StatusNode);
};

module.exports.statusPayload = statusPayload;
module.exports.INPUTS = INPUTS;
