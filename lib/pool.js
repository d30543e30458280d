'use strict';
// A process-wide, reference-counted pool of links keyed by port or device: every user naming
// the same key shares one link (one queue on the wire). Used by the Modbus registry here and
// by the Node-RED pools for the M307 and the MATE bus (nodes/lib). linkKey() is the one rule
// by which two users are found to name the same link, for every family.
const fs = require('node:fs');

/**
 * The pool key of a link: { path } for a serial port (the real path, so a /dev/serial/by-id
 * link and the device it points to are one port), or { host, port, scheme } for a TCP peer
 * (the host lower-cased, an IPv6 address in brackets; `scheme` is put in front as
 * "scheme://" when given).
 */
function linkKey(where) {
  if (where.path !== undefined) {
    const p = String(where.path).trim();
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  }
  const h = String(where.host).trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const host = h.includes(':') ? `[${h}]` : h;
  return `${where.scheme ? `${where.scheme}://` : ''}${host}:${where.port}`;
}

/**
 * createPool(shared, what, { differs }) -> { acquire, count, users, drop }.
 * acquire(key, opts, create) returns { link, release(), conflict, key }: create() makes the
 * link for the first user (an object with `options` and `close()`); `conflict` is a message
 * when the link exists already with other values of the `shared` settings (the first user's
 * win). differs(mine, theirs) decides what counts as other (default: !==).
 */
function createPool(shared, what, { differs = (a, b) => a !== b } = {}) {
  const links = new Map();
  function acquire(key, opts, create) {
    let e = links.get(key);
    let conflict = null;
    if (!e) {
      e = { users: 0, link: create() };
      links.set(key, e);
    } else {
      const diff = shared.filter((k) => differs(opts[k], e.link.options[k]));
      if (diff.length) conflict = `${key} is already ${what} with ${diff.map((k) => `${k}=${e.link.options[k]}`).join(', ')}; using those settings`;
    }
    e.users += 1;
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      e.users -= 1;
      if (e.users > 0) return;
      if (links.get(key) === e) links.delete(key);
      await e.link.close();
    };
    return { link: e.link, release, conflict, key };
  }
  return {
    acquire,
    count: () => links.size,
    users: (key) => (links.get(key) ? links.get(key).users : 0),
    // Forgets `link` (say, its open failed) so the next acquire of `key` creates a new one;
    // the current users still release theirs.
    drop: (key, link) => {
      const e = links.get(key);
      if (e && e.link === link) links.delete(key);
    },
  };
}

module.exports = { createPool, linkKey };
