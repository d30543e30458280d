'use strict';

// Modbus RTU temperature/humidity sensor simulator (see slave.js for the model).

const { ModbusSimulator, SimUnit, FAULT_MODES, EXCEPTION, decodeRequest, hex } = require('./slave');
const { PROFILES, getProfile } = require('./profiles');
const { crc16, withCrc, crcOk } = require('./crc');
const { serveTcp } = require('./tcp');
const { attachPty } = require('../transport');

/**
 * servePty(sim, { link }) -> Promise<{ path, slavePath, link, close(): Promise }>
 * Serves the simulator on a pseudo-terminal; link is an optional symlink to create for it.
 * The pty helper is loaded only when this is called.
 */
function servePty(sim, opts = {}) {
  let openPty;
  try {
    ({ openPty } = require('../pty'));
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes("'../pty'")) {
      return Promise.reject(new Error('the pseudo-terminal transport is not available (lib/sim/pty is missing)'));
    }
    throw err;
  }
  return attachPty(openPty, opts, (write, info) => sim.connect(write, { name: info.name }));
}

module.exports = {
  ModbusSimulator,
  SimUnit,
  FAULT_MODES,
  EXCEPTION,
  PROFILES,
  getProfile,
  serveTcp,
  servePty,
  decodeRequest,
  crc16,
  withCrc,
  crcOk,
  hex,
};
