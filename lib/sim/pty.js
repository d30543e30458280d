'use strict';
// The device end of a pseudo-terminal, as an EventEmitter: the transport the simulators
// serve on. Clients open `path` (or the `link` symlink) exactly like a USB adapter.
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

/** openPty({ link }) -> Pty { path, slavePath, link, write(buf), on('data'), close() } */
function openPty({ link } = {}) {
  return new Pty(link);
}

module.exports = { openPty, Pty };
