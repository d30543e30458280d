'use strict';

// Transport helpers shared by the simulators (lib/sim/*). A simulator core exposes
// "attach(write, info) -> { receive(buf), close() }"; these helpers connect such a core to a
// TCP listener or to a pseudo-terminal without knowing anything about the protocol.

const net = require('node:net');

function formatTcpUrl(host, port) {
  const h = host.includes(':') ? `[${host}]` : host;
  return `tcp://${h}:${port}`;
}

/**
 * Listen on TCP; every client gets its own endpoint from attach(write, { name, socket }).
 * Resolves to { host, port, url, server, connections(), close() }.
 */
function listenTcp(opts, attach) {
  const host = opts && opts.host != null ? opts.host : '127.0.0.1';
  const port = opts && opts.port != null ? Number(opts.port) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return Promise.reject(new RangeError(`TCP port must be an integer in 0..65535 (got ${opts.port})`));
  }
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const name = `tcp:${socket.remoteAddress}:${socket.remotePort}`;
    const endpoint = attach((buf) => {
      if (!socket.destroyed && socket.writable) socket.write(buf);
    }, { name, socket });
    socket.on('data', (d) => endpoint.receive(d));
    socket.on('error', () => {}); // a client that resets is not the simulator's problem
    socket.on('close', () => {
      sockets.delete(socket);
      endpoint.close();
    });
  });

  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      server.on('error', () => {});
      const addr = server.address();
      let closing = null;
      resolve({
        host,
        port: addr.port,
        url: formatTcpUrl(host, addr.port),
        server,
        connections: () => sockets.size,
        close() {
          if (!closing) {
            closing = new Promise((done) => {
              server.close(() => done());
              for (const s of sockets) s.destroy();
            });
          }
          return closing;
        },
      });
    });
  });
}

/**
 * Serve a simulator core on a pseudo-terminal made by openPty({ link }), which returns (or
 * resolves to) an EventEmitter { path, write(buf), on('data', fn), close() }.
 * Resolves to { path, slavePath, link, pty, close() }.
 */
async function attachPty(openPty, opts, attach) {
  const link = opts && opts.link;
  const pty = await openPty(link ? { link } : {});
  const endpoint = attach((buf) => pty.write(buf), { name: `pty:${link || pty.path}` });
  const onData = (d) => endpoint.receive(d);
  pty.on('data', onData);
  pty.on('error', () => {}); // a vanished peer must not crash the simulator
  let closing = null;
  return {
    path: pty.path,
    slavePath: pty.slavePath || pty.path,
    link: link || null,
    pty,
    close() {
      if (!closing) {
        endpoint.close();
        if (typeof pty.removeListener === 'function') pty.removeListener('data', onData);
        closing = Promise.resolve(pty.close()).then(() => {});
      }
      return closing;
    },
  };
}

module.exports = { listenTcp, attachPty, formatTcpUrl };
