'use strict';
// Node-RED flow node "fieldlink-modbus-sensor": one RS485 Modbus temperature/humidity sensor
// (XY-MD02 / SHT20 family) on a fieldlink-modbus-bus config node. Reads on a poll timer and
// on every input message; input messages may also carry a command (readConfig, corrections,
// address, baud rate). The status shows the last outcome or the state of the link; errors go
// through done(err) / node.error(err, msg) so Catch nodes see them, with msg.error.code.
const { resolveModbusProfile: resolveProfile } = require('../lib');
const { ValidationError } = require('../lib/errors');
const { translator } = require('./lib/i18n');
const { deviceNode, numberish } = require('./lib/device-node');

const COMMANDS = ['read', 'readConfig', 'setTemperatureCorrection', 'setHumidityCorrection', 'setAddress', 'setBaudRate'];
const MIN_INTERVAL_S = 0.1;

const { decimalsFor, profiles } = require('../lib/modbus/profiles');
const defaults = require('../lib/defaults');

// The status text shows a value with as many decimals as its channel's scale gives.
const show = (value, channel) => (typeof value === 'number' ? value.toFixed(channel ? decimalsFor(channel.scale) : 1) : '–');

module.exports = function register(RED) {
  const t = translator(RED, 'modbus-sensor');

  function ModbusSensorNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.unit = Number(config.unit);
    node.profileName = config.profile || defaults.modbus.profile;
    node.address = node.unit; // follows a successful setAddress
    const ctx = deviceNode(RED, node, config, {
      t,
      prefix: 'modbus-sensor',
      topic: `modbus/${config.unit}`,
      polls: true,
      minInterval: MIN_INTERVAL_S,
      check() {
        if (!Number.isInteger(node.unit) || node.unit < 1 || node.unit > 247) {
          throw new ValidationError(t('modbus-sensor.error.badUnit', { unit: config.unit }), 'ERANGE', { argument: 'unit' });
        }
        node.profile = resolveProfile(node.profileName);
      },
      // One ModbusSensor per bus; it keeps following the unit's address after setAddress.
      device: (link, bus) => bus.sensor(node.address, { profile: node.profile }),
    });

    // Runs one command against the sensor and fills in msg.payload.
    function run(command, value, msg) {
      return ctx.withDevice(async (s) => {
        if (command === 'read') {
          const r = await s.read();
          msg.payload = {
            temperature: r.temperature,
            humidity: r.humidity,
            valid: r.valid,
            address: r.address,
            timestamp: r.timestamp.toISOString(),
            units: r.units,
          };
          msg.staleAt = ctx.staleAt(r.timestamp);
          const vars = { temperature: show(r.temperature, s.profile.temperature), humidity: show(r.humidity, s.profile.humidity) };
          if (r.valid) ctx.outcome('green', 'dot', t('modbus-sensor.status.reading', vars));
          else ctx.outcome('yellow', 'dot', t('modbus-sensor.status.readingInvalid', vars));
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
          ctx.outcome('green', 'ring', t('modbus-sensor.status.command', { command }));
        }
        msg.topic = node.topic;
        return msg;
      });
    }

    ctx.onInput((msg) => {
      const p = msg.payload;
      const asked = p !== null && typeof p === 'object' && !Array.isArray(p) && p.command !== undefined ? p.command : 'read';
      if (!COMMANDS.includes(asked)) {
        throw new ValidationError(t('modbus-sensor.error.unknownCommand', {
          commands: COMMANDS.join(', '), command: String(asked),
        }), 'EINVAL', { argument: 'msg.payload.command' });
      }
      return run(asked, asked === 'read' ? undefined : numberish(p.value), msg);
    });

    ctx.start((msg) => run('read', undefined, msg));
  }

  // The editor's profile list and default come from here (RED.settings.fieldlinkModbusSensorProfiles),
  // so the panels never restate them.
  RED.nodes.registerType('fieldlink-modbus-sensor', ModbusSensorNode, {
    settings: {
      fieldlinkModbusSensorProfiles: {
        value: { names: Object.keys(profiles), default: defaults.modbus.profile },
        exportable: true,
      },
    },
  });
};

module.exports.COMMANDS = COMMANDS;
