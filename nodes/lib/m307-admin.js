'use strict';
// The M307 device panel's Test button, as a job (nodes/lib/jobs.js):
//
//   POST /fieldlink/m307-device/test { host, port, timeout } (fieldlink-m307-device.write)
//   -> 202 job; the job, when done, has { target, via: 'pool' | 'direct', inUse, note, findings };
//   progress { step, done, total }.
//
// The M307 serves one TCP client. When the deployed flow holds the connection to that
// host:port, a second connection would be turned away (and could knock the flow's off on
// some device servers), so the test asks through the flow's own client instead: the status
// and the identity come from the pooled connection (via 'pool'). Otherwise testM307() runs:
// TCP reachability, refusal by another client (DEVICE_BUSY), the protocol and the identity.
const { testM307 } = require('../../lib/diagnostics');
const { CODES, result: finding } = require('../../lib/diagnostics/result');
const v = require('../../lib/validate');
const { M307Client } = require('../../lib/m307/client');
const pool = require('./m307-pool');
const { jobRoutes, untilAborted, holderSummary, openHolder } = require('./jobs');

function serveM307Test(RED, { t, live, deviceSettings }) {
  const jobs = jobRoutes(RED, { base: '/fieldlink/m307-device', permission: 'fieldlink-m307-device.write', t, ns: 'm307-device' });

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

  async function throughPool(job, h, target, timeout, signal) {
    const link = h.node.link;
    const client = link.client;
    const findings = job.findings;
    const step = (name, done) => {
      job.progress = { step: name, done, total: 3 };
    };
    step('pool', 1);
    findings.push(finding(CODES.OK, {
      step: 'pool',
      message: t('m307-device.diag.pooled', { target, node: h.name || h.id }),
      details: { via: 'pool', node: h.id },
    }));
    if (link.logOwner) {
      findings[0].message += ` ${t('m307-device.diag.logRunning')}`;
      return;
    }
    const limit = Math.max(1000, timeout * 3);
    // One request of the test: its answer, or null once its failure is recorded (the test ends).
    const ask = async (name, what, request) => {
      try {
        return await untilAborted(bounded(request(), limit, what), signal);
      } catch (err) {
        if (signal.aborted) throw err;
        findings.push(failure(name, err, target));
        return null;
      }
    };
    const status = await ask('protocol', 'status', () => client.readStatus());
    if (!status) return;
    step('protocol', 2);
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
    const info = await ask('identity', 'identity', () => client.getDeviceInfo());
    if (!info) return;
    step('identity', 3);
    findings.push(finding(CODES.OK, {
      step: 'identity',
      message: `"${info.deviceName}", serial number ${info.serialNumber}, MAC ${info.macAddress}, unit °${info.unitOfMeasure}`,
      details: { via: 'pool', ...info },
    }));
  }

  jobs.route('test', (body) => {
    const b = v.plainObject('body', body);
    const s = deviceSettings(b);
    if (!s.host) v.fail('host', 'a host name or IP address', b.host, 'EINVAL');
    // What connecting would refuse, refused before the job starts.
    const { port, timeout } = M307Client.checkOptions(s.host, s.options);
    const target = pool.keyFor(s.host, port);
    return { host: s.host, port, timeout, key: target, fields: { target, via: null, inUse: [], note: null } };
  }, async (job, signal, s) => {
    const keyOf = (n) => n.target;
    // A connect in progress: wait (bounded) for its outcome, so that an open pooled
    // connection is used rather than raced.
    const { inUse, open } = await openHolder(live, s.key, keyOf, Math.max(1000, s.timeout + 500));
    job.inUse = inUse.map(holderSummary);
    if (open) {
      job.via = 'pool';
      job.note = t('m307-device.diag.poolNote');
      await throughPool(job, open, s.key, s.timeout, signal);
      return;
    }
    job.via = 'direct';
    job.progress = { step: 'tcp', done: 0, total: 3 };
    if (inUse.length) {
      job.note = t('m307-device.diag.flowTrying', { nodes: inUse.map((h) => h.name || h.id).join(', '), state: inUse[0].state, code: inUse[0].code || '-' });
    }
    job.findings = await untilAborted(testM307(s.host, { port: s.port, timeout: Math.max(s.timeout, 1000) }), signal);
    job.progress = { step: job.findings.length ? job.findings[job.findings.length - 1].step : 'tcp', done: 3, total: 3 };
  });
}

module.exports = { serveM307Test };
