'use strict';
// Node-RED flow node "fieldlink-modbus-sensor": one RS485 Modbus temperature/humidity sensor
// (XY-MD02 / SHT20 family) on a fieldlink-modbus-bus config node. Reads on a poll timer and
// on every input message; input messages may also carry a command (readConfig, corrections,
// address, baud rate). The status shows the last outcome or the state of the link; errors go
// through done(err) / node.error(err, msg) so Catch nodes see them, with msg.error.code.
const { resolveModbusProfile: resolveProfile } = require('../lib');
const { ConnectionError, ValidationError } = require('../lib/errors');
const { translator } = require('./lib/i18n');
const { availability, staleAt } = require('./lib/availability');

const COMMANDS = ['read', 'readConfig', 'setTemperatureCorrection', 'setHumidityCorrection', 'setAddress', 'setBaudRate'];
const MIN_INTERVAL_S = 0.1;

const decimals = (channel) => (channel ? Math.max(0, Math.round(Math.log10(channel.scale))) : 1);
const show = (value, channel) => (typeof value === 'number' ? value.toFixed(decimals(channel)) : '–');

module.exports = function register(RED) {
  const t = translator(RED, 'modbus-sensor');

  function ModbusSensorNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.name = config.name;
    node.busNode = RED.nodes.getNode(config.bus);
    node.unit = Number(config.unit);
    node.topic = (config.topic && String(config.topic).trim()) || `modbus/${config.unit}`;
    node.profileName = config.profile || 'xy-md02';
    const intervalText = config.interval === undefined || config.interval === '' ? '0' : String(config.interval);
    node.interval = Number(intervalText);
    node.address = node.unit; // follows a successful setAddress

    let closed = false;
    let polling = false; // a poll is on the wire: the next tick is skipped
    let timer = null;
    let unsubscribe = null;
    let sensor = null;
    let sensorBus = null;
    let lastOutcome = null; // status of the last read/command while the bus was open
    let busState = null;
    const pending = new Set(); // waits in settled(), ended on close
    node.pollsSkipped = 0;
    const avail = availability(node, { outputs: 2 });

    // Settings are checked here, once: a bad one leaves the node red and idle.
    let problem = null;
    try {
      if (!Number.isInteger(node.unit) || node.unit < 1 || node.unit > 247) {
        throw new ValidationError(t('modbus-sensor.error.badUnit', { unit: config.unit }), 'ERANGE', { argument: 'unit' });
      }
      if (!Number.isFinite(node.interval) || node.interval < 0) {
        throw new ValidationError(t('modbus-sensor.error.badInterval', { interval: intervalText }), 'ERANGE', { argument: 'interval' });
      }
      node.profile = resolveProfile(node.profileName);
    } catch (err) {
      problem = err;
    }
    if (!problem && !node.busNode) {
      problem = new ValidationError(t('modbus-sensor.error.noBus'), 'EINVAL', { argument: 'bus' });
    }

    function setStatus(fill, shape, text) {
      node.status({ fill, shape, text });
    }

    function showBusState(st) {
      switch (st.state) {
        case 'open':
          if (lastOutcome) node.status(lastOutcome);
          else setStatus('green', 'ring', t('modbus-sensor.status.connected'));
          break;
        case 'connecting':
          setStatus('yellow', 'ring', t('modbus-sensor.status.connecting'));
          break;
        case 'reconnecting':
          setStatus('yellow', 'ring', t('modbus-sensor.status.reconnecting', {
            seconds: Math.max(1, Math.ceil((st.retryIn || 0) / 1000)),
            code: (st.error && st.error.code) || 'ECONNLOST',
          }));
          break;
        case 'failed':
          setStatus('red', 'ring', t('modbus-sensor.status.badSettings', { code: (st.error && st.error.code) || 'EINVAL' }));
          break;
        default:
          setStatus('grey', 'ring', t('modbus-sensor.status.closed'));
      }
    }

    function onBusState(st) {
      const previous = busState;
      busState = st.state;
      if (st.state !== 'open') lastOutcome = null; // a reading from before an outage is stale
      showBusState(st);
      // A node that polls hears of its device all the time, so the link going down means
      // offline; one that reads on demand only reports what its reads found.
      if (node.interval > 0) avail.fromLinkState(st);
      // Read as soon as the link is (back) up, so dashboards do not wait a whole interval.
      if (st.state === 'open' && previous !== 'open' && node.interval > 0) poll();
    }

    /** The ModbusSensor on the config node's current bus, or null while there is no bus. */
    function currentSensor() {
      const bus = node.busNode.bus;
      if (!bus) return null;
      if (bus !== sensorBus) {
        sensor = bus.sensor(node.address, { profile: node.profile });
        sensorBus = bus;
      }
      return sensor;
    }

    function notConnected() {
      const st = node.busNode.state;
      if (st.state === 'failed' && st.error) return st.error;
      return new ConnectionError(t('modbus-sensor.error.notConnected', { target: node.busNode.target, state: st.state }),
        'ENOTCONNECTED', { path: node.busNode.target });
    }

    function outcome(fill, shape, text) {
      lastOutcome = { fill, shape, text };
      node.status(lastOutcome);
    }

    // While the config node is opening the port (first attempt or a retry), a message waits
    // for the outcome of that attempt (bounded by the open/connect timeout) instead of failing.
    function settled() {
      if (node.busNode.state.state !== 'connecting') return Promise.resolve();
      return new Promise((resolve) => {
        // subscribe() calls back at once with 'connecting', so end() cannot run before off exists.
        const off = node.busNode.subscribe((st) => {
          if (st.state !== 'connecting') end();
        });
        function end() {
          pending.delete(end);
          off();
          resolve();
        }
        pending.add(end);
      });
    }

    // Runs one command against the sensor and fills in msg.payload.
    async function run(command, value, msg) {
      await settled();
      if (closed) return msg;
      const s = currentSensor();
      if (!s) throw notConnected();
      if (command === 'read') {
        let r;
        try {
          r = await s.read();
        } catch (err) {
          avail.fromError(err);
          throw err;
        }
        avail.online();
        msg.payload = {
          temperature: r.temperature,
          humidity: r.humidity,
          valid: r.valid,
          address: r.address,
          timestamp: r.timestamp.toISOString(),
          units: r.units,
        };
        msg.staleAt = staleAt(r.timestamp, node.interval);
        const vars = { temperature: show(r.temperature, s.profile.temperature), humidity: show(r.humidity, s.profile.humidity) };
        if (r.valid) outcome('green', 'dot', t('modbus-sensor.status.reading', vars));
        else outcome('yellow', 'dot', t('modbus-sensor.status.readingInvalid', vars));
      } else {
        const address = s.address;
        let result;
        switch (command) {
          case 'readConfig': result = await s.readConfig(); break;
          case 'setTemperatureCorrection': result = await s.setTemperatureCorrection(value); break;
          case 'setHumidityCorrection': result = await s.setHumidityCorrection(value); break;
          case 'setAddress': result = await s.setAddress(value); break;
          case 'setBaudRate': result = await s.setBaudRate(value); break;
          default: throw new Error(`unhandled command ${command}`);
        }
        node.address = s.address;
        msg.payload = { command, address, value, result, timestamp: new Date().toISOString() };
        if (value === undefined) delete msg.payload.value;
        outcome('green', 'ring', t('modbus-sensor.status.command', { command }));
      }
      msg.topic = node.topic;
      return msg;
    }

    function showError(err) {
      outcome('red', 'ring', t('modbus-sensor.status.error', { code: err.code || err.name || 'ERROR' }));
    }

    async function poll() {
      if (closed) return;
      if (polling) {
        node.pollsSkipped += 1;
        return;
      }
      if (node.busNode.state.state !== 'open') return; // the status shows why; nothing to add
      polling = true;
      const msg = { topic: node.topic };
      try {
        await run('read', undefined, msg);
        if (!closed) node.send(msg);
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
      const p = msg.payload;
      const asked = p !== null && typeof p === 'object' && !Array.isArray(p) && p.command !== undefined ? p.command : 'read';
      if (!COMMANDS.includes(asked)) {
        const err = new ValidationError(t('modbus-sensor.error.unknownCommand', {
          commands: COMMANDS.join(', '), command: String(asked),
        }), 'EINVAL', { argument: 'msg.payload.command' });
        showError(err);
        done(err);
        return;
      }
      let value = asked === 'read' ? undefined : p.value;
      // Dashboard inputs often deliver numbers as text.
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) value = Number(value);
      run(asked, value, msg).then(
        (out) => {
          if (closed) return done();
          send(out);
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
      if (timer) clearInterval(timer);
      timer = null;
      if (unsubscribe) unsubscribe();
      unsubscribe = null;
      for (const end of [...pending]) end();
      done();
    });

    if (problem) {
      setStatus('red', 'ring', problem.argument === 'bus' ? t('modbus-sensor.status.noBus') : t('modbus-sensor.status.badSettings', { code: problem.code }));
      node.error(problem);
      return;
    }
    unsubscribe = node.busNode.subscribe(onBusState);
    if (node.interval > 0) {
      timer = setInterval(poll, Math.max(MIN_INTERVAL_S, node.interval) * 1000);
    }
  }

  RED.nodes.registerType('fieldlink-modbus-sensor', ModbusSensorNode);
};

module.exports.COMMANDS = COMMANDS;
