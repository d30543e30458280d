'use strict';
// Which Node-RED the tests run: the one scripts/lib/nodered.js picks for this Node (the dev
// dependency, Node-RED 5, or Node-RED 4.1 from .runtimes on Node < 22.9), or the install that
// FIELDLINK_NODE_RED names. Helper tests and the headless e2e runs thus use the same one.
const path = require('node:path');
const { nodeRedDir } = require('../../scripts/lib/nodered');

/** The runtime module, for node-red-node-test-helper's init(). */
function nodeRedRuntime() {
  return require.resolve(nodeRedDir());
}

/** A core node's module from the same Node-RED (e.g. 'common/25-catch.js'), never a mix of two. */
function coreNode(rel) {
  const fs = require('node:fs');
  const dir = nodeRedDir();
  for (const base of [path.join(dir, 'node_modules'), path.join(dir, '..')]) {
    const file = path.join(base, '@node-red', 'nodes', 'core', rel);
    if (fs.existsSync(file)) return require(file);
  }
  throw new Error(`no core node ${rel} next to ${dir}`);
}

function nodeRedVersion() {
  return require(path.join(nodeRedDir(), 'package.json')).version;
}

module.exports = { nodeRedDir, nodeRedRuntime, nodeRedVersion, coreNode };
