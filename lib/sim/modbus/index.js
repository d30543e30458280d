'use strict';

// Modbus RTU temperature/humidity sensor simulator (see slave.js for the model).

const {
  ModbusSimulator, SimUnit, FAULT_MODES, WIRING_FAULT_MODES, ALL_FAULT_MODES, EXCEPTION, autoReportLine, decodeRequest, hex,
} = require('./slave');
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
  const { openPty } = require('../pty');
  let pty = null;
  const open = (o) => {
    pty = openPty(o);
    return pty;
  };
  // A pty keeps the line speed the client set (not its parity): like a real bus, units at
  // another baud rate hear nothing. opts.followClientBaud = false turns this off.
  const follow = opts.followClientBaud !== false;
  return attachPty(open, opts, (write, info) => {
    const clientBaud = () => (pty ? pty.clientBaudRate() : null);
    const port = sim.connect(write, { name: info.name, baudRate: follow ? clientBaud : undefined });
    return {
      receive(buf) {
        const baud = follow && pty ? pty.clientBaudRate() : null;
        if (baud) sim.busBaudRate = baud;
        port.receive(buf);
      },
      close: () => port.close(),
    };
  });
}

module.exports = {
  ModbusSimulator,
  SimUnit,
  FAULT_MODES,
  WIRING_FAULT_MODES,
  ALL_FAULT_MODES,
  EXCEPTION,
  autoReportLine,
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
