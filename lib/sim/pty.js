'use strict';
// The device end of a pseudo-terminal, as an EventEmitter: the transport the simulators
// serve on. Clients open `path` (or the `link` symlink) exactly like a USB adapter.
const fs = require('node:fs');
const path = require('node:path');
const { EventEmitter } = require('node:events');
const native = require('../native');

class Pty extends EventEmitter {
  constructor(link) {
    super();
    this._native = new native.NativePty(link || '', (buf) => this.emit('data', buf));
    this.slavePath = this._native.path;
    this.link = this._native.link;
    this.path = this.link || this.slavePath;
    this.closed = false;
  }

  /** The baud rate the client set on its end of the pty (ptys keep speed, not parity). */
  clientBaudRate() {
    return this.closed ? null : this._native.baudRate();
  }

  write(buf) {
    if (this.closed) return;
    this._native.write(Buffer.isBuffer(buf) ? buf : Buffer.from(buf));
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this._native.close();
    this.emit('close');
  }
}

// A link that points at a pseudo-terminal that still exists belongs to a running simulator
// (a pty's /dev/pts entry goes away with its last holder): taking it over would leave that
// simulator serving nothing, and its exit would delete our link. A dangling link (a
// simulator that was killed) is fair game.
function checkLinkFree(link) {
  let target;
  try {
    if (!fs.lstatSync(link).isSymbolicLink()) return;
    target = path.resolve(path.dirname(link), fs.readlinkSync(link));
  } catch {
    return; // no such path
  }
  let st;
  try {
    st = fs.statSync(target);
  } catch {
    return; // dangling
  }
  if (st.isCharacterDevice() && target.startsWith('/dev/pts/')) {
    const e = new Error(`${link} belongs to a running simulator (it points at ${target}): stop that one first, or choose another path`);
    e.code = 'EBUSY';
    throw e;
  }
}

/** openPty({ link }) -> Pty { path, slavePath, link, write(buf), on('data'), close() } */
function openPty({ link } = {}) {
  if (link) checkLinkFree(link);
  return new Pty(link);
}

module.exports = { openPty, Pty };
