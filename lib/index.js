'use strict';
// fieldlink: field devices from Node.js and Node-RED.
const errors = require('./errors');
const { ModbusBus } = require('./modbus/bus');
const { ModbusSensor } = require('./modbus/sensor');
const { profiles, resolveProfile } = require('./modbus/profiles');
const { listPorts } = require('./ports');
const { M307Client } = require('./m307/client');
const { m307 } = require('./m307');
const { MateBus } = require('./mate/bus');
const { mate } = require('./mate');
const { diagnose, runFullDiagnostic, scanModbus, probeProfile, testM307 } = require('./diagnostics');
const { configureEngine, engineStats } = require('./engine');

module.exports = {
  // MQTT / Home Assistant (loaded on first use: mqtt.js and yaml are not needed otherwise).
  get mqtt() {
    const mapping = require('./mqtt/mapping');
    return {
      createMapping: mapping.createMapping,
      normalize: mapping.normalize,
      guessKind: mapping.guessKind,
      componentsOf: mapping.componentsOf,
      KINDS: mapping.KINDS,
      MqttPublisher: require('./mqtt/publisher').MqttPublisher,
      Availability: require('./mqtt/availability').Availability,
    };
  },
  get gateway() {
    const config = require('./gateway/config');
    const gw = require('./gateway');
    return { parseConfig: config.parseConfig, loadConfig: config.loadConfig, ConfigError: config.ConfigError, Gateway: gw.Gateway, removeDevices: gw.removeDevices };
  },
  ModbusBus,
  ModbusSensor,
  M307Client,
  m307,
  MateBus,
  mate,
  modbusProfiles: profiles,
  resolveModbusProfile: resolveProfile,
  listPorts,
  diagnose,
  runFullDiagnostic,
  scanModbus,
  probeProfile,
  testM307,
  configureEngine,
  engineStats,
  errors,
  FieldlinkError: errors.FieldlinkError,
  ValidationError: errors.ValidationError,
  ConnectionError: errors.ConnectionError,
  TimeoutError: errors.TimeoutError,
  ProtocolError: errors.ProtocolError,
  DeviceError: errors.DeviceError,
  // The M307 client's error names, as aliases of the common classes.
  M307Error: errors.FieldlinkError,
  M307ConnectionError: errors.ConnectionError,
  M307CommandError: errors.DeviceError,
  M307ValidationError: errors.ValidationError,
};
