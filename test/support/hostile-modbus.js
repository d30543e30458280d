'use strict';
// Ends with its parent: the test holds our stdin; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
// A Modbus line flooded with noise, in its own process: opens a pty at argv[2] (a symlink
// path), prints "ready", then writes random bytes (about 1 MB/s) until killed.
const crypto = require('node:crypto');
const { openPty } = require('../../lib/sim/pty');

const pty = openPty({ link: process.argv[2] });
pty.on('data', () => {});
setInterval(() => pty.write(crypto.randomBytes(1024)), 1);
process.on('SIGTERM', () => { pty.close(); process.exit(0); });
process.stdout.write('ready\n');
