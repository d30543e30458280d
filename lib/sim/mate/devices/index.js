'use strict';

// The simulated devices behind a MATE: hub, MX/FLEXmax charge controller, FX inverter and
// FLEXnet DC battery monitor (docs/protocols/mate.md §6-11). Each one answers a decoded command
// with { byte0, payload, note } or { silent: true, note }; framing, checksums, faults and
// transports live in ../device.js (MateSimulator).
//
// Values come from the shared PowerSystem model at the simulator's clock, unless a field is
// fixed with device.set({ field: value }) (presets do that). Registers that show the same
// quantity as a status field are derived from the same values, so a register read and a
// status page never disagree.
//
// One file per device: base.js (MateDevice, HubDevice), mx.js, fx.js, dc.js.

const { MateDevice, HubDevice } = require('./base');
const { MxDevice, MX_FIELDS, snapPeakWatts } = require('./mx');
const { FxDevice, FX_FIELDS, FX_CONTROLS, FX_OP_MODE } = require('./fx');
const { DcDevice, DC_FIELDS } = require('./dc');

const DEVICE_CLASSES = { hub: HubDevice, mx: MxDevice, fx: FxDevice, dc: DcDevice };

module.exports = {
  MateDevice,
  HubDevice,
  MxDevice,
  FxDevice,
  DcDevice,
  DEVICE_CLASSES,
  FX_CONTROLS,
  FX_OP_MODE,
  MX_FIELDS,
  FX_FIELDS,
  DC_FIELDS,
  snapPeakWatts,
};
