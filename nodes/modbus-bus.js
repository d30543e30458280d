'use strict';
// Node-RED config node "fieldlink-modbus-bus": one Modbus RTU bus, on a serial port (an RS485
// adapter) or RTU frames over TCP (a serial server). All nodes naming the same port share one
// link and so one request queue, through lib/registry.js.
//
// The config node owns the life cycle of its share of the link:
//   connecting -> open <-> reconnecting (the native layer reconnects a lost link by itself)
//   connecting -> reconnecting (the first open failed: retried here with capped backoff,
//                               because the native layer only reconnects after a first open)
//   any -> closed (deploy / shutdown: the share is released and done() is called within 2 s)
//   failed: the settings themselves were rejected (a ValidationError); fixed by editing them.
// Flow nodes call subscribe(fn) to hear every change; fn gets { state, retryIn, error, attempt }.
const registry = require('../lib/registry');
const { listPorts } = require('../lib/ports');
const { ValidationError } = require('../lib/errors');
const { translator } = require('./lib/i18n');

const CLOSE_LIMIT_MS = 1800; // Node-RED must get done() in under 2 s, whatever the port does
const DEFAULT_RECONNECT_MIN = 1000;
const DEFAULT_RECONNECT_MAX = 10000;

// '' / null / undefined -> fallback; anything else -> Number (NaN is left to the validation).
function num(value, fallback) {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return fallback;
  return Number(value);
}

/** The target string and open options for a config node's settings. */
function busSettings(config) {
  const type = config.connectionType === 'tcp' ? 'tcp' : 'serial';
  let target;
  if (type === 'tcp') {
    const host = String(config.host || '').trim();
    const port = num(config.port, 502);
    target = `tcp://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  } else {
    target = String(config.serialPort || '').trim();
  }
  const reconnectMinDelay = num(config.reconnectMinDelay, DEFAULT_RECONNECT_MIN);
  const reconnectMaxDelay = num(config.reconnectMaxDelay, Math.max(DEFAULT_RECONNECT_MAX, reconnectMinDelay));
  const options = {
    baudRate: num(config.baudRate, 9600),
    parity: config.parity || 'none',
    dataBits: num(config.dataBits, 8),
    stopBits: num(config.stopBits, 1),
    timeout: num(config.timeout, 500),
    retries: num(config.retries, 0),
    reconnectMinDelay,
    reconnectMaxDelay,
  };
  const gap = num(config.interFrameDelay, undefined);
  if (gap !== undefined) options.interFrameDelay = gap;
  return { type, target, options };
}

module.exports = function register(RED) {
  const t = translator(RED, 'modbus-bus');

  function ModbusBusNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const settings = busSettings(config);
    node.name = config.name;
    node.target = settings.target;
    node.options = settings.options;
    /** The open ModbusBus, or null while there is none. */
    node.bus = null;
    node.state = { state: 'connecting', retryIn: 0, error: null, attempt: 0 };

    const listeners = new Set();
    let share = null; // what registry.acquireModbusBus returned, while we hold it
    let closing = false;
    let retryTimer = null;
    let attempt = 0;
    let outage = null; // error code of the outage already logged, so each is logged once

    function setState(state, extra = {}) {
      node.state = { state, retryIn: extra.retryIn || 0, error: extra.error || null, attempt: extra.attempt || 0 };
      for (const fn of [...listeners]) {
        try {
          fn(node.state);
        } catch (err) {
          node.error(err);
        }
      }
    }

    /** fn(state) now and on every change; returns the function that unsubscribes. */
    node.subscribe = function subscribe(fn) {
      listeners.add(fn);
      fn(node.state);
      return () => listeners.delete(fn);
    };

    function onBusState(ev) {
      if (closing) return;
      if (ev.state === 'reconnecting') {
        const code = (ev.error && ev.error.code) || 'ECONNLOST';
        if (outage !== code) {
          outage = code;
          node.warn(t('modbus-bus.log.linkLost', { target: node.target, code, message: ev.error ? ev.error.message : '' }));
        }
        setState('reconnecting', { retryIn: ev.retryIn, error: ev.error });
      } else if (ev.state === 'open') {
        if (outage) node.log(t('modbus-bus.log.reconnected', { target: node.target }));
        outage = null;
        setState('open');
      } else if (ev.state === 'closed') {
        // Closed without us asking (nothing in fieldlink does that today): start over rather
        // than sit on a dead link.
        detach();
        retryLater(ev.error || null);
      } else {
        setState(ev.state);
      }
    }

    function detach() {
      if (node.bus) node.bus.removeListener('state', onBusState);
      node.bus = null;
      const mine = share;
      share = null;
      return mine ? mine.release() : Promise.resolve();
    }

    function retryLater(err) {
      attempt += 1;
      const { reconnectMinDelay: min, reconnectMaxDelay: max } = node.options;
      const base = Math.min(max, min * 2 ** Math.min(attempt - 1, 20));
      const delay = Math.max(10, Math.round(base * (0.8 + Math.random() * 0.4)));
      const code = (err && err.code) || 'EIO';
      if (outage !== code) {
        outage = code;
        node.warn(t('modbus-bus.log.openFailed', {
          target: node.target, code, message: err ? err.message : '', seconds: Math.ceil(delay / 1000),
        }));
      }
      setState('reconnecting', { retryIn: delay, error: err, attempt });
      retryTimer = setTimeout(() => {
        retryTimer = null;
        connect();
      }, delay);
    }

    function failed(err) {
      node.error(err); // the message names the setting; Catch nodes of the users get err.code
      setState('failed', { error: err });
    }

    async function connect() {
      if (closing) return;
      setState('connecting', { attempt });
      let mine;
      try {
        mine = registry.acquireModbusBus(node.target, node.options);
      } catch (err) {
        // The target itself is malformed (parseTarget throws before anything is opened).
        if (err instanceof ValidationError) failed(err);
        else retryLater(err);
        return;
      }
      share = mine;
      if (mine.conflict) node.warn(mine.conflict);
      let bus;
      try {
        bus = await mine.bus;
      } catch (err) {
        if (share === mine) share = null;
        mine.release(); // the open failed: nothing to close, only the count to drop
        if (closing) return;
        if (err instanceof ValidationError) failed(err);
        else retryLater(err);
        return;
      }
      // close() released the share while the open was in flight: nothing more to do here.
      if (closing || share !== mine) return;
      attempt = 0;
      node.bus = bus;
      bus.on('state', onBusState);
      if (bus.state === 'open') {
        node.log(t(outage ? 'modbus-bus.log.reconnected' : 'modbus-bus.log.connected', { target: node.target }));
        outage = null;
      }
      setState(bus.state);
    }

    node.on('close', (removed, done) => {
      closing = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      const releasing = detach();
      setState('closed');
      listeners.clear();
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(limit);
        done();
      };
      const limit = setTimeout(() => {
        node.warn(t('modbus-bus.log.closeSlow', { target: node.target, ms: CLOSE_LIMIT_MS }));
        finish();
      }, CLOSE_LIMIT_MS);
      releasing.then(finish, (err) => {
        node.warn(t('modbus-bus.log.closeFailed', { target: node.target, message: err.message }));
        finish();
      });
    });

    connect();
  }

  RED.nodes.registerType('fieldlink-modbus-bus', ModbusBusNode);

  // The editor's port picker: serial ports with their stable /dev/serial/by-id names.
  RED.httpAdmin.get('/fieldlink/ports', RED.auth.needsPermission('fieldlink-modbus-bus.read'), (req, res) => {
    listPorts().then(
      (ports) => res.json(ports),
      (err) => res.status(500).json({ error: err.message, code: err.code || null }),
    );
  });
};

module.exports.busSettings = busSettings;
