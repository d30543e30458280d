'use strict';
// Node-RED flow node "fieldlink-diagnostics": the counters of one link (a Modbus bus, an M307
// device or a MATE bus config node) as a message, on its interval or on input.
//
//   msg.payload = { family, link, name, state, requests, replies, timeouts, crcErrors, retries,
//                   reconnects, queueDepth, lastRequestHex, lastReplyHex, lastErrorCode,
//                   latency: { p50, p90, p99, max, samples }, units, bytesSent, bytesReceived,
//                   timestamp }
//
// The counters are those of the shared link (every node on that port or device adds to them),
// read from stats() of the ModbusBus / M307Client / MateBus the config node holds. A counter
// the family's link does not keep is null (units: Modbus only). retries are the attempts
// after the first (Modbus and MATE: after a timeout or a bad frame; M307: after the connection
// came back), and requests count every attempt on the wire. While the link is not
// open there is no link to ask: the counters are null and state / lastErrorCode say why.
//
// The status shows "p99 12 ms, 0 timeouts": a green dot when no request timed out or came back
// corrupted since the previous message, a yellow dot when some did, a yellow ring while the
// link is (re)connecting, a red ring when its settings are refused.
const { ValidationError } = require('../lib/errors');
const { translator } = require('./lib/i18n');

const MIN_INTERVAL_S = 0.2;

const FAMILIES = Object.freeze({
  modbus: { field: 'modbusBus', type: 'fieldlink-modbus-bus' },
  m307: { field: 'm307Device', type: 'fieldlink-m307-device' },
  mate: { field: 'mateBus', type: 'fieldlink-mate-bus' },
});

const ms3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);
const count = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const text = (x) => (typeof x === 'string' && x !== '' ? x : null);

/** p50/p90/p99/max of latency samples (ms), the rule ModbusBus#stats uses. */
function percentiles(samples) {
  const lat = Array.isArray(samples) ? samples.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b) : [];
  const pct = (p) => (lat.length ? ms3(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]) : null);
  return { p50: pct(50), p90: pct(90), p99: pct(99), max: lat.length ? ms3(lat[lat.length - 1]) : null, samples: lat.length };
}

/** The object with stats() behind a config node (its link's bus or client), or null while there is none. */
function counterSource(family, cfg) {
  return (cfg.link && cfg.link.resource) || null;
}

/** What the config node names its link by. */
function linkName(family, cfg) {
  return family === 'mate' ? cfg.path : cfg.target;
}

/** msg.payload from the config node and (when there is a link) its raw stats. */
function toPayload(family, cfg, raw) {
  const st = cfg.state || { state: 'closed' };
  const base = {
    family,
    link: linkName(family, cfg) || null,
    name: cfg.name || null,
    state: st.state,
  };
  if (!raw) {
    return {
      ...base,
      requests: null,
      replies: null,
      timeouts: null,
      crcErrors: null,
      retries: null,
      reconnects: null,
      queueDepth: null,
      lastRequestHex: null,
      lastReplyHex: null,
      lastErrorCode: (st.error && st.error.code) || null,
      latency: { p50: null, p90: null, p99: null, max: null, samples: 0 },
      units: null,
      bytesSent: null,
      bytesReceived: null,
      timestamp: new Date().toISOString(),
    };
  }
  let units = null;
  if (raw.units && typeof raw.units === 'object') {
    units = {};
    for (const [address, u] of Object.entries(raw.units)) units[address] = { ...u };
  }
  return {
    ...base,
    requests: count(raw.requests),
    replies: count(raw.replies),
    timeouts: count(raw.timeouts),
    crcErrors: count(raw.protocolErrors),
    retries: count(raw.retries),
    reconnects: count(raw.reconnects),
    queueDepth: count(raw.queueDepth),
    lastRequestHex: text(raw.lastRequestHex),
    lastReplyHex: text(raw.lastReplyHex),
    lastErrorCode: text(raw.lastErrorCode),
    latency: percentiles(raw.latencyMs),
    units,
    bytesSent: count(raw.bytesSent),
    bytesReceived: count(raw.bytesReceived),
    timestamp: new Date().toISOString(),
  };
}

/** "12 ms" / "0.4 ms" */
function latencyText(x) {
  if (x === null) return null;
  return x >= 10 ? String(Math.round(x)) : String(Math.round(x * 10) / 10);
}

module.exports = function register(RED) {
  const t = translator(RED, 'diagnostics');

  function DiagnosticsNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.name = config.name;
    node.family = config.family in FAMILIES ? config.family : null;
    const intervalText = config.interval === undefined || config.interval === null || config.interval === '' ? '0' : String(config.interval);
    node.interval = Number(intervalText);
    node.topic = (config.topic && String(config.topic).trim()) || `fieldlink/diagnostics/${node.family || '?'}`;
    node.linkNode = node.family ? RED.nodes.getNode(config[FAMILIES[node.family].field]) : null;

    let problem = null;
    if (!node.family) {
      problem = new ValidationError(t('diagnostics.error.badFamily', { family: config.family }), 'EINVAL', { argument: 'family' });
    } else if (!(Number.isFinite(node.interval) && node.interval >= 0)) {
      problem = new ValidationError(t('diagnostics.error.badInterval', { interval: intervalText }), 'ERANGE', { argument: 'interval' });
    } else if (!node.linkNode || node.linkNode.type !== FAMILIES[node.family].type) {
      problem = new ValidationError(t('diagnostics.error.noLink'), 'EINVAL', { argument: FAMILIES[node.family].field });
    }

    let closed = false;
    let unsubscribe = null;
    let timer = null;
    let previous = null; // the last payload with counters
    let lastOutcome = null; // the status of the last message while the link was open

    function showState(st) {
      switch (st.state) {
        case 'open':
          node.status(lastOutcome || { fill: 'green', shape: 'ring', text: t('diagnostics.status.open') });
          break;
        case 'connecting':
          node.status({ fill: 'yellow', shape: 'ring', text: t('diagnostics.status.connecting') });
          break;
        case 'reconnecting':
          node.status({
            fill: 'yellow',
            shape: 'ring',
            text: t('diagnostics.status.reconnecting', { code: (st.error && st.error.code) || 'ECONNLOST' }),
          });
          break;
        case 'failed':
          node.status({ fill: 'red', shape: 'ring', text: t('diagnostics.status.badSettings', { code: (st.error && st.error.code) || 'EINVAL' }) });
          break;
        default:
          node.status({ fill: 'grey', shape: 'ring', text: t('diagnostics.status.closed') });
      }
    }

    function outcomeStatus(p) {
      const troubled = previous !== null &&
        ((p.timeouts ?? 0) > (previous.timeouts ?? 0) || (p.crcErrors ?? 0) > (previous.crcErrors ?? 0));
      const p99 = latencyText(p.latency.p99);
      const timeouts = p.timeouts ?? 0;
      const key = timeouts === 1 ? 'diagnostics.status.summaryOne' : 'diagnostics.status.summary';
      const summary = p99 === null
        ? t(timeouts === 1 ? 'diagnostics.status.noLatencyOne' : 'diagnostics.status.noLatency', { timeouts })
        : t(key, { p99, timeouts });
      return { fill: troubled ? 'yellow' : 'green', shape: 'dot', text: summary };
    }

    /** The payload now: the link's counters, or its state while there is no link. */
    async function sample() {
      const source = counterSource(node.family, node.linkNode);
      if (!source || typeof source.stats !== 'function') {
        const p = toPayload(node.family, node.linkNode, null);
        showState(node.linkNode.state || { state: 'closed' });
        return p;
      }
      const raw = await source.stats();
      const p = toPayload(node.family, node.linkNode, raw);
      if (node.linkNode.state && node.linkNode.state.state === 'open') {
        lastOutcome = outcomeStatus(p);
        node.status(lastOutcome);
      } else {
        showState(node.linkNode.state || { state: raw.state || 'closed' });
      }
      previous = p;
      return p;
    }

    function showError(err) {
      node.status({ fill: 'red', shape: 'ring', text: t('diagnostics.status.error', { code: (err && (err.code || err.name)) || 'ERROR' }) });
    }

    node.on('input', (msg, send, done) => {
      if (problem) {
        done(problem);
        return;
      }
      sample().then(
        (payload) => {
          if (closed) return done();
          msg.payload = payload;
          if (msg.topic === undefined || msg.topic === '') msg.topic = node.topic;
          send(msg);
          return done();
        },
        (err) => {
          if (closed) return done();
          showError(err);
          return done(err);
        },
      );
    });

    node.on('close', (removed, done) => {
      closed = true;
      if (timer) clearInterval(timer);
      timer = null;
      if (unsubscribe) unsubscribe();
      unsubscribe = null;
      done();
    });

    if (problem) {
      node.status({ fill: 'red', shape: 'ring', text: problem.argument === 'family' || problem.argument === 'interval' ? t('diagnostics.status.badSettings', { code: problem.code }) : t('diagnostics.status.noLink') });
      node.error(problem);
      return;
    }

    if (typeof node.linkNode.subscribe === 'function') {
      unsubscribe = node.linkNode.subscribe((st) => {
        if (st.state !== 'open') lastOutcome = null;
        if (!closed) showState(st);
      });
    }

    if (node.interval > 0) {
      let sampling = false;
      timer = setInterval(() => {
        if (closed || sampling) return;
        sampling = true;
        sample().then(
          (payload) => {
            if (!closed) node.send({ topic: node.topic, payload });
          },
          (err) => {
            if (closed) return;
            showError(err);
            node.error(err, { topic: node.topic });
          },
        ).finally(() => {
          sampling = false;
        });
      }, Math.max(MIN_INTERVAL_S, node.interval) * 1000);
    }
  }

  RED.nodes.registerType('fieldlink-diagnostics', DiagnosticsNode);
};

module.exports.toPayload = toPayload;
module.exports.percentiles = percentiles;
module.exports.FAMILIES = FAMILIES;
