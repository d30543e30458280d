'use strict';
// Ends with its parent: the test holds our stdin; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
// A hostile peer on the M307 port, in its own process (so it keeps pouring while the
// client's process is under load). Requests other than the log command are answered by the
// real simulator; the mode decides what the log command (or the connection itself) gets.
//   node hostile-m307.js <mode>   prints the port on stdout, then serves until killed.
// Modes:
//   records       the log command gets valid-looking 15-byte records forever, no THE-END
//   random        random bytes from the moment of connect, forever
//   drip          the log command gets one byte every 100 ms, forever
//   drip-connect  one byte every 100 ms from the moment of connect
//   long-status   the status reply has one byte too many (61, in one write)
//   log-4001      the log is 4,001 records and THE-END (one record more than the device holds)
//   log-4000      an echo, 4,000 records and THE-END (the most a device can send)
const net = require('node:net');
const crypto = require('node:crypto');
const { M307Simulator } = require('../../lib/sim/m307');

const mode = process.argv[2];
const sim = new M307Simulator({ drift: false });
const RECORD = Buffer.from([0x30, 0x12, 0x03, 0x12, 0x26, 0x01, 0x2c, 0x01, 0x2c, 0x00, 0xfa, 0x02, 0x58, 0x07, 0x00]);
const THE_END = Buffer.from('THE-END');

function pour(socket, make) {
  while (!socket.destroyed && socket.write(make()));
  if (!socket.destroyed) socket.once('drain', () => pour(socket, make));
}

function drip(socket, make) {
  const t = setInterval(() => {
    if (socket.destroyed) clearInterval(t);
    else socket.write(make());
  }, 100);
  socket.on('close', () => clearInterval(t));
}

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  if (mode === 'random') return pour(socket, () => crypto.randomBytes(65536));
  if (mode === 'drip-connect') return drip(socket, () => crypto.randomBytes(1));
  const port = sim.connect((buf, cb) => {
    if (socket.destroyed) return cb && cb();
    if (mode === 'long-status' && buf.length === 60 && buf[0] === 0x3f && buf[1] === 0xcd) {
      buf = Buffer.concat([buf, Buffer.from([0x00])]);
    }
    socket.write(buf, cb ? () => cb() : undefined);
  }, { name: 'hostile', close: () => socket.destroy() });
  socket.on('close', () => port.close());
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 60) {
      const req = pending.subarray(0, 60);
      pending = pending.subarray(60);
      const isLog = req[0] === 0xde && req[1] === 0xca && req[2] === 0xde && req[3] === 0x04;
      if (!isLog) { port.receive(req); continue; }
      if (mode === 'records') pour(socket, () => Buffer.concat(Array(4096).fill(RECORD)));
      else if (mode === 'drip') { let i = 0; drip(socket, () => RECORD.subarray(i++ % 15, (i - 1) % 15 + 1)); }
      else if (mode === 'log-4001') socket.write(Buffer.concat([...Array(4001).fill(RECORD), THE_END]));
      else if (mode === 'log-4000') socket.write(Buffer.concat([Buffer.from(req), ...Array(4000).fill(RECORD), THE_END]));
      else port.receive(req);
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
