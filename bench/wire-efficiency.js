'use strict';
// Wire efficiency: polls per second against a slave that spends the real 9600-baud wire time
// (bench/native/mbslave.c --pace 9600), as a share of the wire limit of docs/protocols/modbus.md §3.
//
//   node bench/wire-efficiency.js [--seconds 8] [--reps 3] [--baud 9600] [--json FILE]
//
// One poll on the wire: request 8 characters, 3.5 characters of silence (the slave's
// end-of-frame), reply 9 characters, 3.5 characters of silence before the next request.
// 8N1 = 10 bits per character. At 9600 baud: 24 characters = 25.0 ms -> 40.0 polls/s.
//
// fieldlink runs with interFrameDelay set to 3.5 characters (on a pty its automatic delay is
// 0, there being no wire): that is the measured ratio. fieldlink with the pty default and the
// two other masters (which keep no inter-frame delay) are shown for reference: they can only
// beat the limit by not leaving the 3.5-character silence after a reply.

const fs = require('node:fs');
const path = require('node:path');
const c = require('./lib/common');
const { startSlave } = require('./lib/slave');

const WORKER = path.join(__dirname, 'lib', 'master-worker.js');

function wireModel(baud) {
  const charMs = 10000 / baud; // 10 bits per character, in ms
  const reqChars = 8;
  const repChars = 9;
  const gapChars = 3.5;
  const cycleChars = reqChars + gapChars + repChars + gapChars;
  return {
    baud,
    charMs,
    gapMs: gapChars * charMs,
    cycleChars,
    cycleMs: cycleChars * charMs,
    limit: 1000 / (cycleChars * charMs),
    // Without the silence after the reply (what a master that keeps no gap can reach).
    limitNoTrailingGap: 1000 / ((cycleChars - gapChars) * charMs),
  };
}

async function runConfig(cfg, opts, bins) {
  const slave = await startSlave({ transport: 'openpty', pace: opts.baud, bins });
  let r;
  try {
    const common = ['--seconds', String(opts.seconds), '--warmup', String(opts.warmup)];
    if (cfg.master === 'libmodbus') {
      r = await c.runJson(bins.mbmaster, [slave.path, ...common]);
    } else {
      const extra = cfg.interFrameDelay !== undefined ? ['--inter-frame-delay', String(cfg.interFrameDelay)] : [];
      r = await c.runJson(process.execPath, [WORKER, '--master', cfg.master, '--path', slave.path, ...common, ...extra]);
    }
  } finally {
    r = { ...r, slave: await slave.stop() };
  }
  const s = r.slave;
  r.turnaroundMs = s.turnarounds ? s.turnaroundUsSum / s.turnarounds / 1000 : null;
  r.turnaroundMaxMs = s.turnarounds ? s.turnaroundUsMax / 1000 : null;
  r.slaveLatenessMs = s.replies ? s.latenessUsSum / s.replies / 1000 : null;
  r.othersCores = Math.max(0, (r.machineBusySeconds - r.cpuUs / 1e6 - (s.cpuUs || 0) / 1e6 * (r.polls / Math.max(1, s.requests))) / r.seconds);
  return r;
}

async function run(opts) {
  const facts = c.machineFacts();
  const bins = c.buildNative();
  const model = wireModel(opts.baud);
  const gap = Number(model.gapMs.toFixed(4));
  const configs = [
    { key: 'fieldlink-gap', label: `fieldlink, interFrameDelay ${gap} ms (3.5 chars)`, master: 'fieldlink', interFrameDelay: gap, measured: true },
    { key: 'fieldlink-auto', label: 'fieldlink, default (auto: 0 on a pty)', master: 'fieldlink' },
    { key: 'libmodbus', label: 'libmodbus, default (no delay)', master: 'libmodbus' },
    { key: 'modbus-serial', label: 'modbus-serial, default (no delay)', master: 'modbus-serial' },
  ];
  const runs = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let k = 0; k < configs.length; k++) {
      const cfg = configs[(rep + k) % configs.length];
      const r = await runConfig(cfg, opts, bins);
      r.key = cfg.key;
      r.rep = rep + 1;
      runs.push(r);
      if (!opts.quiet) {
        process.stderr.write(`  round ${rep + 1} ${cfg.key.padEnd(15)} ${c.fmt(r.pollsPerSec, 2).padStart(6)} polls/s ` +
          `(${c.pct(r.pollsPerSec / model.limit)} of the limit)  turnaround ${c.fmt(r.turnaroundMs, 3)} ms  errors ${r.errors}\n`);
      }
    }
  }
  const by = {};
  for (const cfg of configs) {
    const rs = runs.filter((r) => r.key === cfg.key);
    by[cfg.key] = {
      label: cfg.label,
      measured: !!cfg.measured,
      pollsPerSec: c.median(rs.map((r) => r.pollsPerSec)),
      min: Math.min(...rs.map((r) => r.pollsPerSec)),
      max: Math.max(...rs.map((r) => r.pollsPerSec)),
      turnaroundMs: c.median(rs.map((r) => r.turnaroundMs)),
      turnaroundMaxMs: Math.max(...rs.map((r) => r.turnaroundMaxMs || 0)),
      slaveLatenessMs: c.median(rs.map((r) => r.slaveLatenessMs)),
      cpuUsPerPoll: c.median(rs.map((r) => r.cpuUsPerPoll)),
      errors: rs.reduce((s, r) => s + r.errors, 0),
      othersCores: c.median(rs.map((r) => r.othersCores)),
    };
    by[cfg.key].shareOfLimit = by[cfg.key].pollsPerSec / model.limit;
  }
  const share = by['fieldlink-gap'].shareOfLimit;
  return {
    bench: 'wire-efficiency',
    opts,
    facts,
    model,
    by,
    share,
    goal: { goal: '≥ 95 %', met: share >= 0.95 },
    runs,
  };
}

function report(res) {
  const { model, by, opts, share, goal } = res;
  const lines = [];
  lines.push(`Wire efficiency at ${model.baud} baud 8N1 (1 char = ${c.fmt(model.charMs, 4)} ms): fc04 request 8 + reply 9 chars + 2 × 3.5-char ` +
    `gaps = ${model.cycleChars} chars = ${c.fmt(model.cycleMs, 3)} ms -> wire limit ${c.fmt(model.limit, 2)} polls/s ` +
    `(${c.fmt(model.limitNoTrailingGap, 2)} without the gap after the reply); ${opts.seconds} s per run, median of ${opts.reps}`);
  lines.push(c.formatFacts(res.facts));
  lines.push(c.table(
    ['master', 'polls/s', 'min..max', 'share of limit', 'turnaround ms (slave-measured)', 'slave late ms', 'CPU µs/poll', 'errors'],
    Object.values(by).map((b) => [
      b.label, c.fmt(b.pollsPerSec, 2), `${c.fmt(b.min, 2)}..${c.fmt(b.max, 2)}`, c.pct(b.shareOfLimit),
      `${c.fmt(b.turnaroundMs, 3)} (max ${c.fmt(b.turnaroundMaxMs, 2)})`, c.fmt(b.slaveLatenessMs, 3), c.fmt(b.cpuUsPerPoll, 0), String(b.errors),
    ]),
  ));
  lines.push(`fieldlink (3.5-char interFrameDelay) / wire limit = ${c.pct(share)} (goal ${goal.goal}: ${goal.met ? 'met' : 'MISSED'})`);
  return lines.join('\n');
}

if (require.main === module) {
  const opts = c.parseArgs(process.argv.slice(2), { seconds: 8, reps: 3, baud: 9600, warmup: 20 });
  run(opts).then((res) => {
    console.log(report(res));
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(res, null, 2));
  }, (err) => {
    console.error(err.stack || err);
    process.exit(1);
  });
}

module.exports = { run, report, wireModel };
