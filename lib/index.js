'use strict';
// fieldlink: field devices from Node.js and Node-RED.
const errors = require('./errors');
const { ModbusBus } = require('./modbus/bus');
const { ModbusSensor } = require('./modbus/sensor');
const { profiles, resolveProfile } = require('./modbus/profiles');
const { listPorts } = require('./ports');

module.exports = {
  ModbusBus,
  ModbusSensor,
  modbusProfiles: profiles,
  resolveModbusProfile: resolveProfile,
  listPorts,
  errors,
  FieldlinkError: errors.FieldlinkError,
  ValidationError: errors.ValidationError,
  ConnectionError: errors.ConnectionError,
  TimeoutError: errors.TimeoutError,
  ProtocolError: errors.ProtocolError,
  DeviceError: errors.DeviceError,
};
