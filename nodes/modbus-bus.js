'use strict';
// Node-RED config node "fieldlink-modbus-bus": one Modbus RTU bus, on a serial port (an RS485
// adapter) or RTU frames over TCP (a serial server). All nodes naming the same port share one
// link and so one request queue, through nodes/lib/modbus-pool.js.
//
// The pool owns the life cycle of the shared link (nodes/lib/shared-link.js); this node relays
// it to its flow nodes through nodes/lib/config-node.js (subscribe(fn), settled(),
// notConnected(), link) and gives `bus`: the open ModbusBus, or null while there is none. The
// editor's Test and Scan are nodes/lib/modbus-admin.js.
const { ValidationError } = require('../lib/errors');
const { modbus: DEFAULTS } = require('../lib/defaults');
const pool = require('./lib/modbus-pool');
const { linkConfigNode, num, reconnectSettings } = require('./lib/config-node');
const { serveShared } = require('./lib/shared-endpoints');
const { serveModbusJobs } = require('./lib/modbus-admin');
const { translator } = require('./lib/i18n');

/** The target string and open options for a config node's settings (empty: the library default). */
function busSettings(config) {
  const type = config.connectionType === 'tcp' ? 'tcp' : 'serial';
  let target;
  if (type === 'tcp') {
    const host = String(config.host || '').trim();
    const port = num(config.port, DEFAULTS.tcpPort);
    target = `tcp://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  } else {
    target = String(config.serialPort || '').trim();
  }
  const options = {
    baudRate: num(config.baudRate, DEFAULTS.baudRate),
    parity: config.parity || DEFAULTS.parity,
    dataBits: num(config.dataBits, DEFAULTS.dataBits),
    stopBits: num(config.stopBits, DEFAULTS.stopBits),
    timeout: num(config.timeout, DEFAULTS.timeout),
    retries: num(config.retries, DEFAULTS.retries),
    ...reconnectSettings(config, DEFAULTS),
  };
  const gap = num(config.interFrameDelay, undefined);
  if (gap !== undefined) options.interFrameDelay = gap;
  return { type, target, options };
}

module.exports = function register(RED) {
  const t = translator(RED, 'modbus-bus');
  /** The deployed bus nodes (for the admin endpoints: which of them holds a port). */
  const live = new Set();

  function ModbusBusNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const settings = busSettings(config);
    node.name = config.name;
    node.target = settings.target;
    node.options = settings.options;
    const cfg = linkConfigNode(node, { t, ns: 'modbus-bus', label: node.target, live });

    /** The open ModbusBus, or null while there is none. */
    Object.defineProperty(node, 'bus', { get: () => (node.link ? node.link.bus : null) });

    let share;
    try {
      share = pool.acquire(node.target, node.options);
    } catch (err) {
      // The target itself is malformed (it is parsed before anything is opened).
      if (!(err instanceof ValidationError)) throw err;
      cfg.fail(err);
      return;
    }
    cfg.hold(share);
  }

  RED.nodes.registerType('fieldlink-modbus-bus', ModbusBusNode);
  serveShared(RED);
  serveModbusJobs(RED, { t, live, busSettings });
};

module.exports.busSettings = busSettings;
