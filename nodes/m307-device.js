'use strict';
// Node-RED config node "fieldlink-m307-device": one M307 Temperature Guard on the network
// (its device server, TCP port 10001 on the real unit). The M307 serves ONE TCP client at a
// time, so every node naming the same host:port shares one M307Client through
// nodes/lib/m307-pool.js (reference counted; the last release closes it).
//
// The shared connection's life cycle is the pool's (nodes/lib/shared-link.js); this node relays
// it to its flow nodes through nodes/lib/config-node.js (subscribe(fn), settled(),
// notConnected(), link). Flow nodes run requests on `client` (null while there is none). The
// editor's Test is nodes/lib/m307-admin.js.
const pool = require('./lib/m307-pool');
const { ValidationError } = require('../lib/errors');
const { m307: DEFAULTS } = require('../lib/defaults');
const { linkConfigNode, num, reconnectSettings } = require('./lib/config-node');
const { serveShared } = require('./lib/shared-endpoints');
const { serveM307Test } = require('./lib/m307-admin');
const { translator } = require('./lib/i18n');

/** The host and connection options for a config node's settings (empty: the library default). */
function deviceSettings(config) {
  const host = String(config.host || '').trim().replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    options: {
      port: num(config.port, DEFAULTS.port),
      timeout: num(config.timeout, DEFAULTS.timeout),
      ...reconnectSettings(config, DEFAULTS),
    },
  };
}

module.exports = function register(RED) {
  const t = translator(RED, 'm307-device');
  /** The deployed device nodes (for the Test endpoint: which of them holds a connection). */
  const live = new Set();

  function M307DeviceNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const settings = deviceSettings(config);
    node.name = config.name;
    node.host = settings.host;
    node.port = settings.options.port;
    node.options = settings.options;
    node.target = pool.keyFor(node.host || '?', node.port);
    const cfg = linkConfigNode(node, { t, ns: 'm307-device', label: node.target, live });

    /** The shared M307Client, or null while there is none (not yet connected, closing). */
    Object.defineProperty(node, 'client', { get: () => (node.link ? node.link.client : null) });

    if (!node.host) {
      cfg.fail(new ValidationError(t('m307-device.error.noHost'), 'EINVAL', { argument: 'host' }));
      return;
    }
    cfg.hold(pool.acquire(node.host, node.options));
  }

  RED.nodes.registerType('fieldlink-m307-device', M307DeviceNode);
  serveShared(RED);
  serveM307Test(RED, { t, live, deviceSettings });
};

module.exports.deviceSettings = deviceSettings;
