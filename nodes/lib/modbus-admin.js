'use strict';
// The Modbus bus panel's Test and Scan buttons, as jobs (nodes/lib/jobs.js):
//
//   POST /fieldlink/modbus-bus/test { the panel's fields, address, profile }
//   POST /fieldlink/modbus-bus/scan { the panel's fields, units, baudRates, parities, unitTimeout }
//   (fieldlink-modbus-bus.write) -> 202 job; then GET / cancel under /fieldlink/modbus-bus/jobs.
//
// Test: when the deployed flow has this link open, the unit is read through the flow's own
// link (with the flow's line settings), as the M307 and MATE panels do; a full wiring diagnosis
// needs the port to itself and says so. Otherwise runFullDiagnostic() runs on the panel's
// settings (which need not be deployed): the port, the line settings, A/B wiring, the unit.
// Scan tries line settings, so it needs the port to itself: on a link the flow holds it
// answers PORT_BUSY without opening anything.
const { parseTarget, checkOptions, BAUD_RATES, PARITIES } = require('../../lib/modbus/bus');
const { profiles: BUILT_IN_PROFILES } = require('../../lib/modbus/profiles');
const { runFullDiagnostic, scanModbus, parseUnits } = require('../../lib/diagnostics');
const { CODES, result: finding } = require('../../lib/diagnostics/result');
const { openErrorResult } = require('../../lib/diagnostics/port');
const v = require('../../lib/validate');
const pool = require('./modbus-pool');
const { jobRoutes, untilAborted, holders, holderSummary, openHolder } = require('./jobs');

const DEFAULT_PROFILE = require('../../lib/defaults').modbus.profile;

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

function serveModbusJobs(RED, { t, live, busSettings }) {
  const jobs = jobRoutes(RED, { base: '/fieldlink/modbus-bus', permission: 'fieldlink-modbus-bus.write', t, ns: 'modbus-bus' });
  const keyOf = (n) => (n.link ? n.link.key : null);
  const names = (inUse) => inUse.map((h) => h.name || h.id).join(', ');

  /** The panel's settings (the config node's fields as the form has them) -> what a job needs. */
  function jobSettings(body) {
    const b = v.plainObject('body', body);
    const { type, target, options } = busSettings(b);
    if (!target || /^tcp:\/\/:/.test(target)) {
      v.fail(type === 'tcp' ? 'host' : 'serialPort', type === 'tcp' ? 'a host name or address' : 'a serial port path', '', 'EINVAL');
    }
    parseTarget(target);
    checkOptions(options); // what opening the bus would refuse, refused before the job starts
    const line = { baudRate: options.baudRate, parity: options.parity, dataBits: options.dataBits, stopBits: options.stopBits, timeout: options.timeout };
    const key = pool.keyFor(target);
    const inUse = holders(live, key, keyOf).map(holderSummary);
    return { type, target, line, key, inUse };
  }

  /** The job's fields, shown from the 202 answer on. */
  const fields = (s, settings, note) => ({ target: s.target, inUse: s.inUse, note, via: null, settings, units: [], skipped: [] });

  // The unit read through the deployed flow's link.
  async function throughPool(job, h, s, signal) {
    const bus = h.node.link.bus;
    const { address, profile } = s.extra;
    job.findings.push(finding(CODES.OK, {
      step: 'pool',
      message: t('modbus-bus.diag.pooled', { node: h.name || h.id }),
      details: { via: 'pool', node: h.id, line: bus.options ? { baudRate: bus.options.baudRate, parity: bus.options.parity } : null },
    }));
    job.progress = { step: 'read', done: 1, total: 2 };
    try {
      const r = await untilAborted(bus.sensor(address, { profile }).read(), signal);
      const values = { temperature: r.temperature, humidity: r.humidity };
      job.findings.push(finding(CODES.OK, {
        step: 'read',
        message: t('modbus-bus.diag.poolRead', { address, values: `${r.temperature} °C, ${r.humidity} %RH` }),
        details: { via: 'pool', address, profile, values, valid: r.valid },
      }));
    } catch (err) {
      if (signal.aborted) throw err;
      let code = CODES.INVALID_RESPONSE; // a garbled or refused reply
      if (err && err.name === 'TimeoutError') code = CODES.NO_DEVICE_RESPONSE;
      else if (err && err.name === 'ConnectionError') code = CODES.PORT_ERROR; // the link went away meanwhile
      job.findings.push(finding(code, {
        step: 'read',
        message: t('modbus-bus.diag.poolReadFailed', { address, code: (err && err.code) || 'ERROR', message: (err && err.message) || String(err) }),
        suggestion: t('modbus-bus.diag.poolReadFix'),
        rawData: (err && err.rawData) || null,
        details: { via: 'pool', address, profile, error: (err && err.code) || null },
      }));
    }
    job.progress = { step: 'read', done: 2, total: 2 };
  }

  jobs.route('test', (body) => {
    const s = jobSettings(body);
    const address = intField('address', body.address, 1, 1, 247);
    const profile = body.profile === undefined || body.profile === '' ? DEFAULT_PROFILE : v.oneOf('profile', body.profile, Object.keys(BUILT_IN_PROFILES));
    const extra = { address, profile };
    const note = s.inUse.length ? t('modbus-bus.diag.inUse', { target: s.target, nodes: names(s.inUse) }) : null;
    return { ...s, extra, fields: fields(s, { ...s.line, ...extra }, note) };
  }, async (job, signal, s) => {
    const { inUse, open } = s.inUse.length ? await openHolder(live, s.key, keyOf, Math.max(1000, s.line.timeout + 500)) : { inUse: [], open: null };
    if (open) {
      job.via = 'pool';
      job.note = `${job.note} ${t('modbus-bus.diag.needsPort')}`;
      await throughPool(job, open, s, signal);
      return;
    }
    job.via = 'direct';
    if (inUse.length) {
      job.note = t('modbus-bus.diag.flowTrying', { target: s.target, nodes: names(inUse), state: inUse[0].state, code: inUse[0].code || '-' });
    }
    job.findings = await runFullDiagnostic(s.target, {
      ...s.line,
      ...s.extra,
      signal,
      onProgress: (p) => {
        job.progress = p;
      },
    });
  });

  jobs.route('scan', (body) => {
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
    const note = s.inUse.length ? t('modbus-bus.diag.scanBusy', { target: s.target, nodes: names(s.inUse) }) : null;
    return { ...s, line, extra, unitList: units, fields: fields(s, { ...line, ...extra }, note) };
  }, async (job, signal, s) => {
    if (s.inUse.length) {
      // Line settings other than the flow's cannot be tried on a link the flow holds.
      job.findings = [finding(CODES.PORT_BUSY, {
        step: 'open',
        message: t('modbus-bus.diag.scanBusy', { target: s.target, nodes: names(s.inUse) }),
        details: { inUse: s.inUse, connected: false },
      })];
      return;
    }
    job.via = 'direct';
    const options = {
      units: s.unitList,
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
}

module.exports = { serveModbusJobs };
