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
const crypto = require('node:crypto');
const fs = require('node:fs');
const registry = require('../lib/registry');
const { listPorts } = require('../lib/ports');
const { ValidationError } = require('../lib/errors');
const { parseTarget, checkOptions, BAUD_RATES } = require('../lib/modbus/bus');
const { profiles: BUILT_IN_PROFILES } = require('../lib/modbus/profiles');
const { runFullDiagnostic, scanModbus, parseUnits } = require('../lib/diagnostics');
const { CODES, result: finding } = require('../lib/diagnostics/result');
const { openErrorResult } = require('../lib/diagnostics/port');
const v = require('../lib/validate');
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

// ---------------------------------------------------------------------------------------------
// The editor's "Test" and "Scan" buttons (admin endpoints, fieldlink-modbus-bus.write).
//
// Both run as jobs: POST starts one and answers 202 with its id at once, the panel polls
// GET .../jobs/:id for progress and the outcome, and POST .../jobs/:id/cancel aborts it
// through its AbortSignal (the port is closed at once). One job per port at a time.
//
// They run on the settings in the panel (which need not be deployed) and borrow nothing from
// the deployed flow: a serial port the flow holds is locked (flock), so the diagnosis's own
// open fails and it reports PORT_BUSY naming this Node-RED, with nothing sent on the wire; a
// TCP target the flow holds is not connected to at all (a second connection to the serial
// server would be a second master on the RS485 bus): the result is PORT_BUSY without a
// connection. Either way the answer lists the deployed bus nodes that hold the link (inUse).

const JOB_KEEP_MS = 10 * 60 * 1000; // a finished job can be read this long
const JOB_LIMIT = 20; // finished jobs kept at most
const PARITIES = ['none', 'even', 'odd'];

/** The name two bus nodes share a link by (as lib/registry.js keys them). */
function linkKey(target) {
  let t;
  try {
    t = parseTarget(target);
  } catch {
    return String(target);
  }
  if (t.kind === 'tcp') return `tcp://${t.host.toLowerCase()}:${t.port}`;
  try {
    return fs.realpathSync(t.path);
  } catch {
    return t.path;
  }
}

const isTcpTarget = (target) => /^tcp:\/\//i.test(target);

/** The panel's settings (the config node's fields as the form has them) -> what a job needs. */
function jobSettings(body) {
  const b = v.plainObject('body', body);
  const { type, target, options } = busSettings(b);
  if (!target || /^tcp:\/\/:/.test(target)) {
    v.fail(type === 'tcp' ? 'host' : 'serialPort', type === 'tcp' ? 'a host name or address' : 'a serial port path', '', 'EINVAL');
  }
  parseTarget(target);
  const line = { baudRate: options.baudRate, parity: options.parity, dataBits: options.dataBits, stopBits: options.stopBits, timeout: options.timeout };
  checkOptions(line);
  return { type, target, line };
}

function intField(name, value, fallback, lo, hi) {
  const n = value === undefined || value === null || String(value).trim() === '' ? fallback : Number(value);
  return v.integer(name, n, lo, hi);
}

/** A list field of the scan form: an array or "a,b,c". */
function listField(value, fallback) {
  if (value === undefined || value === null || value === '') return fallback;
  if (Array.isArray(value)) return value;
  return String(value).split(',').map((x) => x.trim()).filter(Boolean);
}

function jobsStore() {
  const jobs = new Map();

  function prune() {
    const now = Date.now();
    const finished = [...jobs.values()].filter((j) => j.state !== 'running').sort((a, b) => a.finishedAt - b.finishedAt);
    for (const j of finished) if (now - j.finishedAt.getTime() > JOB_KEEP_MS) jobs.delete(j.id);
    const left = finished.filter((j) => jobs.has(j.id));
    while (left.length > JOB_LIMIT) jobs.delete(left.shift().id);
  }

  function runningOn(key) {
    return [...jobs.values()].find((j) => j.state === 'running' && j.key === key) || null;
  }

  /** Starts work(job, signal) as a job; returns the job. */
  function start(kind, target, extra, work) {
    prune();
    const abort = new AbortController();
    const job = {
      id: crypto.randomUUID(),
      kind,
      target,
      key: linkKey(target),
      state: 'running',
      startedAt: new Date(),
      finishedAt: null,
      progress: null,
      findings: [],
      units: [],
      skipped: [],
      error: null,
      ...extra,
      abort,
    };
    jobs.set(job.id, job);
    Promise.resolve()
      .then(() => work(job, abort.signal))
      .then(
        () => {
          job.state = abort.signal.aborted ? 'cancelled' : 'done';
        },
        (err) => {
          if (abort.signal.aborted) job.state = 'cancelled';
          else {
            job.state = 'failed';
            job.error = { code: (err && err.code) || 'ERROR', message: (err && err.message) || String(err) };
          }
        },
      )
      .finally(() => {
        job.finishedAt = new Date();
        job.abort = null;
      });
    return job;
  }

  function view(job) {
    const { abort, key, ...rest } = job;
    return rest;
  }

  return { jobs, start, runningOn, view, get: (id) => jobs.get(id) || null };
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
    /** The open ModbusBus, or null while there is none. */
    node.bus = null;
    node.state = { state: 'connecting', retryIn: 0, error: null, attempt: 0 };
    live.add(node);

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
      live.delete(node);
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

  // --- Test and Scan ------------------------------------------------------------------------

  const store = jobsStore();
  const canWrite = RED.auth.needsPermission('fieldlink-modbus-bus.write');

  /** The deployed bus nodes on the link `key`: [{ id, name, state, code }]. */
  function holders(key) {
    return [...live].filter((n) => linkKey(n.target) === key).map((n) => ({
      id: n.id,
      name: n.name || null,
      target: n.target,
      state: n.state.state,
      code: (n.state.error && n.state.error.code) || null,
    }));
  }

  // The flow holds this TCP link: the job does not connect (it would be a second master).
  function tcpBusy(target, inUse) {
    return finding(CODES.PORT_BUSY, {
      step: 'open',
      message: t('modbus-bus.diag.tcpInUse', { target, nodes: inUse.map((h) => h.name || h.id).join(', ') }),
      suggestion: t('modbus-bus.diag.tcpInUseFix'),
      details: { inUse, connected: false },
    });
  }

  function badRequest(res, err) {
    res.status(400).json({ code: err.code || 'EINVAL', error: err.message, argument: err.argument || null });
  }

  /** Common part of POST test / scan: settings checked, one job per port, then work(). */
  function startJob(req, res, kind, parse, work) {
    let s;
    try {
      s = parse(req.body);
    } catch (err) {
      if (err instanceof ValidationError) return badRequest(res, err);
      throw err;
    }
    const key = linkKey(s.target);
    const other = store.runningOn(key);
    if (other) {
      return res.status(409).json({ code: 'EJOBRUNNING', error: t('modbus-bus.diag.jobRunning', { target: s.target, kind: other.kind }), job: other.id });
    }
    const inUse = holders(key);
    const note = inUse.length ? t('modbus-bus.diag.inUse', { target: s.target, nodes: inUse.map((h) => h.name || h.id).join(', ') }) : null;
    const job = store.start(kind, s.target, { inUse, note, settings: { ...s.line, ...s.extra } }, (j, signal) => {
      if (inUse.length && isTcpTarget(s.target)) {
        j.findings = [tcpBusy(s.target, inUse)];
        return undefined;
      }
      return work(j, signal, s);
    });
    return res.status(202).json(store.view(job));
  }

  RED.httpAdmin.post('/fieldlink/modbus-bus/test', canWrite, (req, res) => {
    startJob(req, res, 'test', (body) => {
      const s = jobSettings(body);
      const address = intField('address', body.address, 1, 1, 247);
      const profile = body.profile === undefined || body.profile === '' ? 'xy-md02' : v.oneOf('profile', body.profile, Object.keys(BUILT_IN_PROFILES));
      return { ...s, extra: { address, profile } };
    }, async (job, signal, s) => {
      job.findings = await runFullDiagnostic(s.target, {
        ...s.line,
        ...s.extra,
        signal,
        onProgress: (p) => {
          job.progress = p;
        },
      });
    });
  });

  RED.httpAdmin.post('/fieldlink/modbus-bus/scan', canWrite, (req, res) => {
    startJob(req, res, 'scan', (body) => {
      const s = jobSettings(body);
      const unitsText = body.units === undefined || body.units === '' ? '1-247' : body.units;
      const units = parseUnits(Array.isArray(unitsText) ? unitsText.map(Number) : String(unitsText));
      const baudRates = listField(body.baudRates, [s.line.baudRate]).map(Number);
      if (baudRates.length === 0) v.fail('baudRates', 'at least one baud rate', body.baudRates, 'EINVAL');
      baudRates.forEach((b, i) => v.oneOf(`baudRates[${i}]`, b, BAUD_RATES));
      const parities = listField(body.parities, [s.line.parity]);
      if (parities.length === 0) v.fail('parities', 'at least one parity', body.parities, 'EINVAL');
      parities.forEach((p, i) => v.oneOf(`parities[${i}]`, p, PARITIES));
      const extra = { units: unitsText, unitCount: units.length, baudRates, parities };
      // Per unit: the scan's own short default (50 ms on a pty, 100 on a serial port, 300 over
      // TCP), not the bus's timeout: 247 units x 500 ms would take two minutes per line setting.
      if (body.unitTimeout !== undefined && body.unitTimeout !== '') extra.unitTimeout = intField('unitTimeout', body.unitTimeout, undefined, 10, 60000);
      const { timeout, ...line } = s.line; // the bus's timeout is not the scan's
      return { ...s, line, extra, units };
    }, async (job, signal, s) => {
      const options = {
        units: s.units,
        baudRates: s.extra.baudRates,
        parities: s.extra.parities,
        profileProbe: true,
        signal,
        onProgress: (p) => {
          job.progress = { done: p.done, total: p.total, found: p.found, address: p.address ?? null, baudRate: p.baudRate ?? null, parity: p.parity ?? null };
          if (p.unit) job.units.push(p.unit);
          if (p.skipped) job.skipped.push(p.skipped);
        },
      };
      if (s.extra.unitTimeout !== undefined) options.timeout = s.extra.unitTimeout;
      try {
        job.units = await scanModbus(s.target, options);
      } catch (err) {
        if (signal.aborted) throw err;
        // The port cannot be opened (busy, permission, gone): said as a finding, as Test does.
        const r = err && err.name === 'ConnectionError' ? openErrorResult(s.target, err, 'open') : null;
        if (!r) throw err;
        job.findings = [r];
      }
    });
  });

  RED.httpAdmin.get('/fieldlink/modbus-bus/jobs/:id', canWrite, (req, res) => {
    const job = store.get(req.params.id);
    if (!job) return res.status(404).json({ code: 'ENOJOB', error: t('modbus-bus.diag.noJob') });
    return res.json(store.view(job));
  });

  RED.httpAdmin.post('/fieldlink/modbus-bus/jobs/:id/cancel', canWrite, (req, res) => {
    const job = store.get(req.params.id);
    if (!job) return res.status(404).json({ code: 'ENOJOB', error: t('modbus-bus.diag.noJob') });
    if (job.state === 'running' && job.abort) job.abort.abort();
    return res.json(store.view(job));
  });
};

module.exports.busSettings = busSettings;
module.exports.linkKey = linkKey;
