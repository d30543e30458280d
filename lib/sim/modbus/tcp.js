'use strict';

// RTU framing over TCP, the way a ser2net / RS485-to-Ethernet converter carries it: raw RTU
// frames (with CRC) on the socket, no MBAP header. Several clients may connect; each has its
// own input buffer, and replies go back to the client that asked.

const { listenTcp } = require('../transport');

/**
 * serveTcp(sim, { host = '127.0.0.1', port = 0 })
 *   -> Promise<{ host, port, url: 'tcp://host:port', connections(), close(): Promise }>
 */
function serveTcp(sim, opts = {}) {
  return listenTcp(opts, (write, info) => sim.connect(write, { name: info.name }));
}

module.exports = { serveTcp };
