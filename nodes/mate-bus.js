'use strict';
// Node-RED config node "fieldlink-mate-bus": one Outback MATE bus on a serial port (an RS232
// adapter wired as a MATE, or uMATE's PJON bridge). All config nodes naming the same port
// share one MateBus through nodes/lib/mate-pool.js, so the MX, FX, DC and FX-control nodes
// all go through one link and one request queue.
//
// The pool owns the life cycle of the shared bus (connecting -> open <-> reconnecting, a failed
// first open retried with capped backoff, failed for refused settings); this node relays it to
// its flow nodes (subscribe(fn) gets { state, retryIn, error, attempt }), logs each outage
// once, keeps the MATE's master duties running while deployed when asked to, and releases its
// share within 2 s on close.
//
// The rest of this file is what the MATE flow nodes have in common (deviceNode()): the status
// that follows the bus, finding the device (hub port or auto-find), turning decoded results
// into JSON-safe payloads with `units` and `text`, and the poll loop.
const { listPorts } = require('../lib/ports');
const { ValidationError, ConnectionError } = require('../lib/errors');
const { format } = require('../lib/mate/units');
const pool = require('./lib/mate-pool');
const { mateScanDiagnostic } = require('../lib/diagnostics');
const { CODES, result: finding } = require('../lib/diagnostics/result');
const { openErrorResult } = require('../lib/diagnostics/port');
const v = require('../lib/validate');
const { translator } = require('./lib/i18n');
const { availability, staleAt } = require('./lib/availability');

const CLOSE_LIMIT_MS = 1800; // Node-RED must get done() in under 2 s, whatever the port does
const MIN_INTERVAL_S = 0.2;

// '' / null / undefined -> fallback; anything else -> Number (NaN is left to the validation).
function num(value, fallback) {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return fallback;
  return Number(value);
}

const flag = (v) => v === true || v === 'true' || v === 'on' || v === 1;

/** The port path and MateBus options of a config node's settings. */
function busSettings(config) {
  const reconnectMinDelay = num(config.reconnectMinDelay, pool.DEFAULTS.reconnectMinDelay);
  return {
    path: String(config.serialPort || '').trim(),
    options: {
      parityMode: config.parityMode || 'auto',
      transport: config.transport || 'serial',
      timeout: num(config.timeout, pool.DEFAULTS.timeout),
      retries: num(config.retries, pool.DEFAULTS.retries),
      allowControl: flag(config.allowControl),
      reconnectMinDelay,
      reconnectMaxDelay: num(config.reconnectMaxDelay, Math.max(pool.DEFAULTS.reconnectMaxDelay, reconnectMinDelay)),
    },
    masterDuties: flag(config.masterDuties),
  };
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** The local calendar date `daysBack` days before `now`, as YYYY-MM-DD. */
function localDate(now, daysBack) {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysBack);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * A decoded MATE result as plain JSON: every enumerable field (nested results such as the DC
 * shunts too), `units` as the library gives them and `text`: the same fields formatted with
 * their unit ('25.4 V'), since the result's format() does not survive a message copy.
 */
function toPayload(result) {
  const out = {};
  for (const [k, v] of Object.entries(result)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && v.units) out[k] = toPayload(v);
    else if (Buffer.isBuffer(v)) out[k] = v.toString('hex');
    else if (v && typeof v === 'object') out[k] = JSON.parse(JSON.stringify(v));
    else out[k] = v;
  }
  if (out.units) {
    out.text = {};
    for (const [field, unit] of Object.entries(out.units)) out.text[field] = format(out[field], unit);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// What the MATE flow nodes share

const PORT_AUTO = 'auto';

/** 'auto' / '' -> 'auto'; '0'..'10' -> a number; anything else -> NaN. */
function parsePort(value) {
  if (value === undefined || value === null || String(value).trim() === '' || String(value).trim() === PORT_AUTO) return PORT_AUTO;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 && n <= 10 ? n : NaN;
}

/**
 * The common part of a MATE flow node. `type` is 'mx' | 'fx' | 'dc'; `prefix` the node's catalog
 * ('mate-mx'), which holds the shared keys status.* and error.* as well; `polls`: the node has
 * a poll interval (config.interval, seconds, 0: only on input). Settings are checked here,
 * once: a bad one leaves the node red and idle (`problem`).
 * Returns the helpers the node uses (see the object at the end).
 */
function deviceNode(RED, node, config, { type, prefix, t, polls = false }) {
  node.name = config.name;
  node.busNode = RED.nodes.getNode(config.bus);
  node.port = parsePort(config.port);
  node.topic = (config.topic && String(config.topic).trim()) || `mate/${type}`;
  const intervalText = config.interval === undefined || config.interval === null || config.interval === '' ? '0' : String(config.interval);
  node.interval = polls ? Number(intervalText) : 0;

  let closed = false;
  let unsubscribe = null;
  let device = null;
  let deviceBus = null;
  let lastOutcome = null; // the status of the last read while the bus was open
  let busState = null;
  const pending = new Set(); // waits in settled(), ended on close
  const openListeners = [];

  // Device nodes that poll (MX, FX, DC) report availability on their second output.
  const avail = polls ? availability(node, { outputs: 2 }) : { online() {}, offline() {}, fromError() {}, fromLinkState() {} };

  let problem = null;
  if (!(Number.isFinite(node.interval) && node.interval >= 0)) {
    problem = new ValidationError(t(`${prefix}.error.badInterval`, { interval: intervalText }), 'ERANGE', { argument: 'interval' });
  } else if (Number.isNaN(node.port)) {
    problem = new ValidationError(t(`${prefix}.error.badPort`, { port: config.port }), 'ERANGE', { argument: 'port' });
  } else if (!node.busNode) {
    problem = new ValidationError(t(`${prefix}.error.noBus`), 'EINVAL', { argument: 'bus' });
  }

  function setStatus(fill, shape, text) {
    node.status({ fill, shape, text });
  }

  function showBusState(st) {
    switch (st.state) {
      case 'open':
        if (lastOutcome) node.status(lastOutcome);
        else setStatus('green', 'ring', t(`${prefix}.status.connected`));
        break;
      case 'connecting':
        setStatus('yellow', 'ring', t(`${prefix}.status.connecting`));
        break;
      case 'reconnecting':
        setStatus('yellow', 'ring', t(`${prefix}.status.reconnecting`, {
          seconds: Math.max(1, Math.ceil((st.retryIn || 0) / 1000)),
          code: (st.error && st.error.code) || 'ECONNLOST',
        }));
        break;
      case 'failed':
        setStatus('red', 'ring', t(`${prefix}.status.badSettings`, { code: (st.error && st.error.code) || 'EINVAL' }));
        break;
      default:
        setStatus('grey', 'ring', t(`${prefix}.status.closed`));
    }
  }

  function onBusState(st) {
    const previous = busState;
    busState = st.state;
    if (st.state !== 'open') lastOutcome = null; // a reading from before an outage is stale
    showBusState(st);
    if (node.interval > 0) avail.fromLinkState(st); // on-demand nodes report their reads only
    if (st.state === 'open' && previous !== 'open') for (const fn of openListeners) fn();
  }

  /** The MxDevice / FxDevice / DcDevice to talk to (found once per bus when on auto). */
  async function currentDevice() {
    const link = node.busNode.link;
    const bus = link && link.bus;
    if (!bus) throw link ? link.notConnected() : node.busNode.notConnected();
    if (bus !== deviceBus || !device) {
      device = null;
      deviceBus = bus;
      const found = node.port === PORT_AUTO ? await link.find(type) : bus.device(node.port, type);
      if (deviceBus === bus) device = found;
      return found;
    }
    return device;
  }

  // While the bus is being opened (first attempt or a retry), a message waits for the outcome
  // of that attempt instead of failing.
  function settled() {
    if (node.busNode.state.state !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => {
      // subscribe() calls back at once with 'connecting', so end() cannot run before off exists.
      const off = node.busNode.subscribe((st) => {
        if (st.state !== 'connecting') end();
      });
      function end() {
        pending.delete(end);
        off();
        resolve();
      }
      pending.add(end);
    });
  }

  function outcome(fill, shape, text) {
    lastOutcome = { fill, shape, text };
    node.status(lastOutcome);
  }

  function showError(err) {
    outcome('red', 'ring', t(`${prefix}.status.error`, { code: (err && (err.code || err.name)) || 'ERROR' }));
  }

  /** Runs work(device) once the bus has settled; rejects at once when it is not open. */
  async function withDevice(work) {
    await settled();
    if (closed) return undefined;
    let out;
    try {
      const dev = await currentDevice();
      out = await work(dev);
    } catch (err) {
      if (!closed) avail.fromError(err);
      throw err;
    }
    if (!closed) avail.online();
    if (out && out.kind === 'status' && out.payload && out.payload.timestamp) out.staleAt = staleAt(out.payload.timestamp, node.interval);
    return out;
  }

  /** A named register read: { register, value, unit, raw, address, units, text, port, timestamp }. */
  async function readRegister(dev, name) {
    if (typeof name !== 'string' || !name.trim()) {
      throw new ValidationError(t(`${prefix}.error.badRegister`), 'EINVAL', { argument: 'msg.payload.register' });
    }
    const r = await dev.read(name.trim());
    const payload = {
      register: r.name,
      value: r.value,
      unit: r.unit,
      raw: r.raw,
      address: r.address,
      units: { value: r.unit },
      text: { value: r.format('value') },
      port: dev.port,
      timestamp: new Date().toISOString(),
    };
    return payload;
  }

  /**
   * A poll loop: calls read() every `interval` seconds and right after the bus opens; a tick is
   * skipped while the previous read is still out. read() resolves with the message to send.
   */
  function startPolling(read, intervalS = node.interval) {
    let polling = false;
    node.pollsSkipped = 0;
    const poll = async () => {
      if (closed) return;
      if (polling) {
        node.pollsSkipped += 1;
        return;
      }
      if (node.busNode.state.state !== 'open') return; // the status shows why
      polling = true;
      const msg = { topic: node.topic };
      try {
        const out = await read(msg);
        if (!closed && out) node.send(out);
      } catch (err) {
        if (!closed) {
          showError(err);
          node.error(err, msg);
        }
      } finally {
        polling = false;
      }
    };
    openListeners.push(poll);
    const timer = setInterval(poll, Math.max(MIN_INTERVAL_S, intervalS) * 1000);
    node.on('close', () => clearInterval(timer));
    if (busState === 'open') poll();
    return poll;
  }

  function start() {
    if (problem) {
      setStatus('red', 'ring', problem.argument === 'bus' ? t(`${prefix}.status.noBus`) : t(`${prefix}.status.badSettings`, { code: problem.code }));
      node.error(problem);
      return;
    }
    unsubscribe = node.busNode.subscribe(onBusState);
  }

  node.on('close', (removed, done) => {
    closed = true;
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
    for (const end of [...pending]) end();
    done();
  });

  return {
    get problem() { return problem; },
    get closed() { return closed; },
    start,
    setStatus,
    outcome,
    showError,
    withDevice,
    readRegister,
    startPolling,
    /** A ValidationError for msg.payload.<field>. */
    invalid(key, vars, field, code = 'EINVAL') {
      return new ValidationError(t(`${prefix}.error.${key}`, vars), code, { argument: `msg.payload.${field}` });
    },
  };
}

/** The usual input handler: fn(msg) resolves with the message to send (or null). */
function handleInput(node, ctx, fn) {
  node.on('input', (msg, send, done) => {
    if (ctx.problem) {
      done(ctx.problem);
      return;
    }
    let work;
    try {
      work = Promise.resolve(fn(msg));
    } catch (err) {
      work = Promise.reject(err);
    }
    work.then(
      (out) => {
        if (ctx.closed) return done();
        if (out) send(out);
        done();
      },
      (err) => {
        // A redeploy cancels what is in flight (ECLOSED): that is not worth a Catch.
        if (ctx.closed) return done();
        ctx.showError(err);
        done(err);
      },
    );
  });
}

/** msg.payload as an object ({} for anything else: an Inject timestamp means "read"). */
function payloadObject(msg) {
  const p = msg.payload;
  return p !== null && typeof p === 'object' && !Array.isArray(p) ? p : {};
}

// Dashboard inputs often deliver numbers as text.
function numberish(value) {
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return value;
}

// ---------------------------------------------------------------------------------------------

const TYPE_TEXT = { hub: 'hub', mx: 'MX/FM charge controller', fx: 'FX inverter', dc: 'FLEXnet DC' };

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
    /** The shared MateLink (nodes/lib/mate-pool.js) while this node holds a share. */
    node.link = null;
    node.state = { state: 'connecting', retryIn: 0, error: null, attempt: 0 };
    live.add(node);

    const listeners = new Set();
    let share = null;
    let leaveDuties = null;
    let closing = false;
    let outage = null; // error code of the outage already logged, so each is logged once
    const dutyErrors = new Set(); // duty:code pairs already logged

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

    node.notConnected = function notConnected() {
      if (node.state.state === 'failed' && node.state.error) return node.state.error;
      return new ConnectionError(t('mate-bus.error.notConnected', { path: node.path, state: node.state.state }), 'ENOTCONNECTED', { path: node.path });
    };

    function onLinkState(st) {
      if (closing) return;
      const code = (st.error && st.error.code) || 'ECONNLOST';
      if (st.state === 'open') {
        node.log(t(outage ? 'mate-bus.log.reconnected' : 'mate-bus.log.connected', { path: node.path, parity: (node.link.bus && node.link.bus.parityMode) || '' }));
        outage = null;
      } else if (st.state === 'reconnecting' && outage !== code) {
        outage = code;
        if (st.attempt > 0) {
          node.warn(t('mate-bus.log.openFailed', { path: node.path, code, message: st.error ? st.error.message : '', seconds: Math.ceil((st.retryIn || 0) / 1000) }));
        } else {
          node.warn(t('mate-bus.log.linkLost', { path: node.path, code, message: st.error ? st.error.message : '' }));
        }
      } else if (st.state === 'failed') {
        node.error(st.error); // the message names the setting; Catch nodes get err.code
      }
      setState(st);
    }

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
      const err = new ValidationError(t('mate-bus.error.noPort'), 'EINVAL', { argument: 'serialPort' });
      node.error(err);
      setState({ state: 'failed', error: err });
    } else {
      share = pool.acquire(node.path, node.options);
      node.link = share.link;
      if (share.conflict) node.warn(share.conflict);
      node.link.on('state', onLinkState);
      node.link.on('duty-error', onDutyError);
      node.link.on('duty', onDuty);
      if (node.masterDuties) leaveDuties = node.link.addDutyUser();
      onLinkState(node.link.state);
    }

    node.on('close', (removed, done) => {
      closing = true;
      live.delete(node);
      if (leaveDuties) leaveDuties();
      leaveDuties = null;
      const link = node.link;
      if (link) {
        link.removeListener('state', onLinkState);
        link.removeListener('duty-error', onDutyError);
        link.removeListener('duty', onDuty);
      }
      const releasing = share ? share.release() : Promise.resolve();
      share = null;
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
        node.warn(t('mate-bus.log.closeSlow', { path: node.path, ms: CLOSE_LIMIT_MS }));
        finish();
      }, CLOSE_LIMIT_MS);
      releasing.then(finish, (err) => {
        node.warn(t('mate-bus.log.closeFailed', { path: node.path, message: err.message }));
        finish();
      });
    });
  }

  RED.nodes.registerType('fieldlink-mate-bus', MateBusNode);

  // The editor's port picker. Its own path and permission, so that it works whoever may read
  // MATE buses, whether or not the Modbus nodes are enabled.
  RED.httpAdmin.get('/fieldlink/mate-bus/ports', RED.auth.needsPermission('fieldlink-mate-bus.read'), (req, res) => {
    listPorts().then(
      (ports) => res.json(ports),
      (err) => res.status(500).json({ error: err.message, code: err.code || null }),
    );
  });

  // --- the editor's "Scan" button ------------------------------------------------------------
  //
  // POST /fieldlink/mate-bus/scan { serialPort, parityMode, transport, timeout, retries }
  // (fieldlink-mate-bus.write) -> { path, via: 'pool' | 'direct', inUse, note, devices, findings }
  //
  // The MATE bus has one master: when the deployed flow has this port open, the hub is scanned
  // through the flow's own MateBus (its requests queue with the flow's, with the flow's 9th-bit
  // settings), never through a second opener. Otherwise mateScanDiagnostic() opens the port
  // with the panel's settings: port checks, then the scan with firmware revisions.

  function holders(key) {
    return [...live].filter((n) => n.link && n.link.key === key).map((n) => ({
      id: n.id,
      name: n.name || null,
      state: n.state.state,
      code: (n.state.error && n.state.error.code) || null,
      node: n,
    }));
  }

  const holderSummary = (h) => ({ id: h.id, name: h.name, state: h.state, code: h.code });

  function settledWithin(link, ms) {
    let timer;
    return Promise.race([
      link.settled(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  async function scanThroughPool(link, path, signal) {
    const bus = link.bus;
    let devices;
    try {
      devices = await bus.scan({ firmware: true });
    } catch (err) {
      if (signal.aborted) throw err;
      if (err && err.name === 'ProtocolError') {
        return finding(CODES.INVALID_RESPONSE, {
          step: 'scan',
          message: t('mate-bus.diag.garbled', { message: err.message }),
          suggestion: t('mate-bus.diag.garbledFix'),
          rawData: err.rawData || null,
          details: { devices: [], via: 'pool', error: err.code, parityMode: bus.parityMode },
        });
      }
      if (err && err.name === 'ConnectionError') {
        const r = openErrorResult(path, err, 'scan') || finding(CODES.PORT_ERROR, { step: 'scan', message: err.message });
        r.details.devices = [];
        r.details.via = 'pool';
        return r;
      }
      throw err;
    }
    if (devices.length === 0) {
      return finding(CODES.NO_DEVICE_RESPONSE, {
        step: 'scan',
        message: t('mate-bus.diag.nothing', { path, parity: bus.parityMode }),
        suggestion: t('mate-bus.diag.nothingFix'),
        details: { devices: [], via: 'pool', parityMode: bus.parityMode },
      });
    }
    const text = devices.map((d) => `${TYPE_TEXT[d.type] || d.type} on port ${d.port}${d.firmware ? ` (firmware ${d.firmware})` : ''}`).join('; ');
    return finding(CODES.OK, {
      step: 'scan',
      message: t('mate-bus.diag.found', { count: devices.length, devices: text }),
      details: { devices, via: 'pool', parityMode: bus.parityMode },
    });
  }

  RED.httpAdmin.post('/fieldlink/mate-bus/scan', RED.auth.needsPermission('fieldlink-mate-bus.write'), async (req, res) => {
    let s;
    try {
      const body = v.plainObject('body', req.body);
      s = busSettings(body);
      if (!s.path) v.fail('serialPort', 'the serial port of the MATE bus', body.serialPort, 'EINVAL');
      v.oneOf('parityMode', s.options.parityMode, ['auto', 'mark-space', 'odd-even']);
      v.oneOf('transport', s.options.transport, ['serial', 'pjon']);
      v.integer('timeout', s.options.timeout, 10, 10000);
      v.integer('retries', s.options.retries, 0, 10);
    } catch (err) {
      if (err instanceof ValidationError) return res.status(400).json({ code: err.code, error: err.message, argument: err.argument || null });
      return res.status(500).json({ code: err.code || 'ERROR', error: err.message });
    }
    // The client went away (panel closed): stop the scan.
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const key = pool.keyFor(s.path);
    try {
      let inUse = holders(key);
      const connecting = inUse.find((h) => h.state === 'connecting');
      if (connecting) {
        await settledWithin(connecting.node.link, 3000);
        inUse = holders(key);
      }
      const open = inUse.find((h) => h.node.link && h.node.link.bus && h.node.link.state.state === 'open');
      let verdict;
      let via;
      let note = null;
      if (open) {
        via = 'pool';
        note = t('mate-bus.diag.poolNote', { node: open.name || open.id });
        verdict = await scanThroughPool(open.node.link, s.path, abort.signal);
      } else {
        via = 'direct';
        if (inUse.length) note = t('mate-bus.diag.flowTrying', { nodes: inUse.map((h) => h.name || h.id).join(', '), state: inUse[0].state, code: inUse[0].code || '-' });
        verdict = await mateScanDiagnostic(s.path, {
          timeout: s.options.timeout,
          retries: s.options.retries,
          parityMode: s.options.parityMode,
          transport: s.options.transport,
          signal: abort.signal,
        });
      }
      if (res.writableEnded || abort.signal.aborted) return undefined;
      const { steps = [], ...details } = verdict.details; // the port checks before the scan
      const findings = [...steps, { ...verdict, details }];
      return res.json({ path: s.path, via, inUse: inUse.map(holderSummary), note, devices: details.devices || [], findings });
    } catch (err) {
      if (abort.signal.aborted) return undefined;
      return res.status(500).json({ code: err.code || 'ERROR', error: err.message });
    }
  });
}

module.exports = register;
module.exports.busSettings = busSettings;
module.exports.deviceNode = deviceNode;
module.exports.handleInput = handleInput;
module.exports.payloadObject = payloadObject;
module.exports.numberish = numberish;
module.exports.toPayload = toPayload;
module.exports.localDate = localDate;
module.exports.parsePort = parsePort;
