'use strict';

// Outback MATE bus device simulator: hub, MX/FLEXmax, FX and FLEXnet DC (docs/protocols/mate.md).
// device.js: the simulator and its framing; devices.js: what each device answers;
// model.js: the day/night PV/battery/load model; codec.js: bytes; presets.js: the capture.

const { MateSimulator, MateConnection, FAULT_MODES, DEFAULT_DEVICES, PRESETS } = require('./device');
const {
  MateDevice, HubDevice, MxDevice, FxDevice, DcDevice, FX_CONTROLS, FX_OP_MODE, MX_FIELDS, FX_FIELDS, DC_FIELDS,
} = require('./devices');
const { PowerSystem, MODE } = require('./model');
const codec = require('./codec');
const { attachPty } = require('../transport');

/**
 * servePty(sim, { link }) -> Promise<{ path, slavePath, link, close(): Promise }>
 * Serves the simulator on a pseudo-terminal (what a client opens like a USB adapter); link
 * is an optional symlink to create for it. The pty helper is loaded only when this is called.
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
  MateSimulator,
  MateConnection,
  MateDevice,
  HubDevice,
  MxDevice,
  FxDevice,
  DcDevice,
  PowerSystem,
  servePty,
  FAULT_MODES,
  DEFAULT_DEVICES,
  PRESETS,
  FX_CONTROLS,
  FX_OP_MODE,
  CHARGER_MODE: MODE,
  MX_FIELDS,
  FX_FIELDS,
  DC_FIELDS,
  codec,
  ...codec,
};
