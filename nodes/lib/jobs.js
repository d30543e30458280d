'use strict';
// The editor's Test and Scan buttons, for every family, as cancellable jobs:
//
//   POST <base>/<kind>          the panel's settings -> 202 and the job (id, state 'running')
//                               | 400 bad settings | 409 EJOBRUNNING (one job per link at a time)
//   GET  <base>/jobs/:id        the job: state running | done | cancelled | failed, progress,
//                               findings and whatever the family's work fills in
//   POST <base>/jobs/:id/cancel aborts the job through its AbortSignal
//
// Every route needs the given permission (fieldlink-<type>.write). A finished job can be read
// for JOB_KEEP_MS; at most JOB_LIMIT finished jobs are kept. The editor side is
// resources/fieldlink-editor.js (FieldLink.jobs).
const crypto = require('node:crypto');
const { ValidationError } = require('../../lib/errors');

const JOB_KEEP_MS = 10 * 60 * 1000;
const JOB_LIMIT = 20;

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

  /** Starts work(job, signal) as a job on the link `key`; returns the job. */
  function start(kind, key, fields, work) {
    prune();
    const abort = new AbortController();
    const job = {
      id: crypto.randomUUID(),
      kind,
      state: 'running',
      startedAt: new Date(),
      finishedAt: null,
      progress: null,
      findings: [],
      error: null,
      ...fields,
      key,
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

  return { start, runningOn, view, get: (id) => jobs.get(id) || null };
}

/**
 * Work that cannot be aborted itself, given up when `signal` aborts: resolves or rejects as
 * `promise` does, or rejects with the abort reason at once.
 */
function untilAborted(promise, signal) {
  if (!signal) return promise;
  let onAbort;
  const aborted = new Promise((resolve, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {}); // an outcome after the abort is nobody's
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * The job routes of one config type; texts from its catalog (<ns>.diag.noJob / jobRunning). Returns { route(kind, parse, work) }: POST <base>/<kind>
 * runs parse(body) (a ValidationError answers 400) -> { key, fields, ...what work needs }, then
 * work(job, signal, parsed) as a job.
 */
function jobRoutes(RED, { base, permission, t, ns }) {
  const store = jobsStore();
  const canWrite = RED.auth.needsPermission(permission);
  const noJob = (res) => res.status(404).json({ code: 'ENOJOB', error: t(`${ns}.diag.noJob`) });

  function route(kind, parse, work) {
    RED.httpAdmin.post(`${base}/${kind}`, canWrite, (req, res) => {
      let s;
      try {
        s = parse(req.body === undefined ? {} : req.body);
      } catch (err) {
        if (err instanceof ValidationError) return res.status(400).json({ code: err.code || 'EINVAL', error: err.message, argument: err.argument || null });
        return res.status(500).json({ code: err.code || 'ERROR', error: err.message });
      }
      const other = store.runningOn(s.key);
      if (other) {
        return res.status(409).json({ code: 'EJOBRUNNING', error: t(`${ns}.diag.jobRunning`, { target: s.fields.target, kind: other.kind }), job: other.id });
      }
      const job = store.start(kind, s.key, s.fields, (j, signal) => work(j, signal, s));
      return res.status(202).json(store.view(job));
    });
  }

  RED.httpAdmin.get(`${base}/jobs/:id`, canWrite, (req, res) => {
    const job = store.get(req.params.id);
    if (!job) return noJob(res);
    return res.json(store.view(job));
  });

  RED.httpAdmin.post(`${base}/jobs/:id/cancel`, canWrite, (req, res) => {
    const job = store.get(req.params.id);
    if (!job) return noJob(res);
    if (job.state === 'running' && job.abort) job.abort.abort();
    return res.json(store.view(job));
  });

  return { route };
}

/** The deployed config nodes in `live` that hold the link `key`, as the job shows them. */
function holders(live, key, keyOf) {
  return [...live].filter((n) => keyOf(n) === key).map((n) => ({
    id: n.id,
    name: n.name || null,
    state: n.state.state,
    code: (n.state.error && n.state.error.code) || null,
    node: n,
  }));
}

const holderSummary = (h) => ({ id: h.id, name: h.name, state: h.state, code: h.code });

/** The first holder whose link is open now, after waiting (at most `ms`) for one connecting. */
async function openHolder(live, key, keyOf, ms) {
  let inUse = holders(live, key, keyOf);
  const connecting = inUse.find((h) => h.state === 'connecting' && h.node.link);
  if (connecting) {
    let timer;
    await Promise.race([connecting.node.link.settled(), new Promise((resolve) => { timer = setTimeout(resolve, ms); })]);
    clearTimeout(timer);
    inUse = holders(live, key, keyOf);
  }
  const open = inUse.find((h) => h.node.link && h.node.link.resource && h.node.link.state.state === 'open') || null;
  return { inUse, open };
}

module.exports = { jobRoutes, jobsStore, untilAborted, holders, holderSummary, openHolder };
