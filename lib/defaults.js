'use strict';
// Every default setting of the library, in one place. The layers below (the addon, the
// engine) receive each of these values explicitly and keep no defaults of their own; the
// layers above (the Node-RED nodes, their editor panels, the CLI, the gateway) read them
// from here instead of restating them.
//
// One rule for all three families: a link retries its first open and reconnects after a
// loss with jittered backoff from reconnectMinDelay, doubling up to reconnectMaxDelay;
// interFrameDelay 'auto' means no gap on a pseudo-terminal or TCP and the family's own
// gap on a real serial line.

const link = Object.freeze({
  reconnectMinDelay: 500,
  reconnectMaxDelay: 10000,
});

const modbus = Object.freeze({
  baudRate: 9600,
  parity: 'none',
  dataBits: 8,
  stopBits: 1,
  timeout: 500,
  retries: 0,
  interFrameDelay: 'auto',
  tcpPort: 502,
  serialDriver: 'auto',
  queueLimit: 1000, // requests waiting per bus before EQUEUEFULL
  connectTimeout: 3000, // RTU over TCP
  offlineAfter: 3, // timeouts in a row before a unit is skipped (EOFFLINE)
  offlineProbeInterval: 5000,
  settleTime: 20, // quiet time after a garbled reply before it is final
  broadcastDelay: 100, // turnaround after a broadcast write
  profile: 'xy-md02', // the sensor profile when none is named
  ...link,
});

const m307 = Object.freeze({
  port: 10001,
  timeout: 2000,
  connectTimeout: 5000,
  logIdleTimeout: 5000,
  // The whole log download: 4,000 records through a 9,600-baud serial server take ~63 s.
  logTimeout: 180000,
  ...link,
});

const mate = Object.freeze({
  parityMode: 'auto',
  transport: 'serial',
  timeout: 100, // a real MATE gives up after about 50 ms
  retries: 2,
  interFrameDelay: 'auto',
  allowControl: false,
  serialDriver: 'auto',
  baudRate: 115200, // the PJON serial bridge (transport 'pjon'); the MATE bus itself is 9600
  ...link,
});

module.exports = Object.freeze({ link, modbus, m307, mate });
