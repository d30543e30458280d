'use strict';
// What the three config nodes (fieldlink-modbus-bus, fieldlink-m307-device, fieldlink-mate-bus)
// do alike with their share of a shared link (nodes/lib/shared-link.js):
//   - relay the link's state to their flow nodes: node.subscribe(fn) calls fn now and on every
//     change with { state, retryIn, error, attempt }; node.state is the current one;
//   - log each outage once (its error code), the first connect and every recovery;
//   - warn when the link already existed with other settings (the first user's win);
//   - give Node-RED done() within CLOSE_LIMIT_MS on close, whatever the wire does.
// The node also gets node.link (the SharedLink while it holds a share, else null),
// node.settled() and node.notConnected(). Texts come from the node's own catalog:
// <ns>.log.connected / reconnected / openFailed / linkLost / closeSlow / closeFailed and
// <ns>.error.notConnected, with __target__ (and __path__) naming the link.
const { ConnectionError } = require('../../lib/errors');

const CLOSE_LIMIT_MS = 1800; // Node-RED must get done() in under 2 s, whatever the port does

/**
 * linkConfigNode(node, { t, ns, label, live, logVars }) -> { hold(share), fail(err), onClose(fn) }
 * label: the text naming the link in messages; live: a Set of the deployed nodes of this type
 * (the admin endpoints look for holders in it); logVars(): more variables for the log texts.
 */
function linkConfigNode(node, { t, ns, label, live, logVars = () => ({}) }) {
  const listeners = new Set();
  const closeHooks = [];
  let share = null;
  let closing = false;
  let outage = null; // error code of the outage already logged, so each is logged once
  node.state = { state: 'connecting', retryIn: 0, error: null, attempt: 0 };
  if (live) live.add(node);

  const vars = (extra) => ({ target: label, path: label, ...logVars(), ...extra });

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

  /** The shared link (a SharedLink), or null before a share is held and after close. */
  Object.defineProperty(node, 'link', { configurable: true, get: () => (!closing && share ? share.link : null) });

  /** Resolves once a connect attempt in progress has an outcome. */
  node.settled = function settled() {
    if (closing || !share || node.state.state !== 'connecting') return Promise.resolve(node.state);
    return share.link.settled();
  };

  /** The error a request gets while there is no link: the refused setting, or ENOTCONNECTED. */
  node.notConnected = function notConnected() {
    const st = node.state;
    if (st.state === 'failed' && st.error) return st.error;
    return new ConnectionError(t(`${ns}.error.notConnected`, vars({ state: st.state, code: (st.error && st.error.code) || '-' })),
      'ENOTCONNECTED', { path: label });
  };

  function onLinkState(st) {
    if (closing) return;
    if (st.state === 'reconnecting') {
      const code = (st.error && st.error.code) || 'ECONNLOST';
      if (outage !== code) {
        outage = code;
        // attempt > 0: an open that failed, retried by the link; else a loss after an open.
        node.warn(t(st.attempt > 0 ? `${ns}.log.openFailed` : `${ns}.log.linkLost`, vars({
          code, message: st.error ? st.error.message : '', seconds: Math.ceil((st.retryIn || 0) / 1000),
        })));
      }
    } else if (st.state === 'open') {
      node.log(t(outage ? `${ns}.log.reconnected` : `${ns}.log.connected`, vars()));
      outage = null;
    } else if (st.state === 'failed') {
      node.error(st.error); // the message names the setting; Catch nodes get err.code
    }
    setState(st);
  }

  node.on('close', (removed, done) => {
    closing = true;
    if (live) live.delete(node);
    for (const fn of closeHooks) fn();
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
      node.warn(t(`${ns}.log.closeSlow`, vars({ ms: CLOSE_LIMIT_MS })));
      finish();
    }, CLOSE_LIMIT_MS);
    (mine ? mine.release() : Promise.resolve()).then(finish, (err) => {
      node.warn(t(`${ns}.log.closeFailed`, vars({ message: err.message })));
      finish();
    });
  });

  return {
    /** Takes over a share from a pool ({ link, release, conflict }) and relays its link. */
    hold(s) {
      share = s;
      if (s.conflict) node.warn(s.conflict);
      s.link.on('state', onLinkState);
      onLinkState(s.link.state);
    },
    /** The settings cannot work: no share, the state stays 'failed'. */
    fail(err) {
      node.error(err);
      setState({ state: 'failed', error: err });
    },
    /** fn() runs first thing on close (before the share is released). */
    onClose(fn) {
      closeHooks.push(fn);
    },
  };
}

/** A number setting: '' / null / undefined -> fallback; anything else -> Number (NaN is left to the validation). */
function num(value, fallback) {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return fallback;
  return Number(value);
}

/** A checkbox setting. */
const flag = (v) => v === true || v === 'true' || v === 'on' || v === 1;

/** The reconnect settings of a config node, the library's defaults for empty fields. */
function reconnectSettings(config, defaults) {
  const reconnectMinDelay = num(config.reconnectMinDelay, defaults.reconnectMinDelay);
  return {
    reconnectMinDelay,
    reconnectMaxDelay: num(config.reconnectMaxDelay, Math.max(defaults.reconnectMaxDelay, reconnectMinDelay)),
  };
}

module.exports = { linkConfigNode, num, flag, reconnectSettings, CLOSE_LIMIT_MS };
