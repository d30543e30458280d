'use strict';
// Node-RED config node "fieldlink-m307-device": one M307 Temperature Guard on the network
// (its device server, TCP port 10001 on the real unit). The M307 serves ONE TCP client at a
// time, so every node naming the same host:port shares one M307Client through
// nodes/lib/m307-pool.js (reference counted; the last release closes it).
//
// The shared connection's life cycle (see the pool): connecting -> open <-> reconnecting;
// a failed first connect is retried with capped backoff (no redeploy needed when the unit
// comes up late or another program holds it); failed = settings refused; closed on deploy.
// Flow nodes call subscribe(fn) to hear every change; fn gets { state, retryIn, error, attempt }.
// They run requests on `client` (null while there is none), after `settled()`.
const pool = require('./lib/m307-pool');
const { ConnectionError, ValidationError } = require('../lib/errors');
const { testM307 } = require('../lib/diagnostics');
const { CODES, result: finding } = require('../lib/diagnostics/result');
const v = require('../lib/validate');
const { translator } = require('./lib/i18n');

const CLOSE_LIMIT_MS = 1800; // Node-RED must get done() in under 2 s, whatever the device does

// '' / null / undefined -> fallback; anything else -> Number (NaN is left to the validation).
function num(value, fallback) {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return fallback;
  return Number(value);
}

/** The host and connection options for a config node's settings. */
function deviceSettings(config) {
  const host = String(config.host || '').trim().replace(/^\[(.*)\]$/, '$1');
  const reconnectMinDelay = num(config.reconnectMinDelay, pool.DEFAULTS.reconnectMinDelay);
  return {
    host,
    options: {
      port: num(config.port, pool.DEFAULTS.port),
      timeout: num(config.timeout, pool.DEFAULTS.timeout),
      reconnectMinDelay,
      reconnectMaxDelay: num(config.reconnectMaxDelay, Math.max(pool.DEFAULTS.reconnectMaxDelay, reconnectMinDelay)),
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
    node.state = { state: 'connecting', retryIn: 0, error: null, attempt: 0 };
    live.add(node);

    const listeners = new Set();
    let share = null;
    let closing = false;
    let outage = null; // error code of the outage already logged, so each is logged once
    let everOpen = false;

    function setState(st) {
      node.state = { state: st.state, retryIn: st.retryIn || 0, error: st.error || null, attempt: st.attempt || 0 };
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

    /** The shared M307Client, or null while there is none (not yet connected, closing). */
    Object.defineProperty(node, 'client', {
      get: () => (!closing && share ? share.link.client : null),
    });

    /** The shared connection (M307Link), or null after close. */
    Object.defineProperty(node, 'link', { get: () => (!closing && share ? share.link : null) });

    /** Resolves once a connect attempt in progress has an outcome. */
    node.settled = function settled() {
      if (closing || !share || node.state.state !== 'connecting') return Promise.resolve(node.state);
      return share.link.settled();
    };

    /** The error a request gets while there is no client: the refused setting, or ENOTCONNECTED. */
    node.notConnected = function notConnected() {
      const st = node.state;
      if (st.state === 'failed' && st.error) return st.error;
      return new ConnectionError(t('m307-device.error.notConnected', {
        target: node.target, state: st.state, code: (st.error && st.error.code) || '-',
      }), 'ENOTCONNECTED', { path: node.target });
    };

    function onLinkState(st) {
      if (closing) return;
      if (st.state === 'reconnecting') {
        const code = (st.error && st.error.code) || 'ECONNLOST';
        if (outage !== code) {
          outage = code;
          const key = everOpen ? 'm307-device.log.linkLost' : 'm307-device.log.connectFailed';
          node.warn(t(key, {
            target: node.target, code, message: st.error ? st.error.message : '', seconds: Math.ceil((st.retryIn || 0) / 1000),
          }));
        }
      } else if (st.state === 'open') {
        node.log(t(outage ? 'm307-device.log.reconnected' : 'm307-device.log.connected', { target: node.target }));
        outage = null;
        everOpen = true;
      } else if (st.state === 'failed') {
        node.error(st.error); // the message names the setting
      }
      setState(st);
    }

    node.on('close', (removed, done) => {
      closing = true;
      live.delete(node);
      const mine = share;
      share = null;
      if (mine) mine.link.removeListener('state', onLinkState);
      setState({ state: 'closed' });
      listeners.clear();
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(limit);
        done();
      };
      const limit = setTimeout(() => {
        node.warn(t('m307-device.log.closeSlow', { target: node.target, ms: CLOSE_LIMIT_MS }));
        finish();
      }, CLOSE_LIMIT_MS);
      (mine ? mine.release() : Promise.resolve()).then(finish, (err) => {
        node.warn(t('m307-device.log.closeFailed', { target: node.target, message: err.message }));
        finish();
      });
    });

    if (!node.host) {
      const err = new ValidationError(t('m307-device.error.noHost'), 'EINVAL', { argument: 'host' });
      node.error(err);
      setState({ state: 'failed', error: err });
      return;
    }
    share = pool.acquire(node.host, node.options);
    if (share.conflict) node.warn(share.conflict);
    share.link.on('state', onLinkState);
    onLinkState(share.link.state);
  }

  RED.nodes.registerType('fieldlink-m307-device', M307DeviceNode);

  // --- the editor's "Test" button -------------------------------------------------------------
  //
  // POST /fieldlink/m307-device/test { host, port, timeout } (fieldlink-m307-device.write)
  // -> { target, via: 'pool' | 'direct', inUse, note, findings: [result] }
  //
  // The M307 serves one TCP client. When the deployed flow holds the connection to that
  // host:port, a second connection would be turned away (and could knock the flow's off on
  // some device servers), so the test asks through the flow's own client instead: the status
  // and the identity come from the pooled connection (via 'pool'). Otherwise testM307() runs:
  // TCP reachability, refusal by another client (DEVICE_BUSY), the protocol and the identity.

  function holders(key) {
    return [...live].filter((n) => n.target === key).map((n) => ({
      id: n.id,
      name: n.name || null,
      state: n.state.state,
      code: (n.state.error && n.state.error.code) || null,
      node: n,
    }));
  }

  const holderSummary = (h) => ({ id: h.id, name: h.name, state: h.state, code: h.code });

  // At most `ms` for a request on the shared connection: it may be queued behind other work.
  function bounded(promise, ms, what) {
    let timer;
    const late = new Promise((resolve, reject) => {
      timer = setTimeout(() => {
        const err = new Error(t('m307-device.diag.poolSlow', { ms, what }));
        err.name = 'TimeoutError';
        err.code = 'ETIMEDOUT';
        reject(err);
      }, ms);
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  }

  function failure(step, err, target) {
    let code = CODES.INVALID_RESPONSE;
    if (err && err.name === 'TimeoutError') code = CODES.NO_DEVICE_RESPONSE;
    else if (err && err.code === 'EBUSY') code = CODES.DEVICE_BUSY;
    else if (err && err.code === 'ECONNREFUSED') code = CODES.CONNECTION_REFUSED;
    else if (err && err.name === 'ConnectionError') code = CODES.CONNECTION_TIMEOUT;
    return finding(code, {
      step,
      message: t('m307-device.diag.poolFailed', { target, code: (err && err.code) || 'ERROR', message: (err && err.message) || String(err) }),
      suggestion: t('m307-device.diag.poolFailedFix'),
      rawData: (err && err.rawData) || null,
      details: { error: (err && err.code) || null, via: 'pool' },
    });
  }

  async function throughPool(h, target, timeout) {
    const link = h.node.link;
    const client = link && link.client;
    const findings = [finding(CODES.OK, {
      step: 'pool',
      message: t('m307-device.diag.pooled', { target, node: h.name || h.id }),
      details: { via: 'pool', node: h.id },
    })];
    if (link.logOwner) {
      findings[0].message += ` ${t('m307-device.diag.logRunning')}`;
      return findings;
    }
    const limit = Math.max(1000, timeout * 3);
    let status;
    try {
      status = await bounded(client.readStatus(), limit, 'status');
    } catch (err) {
      findings.push(failure('protocol', err, target));
      return findings;
    }
    const t1 = status.temperatureSensor1 ? status.temperatureSensor1.reading : null;
    findings.push(finding(CODES.OK, {
      step: 'protocol',
      message: t('m307-device.diag.status', {
        target,
        temperature: t1 === null ? '-' : Number.isFinite(t1) ? `${t1} °${status.temperatureUnit}` : String(t1),
        power: status.mainPower ? 'on' : 'OFF',
        battery: status.batteryVoltage,
      }),
      details: { via: 'pool', status },
    }));
    let info;
    try {
      info = await bounded(client.getDeviceInfo(), limit, 'identity');
    } catch (err) {
      findings.push(failure('identity', err, target));
      return findings;
    }
    findings.push(finding(CODES.OK, {
      step: 'identity',
      message: `"${info.deviceName}", serial number ${info.serialNumber}, MAC ${info.macAddress}, unit °${info.unitOfMeasure}`,
      details: { via: 'pool', ...info },
    }));
    return findings;
  }

  RED.httpAdmin.post('/fieldlink/m307-device/test', RED.auth.needsPermission('fieldlink-m307-device.write'), async (req, res) => {
    let host;
    let port;
    let timeout;
    try {
      const body = v.plainObject('body', req.body);
      const s = deviceSettings(body);
      host = s.host;
      if (!host) v.fail('host', 'a host name or IP address', body.host, 'EINVAL');
      port = v.integer('port', s.options.port, 1, 65535);
      timeout = v.integer('timeout', s.options.timeout, 10, 120000);
    } catch (err) {
      if (err instanceof ValidationError) return res.status(400).json({ code: err.code, error: err.message, argument: err.argument || null });
      return res.status(500).json({ code: err.code || 'ERROR', error: err.message });
    }
    const target = pool.keyFor(host, port);
    try {
      let inUse = holders(target);
      // A connect in progress: wait (bounded) for its outcome, so that an open pooled
      // connection is used rather than raced.
      const connecting = inUse.find((h) => h.state === 'connecting' && h.node.link);
      if (connecting) {
        await bounded(connecting.node.link.settled(), Math.max(1000, timeout + 500), 'connect').catch(() => {});
        inUse = holders(target);
      }
      const pooled = inUse.find((h) => h.node.link && h.node.link.client && h.node.link.state.state === 'open');
      if (pooled) {
        const findings = await throughPool(pooled, target, timeout);
        return res.json({ target, via: 'pool', inUse: inUse.map(holderSummary), note: t('m307-device.diag.poolNote'), findings });
      }
      const findings = await testM307(host, { port, timeout: Math.max(timeout, 1000) });
      const note = inUse.length
        ? t('m307-device.diag.flowTrying', { nodes: inUse.map((h) => h.name || h.id).join(', '), state: inUse[0].state, code: inUse[0].code || '-' })
        : null;
      return res.json({ target, via: 'direct', inUse: inUse.map(holderSummary), note, findings });
    } catch (err) {
      return res.status(500).json({ code: err.code || 'ERROR', error: err.message });
    }
  });
};

// --- shared by the M307 flow nodes --------------------------------------------------------

/**
 * The node status for a device state other than 'open' (or null for 'open'), with texts from
 * the flow node's own catalog: <ns>.status.connecting / reconnecting / badSettings / closed.
 */
function deviceStateStatus(t, ns, st) {
  switch (st.state) {
    case 'open':
      return null;
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: t(`${ns}.status.connecting`) };
    case 'reconnecting':
      return {
        fill: 'yellow',
        shape: 'ring',
        text: t(`${ns}.status.reconnecting`, {
          seconds: Math.max(1, Math.ceil((st.retryIn || 0) / 1000)),
          code: (st.error && st.error.code) || 'ECONNLOST',
        }),
      };
    case 'failed':
      return { fill: 'red', shape: 'ring', text: t(`${ns}.status.badSettings`, { code: (st.error && st.error.code) || 'EINVAL' }) };
    default:
      return { fill: 'grey', shape: 'ring', text: t(`${ns}.status.closed`) };
  }
}

/**
 * The client to run a request on, once a connect in progress has an outcome.
 * Rejects with the device's notConnected() error when there is none.
 */
async function clientFor(deviceNode) {
  await deviceNode.settled();
  const client = deviceNode.client;
  if (!client) throw deviceNode.notConnected();
  return client;
}

/** JSON-safe copy of a value: Dates become ISO strings, non-finite numbers null. */
function jsonSafe(value) {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

module.exports.deviceSettings = deviceSettings;
module.exports.deviceStateStatus = deviceStateStatus;
module.exports.clientFor = clientFor;
module.exports.jsonSafe = jsonSafe;
