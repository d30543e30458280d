'use strict';
// The MATE bus panel's Scan button, as a job (nodes/lib/jobs.js):
//
//   POST /fieldlink/mate-bus/scan { serialPort, parityMode, transport, timeout, retries }
//   (fieldlink-mate-bus.write) -> 202 job; the job, when done, has
//   { path, via: 'pool' | 'direct', inUse, note, devices, findings }; progress { port, of, found }.
//
// The MATE bus has one master: when the deployed flow has this port open, the hub is scanned
// through the flow's own MateBus (its requests queue with the flow's, with the flow's 9th-bit
// settings), never through a second opener. Otherwise mateScanDiagnostic() opens the port
// with the panel's settings: port checks, then the scan with firmware revisions.
const { mateScanDiagnostic } = require('../../lib/diagnostics');
const { CODES, result: finding } = require('../../lib/diagnostics/result');
const { openErrorResult } = require('../../lib/diagnostics/port');
const v = require('../../lib/validate');
const { MateBus } = require('../../lib/mate/bus');
const pool = require('./mate-pool');
const { jobRoutes, untilAborted, holderSummary, openHolder } = require('./jobs');

const TYPE_TEXT = { hub: 'hub', mx: 'MX/FM charge controller', fx: 'FX inverter', dc: 'FLEXnet DC' };

function serveMateScan(RED, { t, live, busSettings }) {
  const jobs = jobRoutes(RED, { base: '/fieldlink/mate-bus', permission: 'fieldlink-mate-bus.write', t, ns: 'mate-bus' });
  const keyOf = (n) => (n.link ? n.link.key : null);

  async function scanThroughPool(bus, path, signal, onProgress) {
    let devices;
    try {
      devices = await untilAborted(bus.scan({ firmware: true, onProgress }), signal);
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

  jobs.route('scan', (body) => {
    const b = v.plainObject('body', body);
    const s = busSettings(b);
    if (!s.path) v.fail('serialPort', 'the serial port of the MATE bus', b.serialPort, 'EINVAL');
    MateBus.checkOptions(s.path, s.options); // what opening the bus would refuse, refused before the job starts
    return { ...s, key: pool.keyFor(s.path), fields: { target: s.path, path: s.path, via: null, inUse: [], note: null, devices: [] } };
  }, async (job, signal, s) => {
    const onProgress = (p) => {
      job.progress = { port: p.port, of: p.of, found: (job.progress && job.progress.found) || 0 };
      if (p.found) job.progress.found += 1;
    };
    const { inUse, open } = await openHolder(live, s.key, keyOf, 3000);
    job.inUse = inUse.map(holderSummary);
    let verdict;
    if (open) {
      job.via = 'pool';
      job.note = t('mate-bus.diag.poolNote', { node: open.name || open.id });
      verdict = await scanThroughPool(open.node.link.bus, s.path, signal, onProgress);
    } else {
      job.via = 'direct';
      if (inUse.length) job.note = t('mate-bus.diag.flowTrying', { nodes: inUse.map((h) => h.name || h.id).join(', '), state: inUse[0].state, code: inUse[0].code || '-' });
      const { timeout, retries, parityMode, transport } = s.options;
      verdict = await mateScanDiagnostic(s.path, { timeout, retries, parityMode, transport, signal, onProgress });
    }
    const { steps = [], ...details } = verdict.details; // the port checks before the scan
    job.devices = details.devices || [];
    job.findings = [...steps, { ...verdict, details }];
  });
}

module.exports = { serveMateScan };
