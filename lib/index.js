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

/** An object whose properties are computed on first read (so their modules load only then). */
function lazy(defs) {
  const o = {};
  for (const [key, make] of Object.entries(defs)) {
    Object.defineProperty(o, key, {
      enumerable: true,
      configurable: true,
      get() {
        const value = make();
        Object.defineProperty(o, key, { value, enumerable: true });
        return value;
      },
    });
  }
  return o;
}

// MQTT / Home Assistant and the gateway, loaded on first use: mqtt.js and yaml are not needed
// otherwise. Plain names in module.exports below, so `import { mqtt } from 'fieldlink'` works.
const mqtt = lazy({
  createMapping: () => require('./mqtt/mapping').createMapping,
  normalize: () => require('./mqtt/mapping').normalize,
  guessKind: () => require('./mqtt/mapping').guessKind,
  componentsOf: () => require('./mqtt/mapping').componentsOf,
  KINDS: () => require('./mqtt/mapping').KINDS,
  MqttPublisher: () => require('./mqtt/publisher').MqttPublisher,
  Availability: () => require('./availability').Availability,
});
const gateway = lazy({
  parseConfig: () => require('./gateway/config').parseConfig,
  loadConfig: () => require('./gateway/config').loadConfig,
  ConfigError: () => require('./gateway/config').ConfigError,
  Gateway: () => require('./gateway').Gateway,
  removeDevices: () => require('./gateway').removeDevices,
});

module.exports = {
  mqtt,
  gateway,
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
