'use strict';
// Node-RED flow node "fieldlink-m307-status": reads the status record of an M307 Temperature
// Guard (two probes, internal temperature and humidity, two doors, mains power, battery) on a
// poll timer and on every input message.
//   output 1: the status as msg.payload, JSON-safe (see statusPayload below)
//   output 2: one message per input whose alarm flag changed since the previous reading
// The status dot shows the two probe temperatures (green), the inputs in alarm (red ring) or
// the state of the connection (yellow ring). Errors go through done(err) / node.error(err, msg)
// so Catch nodes see them with msg.error.code.
const { ValidationError } = require('../lib/errors');
const { deviceStateStatus, clientFor } = require('./m307-device');
const { availability, staleAt } = require('./lib/availability');
const { translator } = require('./lib/i18n');

const MIN_INTERVAL_S = 0.2;

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
    node.name = config.name;
    node.deviceNode = RED.nodes.getNode(config.device);
    node.topic = (config.topic && String(config.topic).trim()) || 'm307';
    const intervalText = config.interval === undefined || config.interval === '' ? '0' : String(config.interval);
    node.interval = Number(intervalText);
    node.pollsSkipped = 0;
    const avail = availability(node, { outputs: 3 });

    let closed = false;
    let polling = false;
    let timer = null;
    let unsubscribe = null;
    let deviceState = null;
    let lastOutcome = null; // status of the last read while the device was open
    let flags = null; // input key -> inAlarm of the previous reading (null before the first)
    let closeWaiter = null;
    const closedPromise = new Promise((resolve) => { closeWaiter = resolve; });

    let problem = null;
    if (!Number.isFinite(node.interval) || node.interval < 0) {
      problem = new ValidationError(t('m307-status.error.badInterval', { interval: intervalText }), 'ERANGE', { argument: 'interval' });
    } else if (!node.deviceNode) {
      problem = new ValidationError(t('m307-status.error.noDevice'), 'EINVAL', { argument: 'device' });
    }

    function outcome(st) {
      lastOutcome = st;
      node.status(st);
    }

    function showError(err) {
      outcome({ fill: 'red', shape: 'ring', text: t('m307-status.status.error', { code: err.code || err.name || 'ERROR' }) });
    }

    function showReading(p) {
      const unit = `°${p.temperatureUnit === 'C' || p.temperatureUnit === 'F' ? p.temperatureUnit : '?'}`;
      const decimals = p.temperatureResolution === 1 ? 0 : 1;
      const show = (x) => (x.readingStatus === 'value' && x.reading !== null
        ? `${x.reading.toFixed(decimals)} ${unit}`
        : t(`m307-status.reading.${x.readingStatus}`));
      if (p.alarms.length) {
        const labels = INPUTS.filter((i) => p.alarms.includes(i.key)).map((i) => i.label);
        outcome({ fill: 'red', shape: 'ring', text: t('m307-status.status.alarm', { inputs: labels.join(', ') }) });
      } else {
        outcome({
          fill: 'green',
          shape: 'dot',
          text: t('m307-status.status.reading', { temp1: show(p.temperatureSensor1), temp2: show(p.temperatureSensor2) }),
        });
      }
    }

    function onDeviceState(st) {
      const previous = deviceState;
      deviceState = st.state;
      if (st.state !== 'open') lastOutcome = null; // a reading from before an outage is stale
      if (node.interval > 0) avail.fromLinkState(st); // on-demand nodes report their reads only
      const shown = deviceStateStatus(t, 'm307-status', st);
      if (shown) node.status(shown);
      else node.status(lastOutcome || { fill: 'green', shape: 'ring', text: t('m307-status.status.connected') });
      // Read as soon as the device is (back), so dashboards do not wait a whole interval.
      if (st.state === 'open' && previous !== 'open' && node.interval > 0) poll();
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

    // One status read: fills msg.payload, returns the alarm-change messages.
    async function read(msg) {
      const client = await Promise.race([clientFor(node.deviceNode), closedPromise]);
      if (closed) return null;
      let s;
      try {
        s = await client.readStatus();
      } catch (err) {
        if (!closed) avail.fromError(err);
        throw err;
      }
      if (closed) return null;
      avail.online();
      const p = statusPayload(s);
      msg.payload = p;
      msg.staleAt = staleAt(p.timestamp, node.interval);
      msg.topic = node.topic;
      showReading(p);
      return alarmChanges(p);
    }

    async function poll() {
      if (closed) return;
      if (polling) {
        node.pollsSkipped += 1;
        return;
      }
      if (node.deviceNode.state.state !== 'open') return; // the status shows why
      polling = true;
      const msg = { topic: node.topic };
      try {
        const alarms = await read(msg);
        if (alarms && !closed) node.send([msg, alarms.length ? alarms : null]);
      } catch (err) {
        if (!closed) {
          showError(err);
          node.error(err, msg);
        }
      } finally {
        polling = false;
      }
    }

    node.on('input', (msg, send, done) => {
      if (problem) {
        done(problem);
        return;
      }
      read(msg).then(
        (alarms) => {
          if (closed || !alarms) return done();
          send([msg, alarms.length ? alarms : null]);
          done();
        },
        (err) => {
          // A redeploy cancels what is in flight (ECLOSED): that is not worth a Catch.
          if (closed) return done();
          showError(err);
          done(err);
        },
      );
    });

    node.on('close', (removed, done) => {
      closed = true;
      closeWaiter(null);
      if (timer) clearInterval(timer);
      timer = null;
      if (unsubscribe) unsubscribe();
      unsubscribe = null;
      done();
    });

    if (problem) {
      node.status({ fill: 'red', shape: 'ring', text: problem.argument === 'device' ? t('m307-status.status.noDevice') : t('m307-status.status.badSettings', { code: problem.code }) });
      node.error(problem);
      return;
    }
    unsubscribe = node.deviceNode.subscribe(onDeviceState);
    if (node.interval > 0) timer = setInterval(poll, Math.max(MIN_INTERVAL_S, node.interval) * 1000);
  }

  RED.nodes.registerType('fieldlink-m307-status', M307StatusNode);
};

module.exports.statusPayload = statusPayload;
module.exports.INPUTS = INPUTS;
