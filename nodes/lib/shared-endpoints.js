'use strict';
// The admin endpoints every fieldlink editor panel uses, registered once per Node-RED by
// whichever config node loads first:
//   GET /fieldlink/ports     the serial ports with their stable /dev/serial/by-id names (the
//                            port picker of the Modbus and MATE panels)
//   GET /fieldlink/defaults  lib/defaults.js: an empty field in a panel means the library's
//                            default, shown there as the placeholder
// Both need 'fieldlink.read': a user with Node-RED's "read" scope (or "*") has it, and a
// fine-grained scope can grant it alone; neither endpoint belongs to one family's node.
const { listPorts } = require('../../lib/ports');
const defaults = require('../../lib/defaults');

const READ = 'fieldlink.read';
const served = new WeakSet();

function serveShared(RED) {
  if (served.has(RED.httpAdmin)) return;
  served.add(RED.httpAdmin);
  RED.httpAdmin.get('/fieldlink/ports', RED.auth.needsPermission(READ), (req, res) => {
    listPorts().then(
      (ports) => res.json(ports),
      (err) => res.status(500).json({ error: err.message, code: err.code || null }),
    );
  });
  RED.httpAdmin.get('/fieldlink/defaults', RED.auth.needsPermission(READ), (req, res) => {
    res.json(defaults);
  });
}

module.exports = { serveShared };
