'use strict';

// The M307 on TCP, as its Lantronix XPort-style device server presents it: the device is the
// server (port 10001 on the real unit), requests and replies are raw bytes with no framing
// beyond the fixed 60-byte request. One client at a time by default: while one is connected,
// a second is accepted and closed at once (sim fault 'refuse-second').

const { listenTcp } = require('../transport');

/**
 * serveTcp(sim, { host = '127.0.0.1', port = 0 })
 *   -> Promise<{ host, port, url: 'tcp://host:port', server, connections(), close(): Promise }>
 */
function serveTcp(sim, opts = {}) {
  return listenTcp(opts, (write, info) => {
    const { socket } = info;
    return sim.connect((buf, cb) => {
      if (!socket.destroyed && socket.writable) socket.write(buf, cb ? () => cb() : undefined);
      else if (cb) cb();
    }, {
      name: info.name,
      close: () => socket.destroy(),
      refuse: (reset) => {
        if (reset && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
        else socket.destroy();
      },
    });
  });
}

module.exports = { serveTcp };
