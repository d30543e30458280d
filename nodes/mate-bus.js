'use strict';
// Node-RED config node "fieldlink-mate-bus": one Outback MATE bus on a serial port (an RS232
// adapter wired as a MATE, or uMATE's PJON bridge). All config nodes naming the same port
// share one MateBus through nodes/lib/mate-pool.js, so the MX, FX, DC and FX-control nodes
// all go through one link and one request queue.
//
// The pool owns the life cycle of the shared bus; nodes/lib/config-node.js relays it to the
// flow nodes, logs each outage once and releases the share within 2 s on close. This node also
// keeps the MATE's master duties running while deployed when asked to. The flow nodes' common
// part is nodes/lib/mate-flow.js; the editor's Scan is nodes/lib/mate-admin.js.
const { ValidationError } = require('../lib/errors');
const { mate: DEFAULTS } = require('../lib/defaults');
const pool = require('./lib/mate-pool');
const { linkConfigNode, num, flag, reconnectSettings } = require('./lib/config-node');
const { serveShared } = require('./lib/shared-endpoints');
const { serveMateScan } = require('./lib/mate-admin');
const { translator } = require('./lib/i18n');

/** The port path and MateBus options of a config node's settings (empty: the library default). */
function busSettings(config) {
  return {
    path: String(config.serialPort || '').trim(),
    options: {
      parityMode: config.parityMode || DEFAULTS.parityMode,
      transport: config.transport || DEFAULTS.transport,
      timeout: num(config.timeout, DEFAULTS.timeout),
      retries: num(config.retries, DEFAULTS.retries),
      allowControl: flag(config.allowControl),
      ...reconnectSettings(config, DEFAULTS),
    },
    masterDuties: flag(config.masterDuties),
  };
}

function register(RED) {
  const t = translator(RED, 'mate-bus');
  /** The deployed bus nodes (for the Scan endpoint: which of them holds a port). */
  const live = new Set();

  function MateBusNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const settings = busSettings(config);
    node.name = config.name;
    node.path = settings.path;
    node.options = settings.options;
    node.allowControl = settings.options.allowControl;
    node.masterDuties = settings.masterDuties;
    const cfg = linkConfigNode(node, {
      t,
      ns: 'mate-bus',
      label: node.path,
      live,
      logVars: () => ({ parity: (node.link && node.link.bus && node.link.bus.parityMode) || '' }),
    });

    const dutyErrors = new Set(); // duty:code pairs already logged
    function onDutyError(err) {
      const key = `${err.duty}:${err.code}`;
      if (dutyErrors.has(key)) return;
      dutyErrors.add(key);
      node.warn(t('mate-bus.log.dutyFailed', { duty: err.duty || '?', code: err.code || err.name, message: err.message }));
    }
    function onDuty(name) {
      for (const key of [...dutyErrors]) if (key.startsWith(`${name}:`)) dutyErrors.delete(key);
    }

    if (!node.path) {
      cfg.fail(new ValidationError(t('mate-bus.error.noPort'), 'EINVAL', { argument: 'serialPort' }));
      return;
    }
    const share = pool.acquire(node.path, node.options);
    share.link.on('duty-error', onDutyError);
    share.link.on('duty', onDuty);
    const leaveDuties = node.masterDuties ? share.link.addDutyUser() : null;
    cfg.onClose(() => {
      if (leaveDuties) leaveDuties();
      share.link.removeListener('duty-error', onDutyError);
      share.link.removeListener('duty', onDuty);
    });
    cfg.hold(share);
  }

  RED.nodes.registerType('fieldlink-mate-bus', MateBusNode);
  serveShared(RED);
  serveMateScan(RED, { t, live, busSettings });
}

module.exports = register;
module.exports.busSettings = busSettings;
