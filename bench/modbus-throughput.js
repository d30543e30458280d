'use strict';
// Modbus RTU polls per second and CPU per poll against one fast slave on one pseudo-terminal,
// for three masters in one run: fieldlink, modbus-serial (npm) and a C master on libmodbus
// (the practical floor). See docs/performance.md.
//
//   node bench/modbus-throughput.js [--polls 5000] [--warmup 200] [--reps 5]
//        [--transport openpty|socat] [--pin CPU] [--spin US] [--json FILE]
//
// --spin US sets fieldlink's adaptive spin window (FIELDLINK_SPIN_US; 0 turns it off).
//
// --pin CPU runs the slave and the master on that one CPU (taskset): no cross-CPU wake-ups,
// so polls/s follows the CPU each side spends per poll.
//
// Every master runs --reps times (the order rotates each round, a fresh slave each time);
// the table shows the medians and the ratios between them.

const fs = require('node:fs');
const path = require('node:path');
const c = require('./lib/common');
const { startSlave } = require('./lib/slave');

const MASTERS = ['libmodbus', 'fieldlink', 'modbus-serial'];
const WORKER = path.join(__dirname, 'lib', 'master-worker.js');

async function runMaster(master, opts, bins) {
  const slave = await startSlave({ transport: opts.transport, bins, pin: opts.pin });
  let r;
  try {
    const common = ['--polls', String(opts.polls), '--warmup', String(opts.warmup)];
    const pre = opts.pin !== undefined ? ['-c', String(opts.pin)] : null;
    const exec = (cmd, args) => (pre ? c.runJson('taskset', [...pre, cmd, ...args]) : c.runJson(cmd, args));
    if (master === 'libmodbus') r = await exec(bins.mbmaster, [slave.path, ...common]);
    else r = await exec(process.execPath, [WORKER, '--master', master, '--path', slave.path, ...common]);
  } finally {
    r = { ...r, slave: await slave.stop() };
  }
  // The slave ran warmup + measured polls; its share of the measured loop is proportional.
  const share = r.slave.requests ? r.polls / r.slave.requests : 0;
  const slaveCpu = ((r.slave.cpuUs || 0) + (r.slave.relayCpuUs || 0)) * share;
  r.slaveCpuUsPerPoll = r.polls ? slaveCpu / r.polls : null;
  r.othersCores = Math.max(0, (r.machineBusySeconds - r.cpuUs / 1e6 - slaveCpu / 1e6) / r.seconds);
  return r;
}

async function run(opts) {
  const facts = c.machineFacts();
  const bins = c.buildNative();
  const runs = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let k = 0; k < MASTERS.length; k++) {
      const master = MASTERS[(rep + k) % MASTERS.length];
      const r = await runMaster(master, opts, bins);
      r.rep = rep + 1;
      runs.push(r);
      if (!opts.quiet) {
        process.stderr.write(`  round ${rep + 1} ${master.padEnd(13)} ${c.fmt(r.pollsPerSec, 0).padStart(6)} polls/s  ` +
          `${c.fmt(r.cpuUsPerPoll, 1).padStart(6)} µs CPU/poll  errors ${r.errors}  other load ${c.fmt(r.othersCores, 2)} cores\n`);
      }
    }
  }
  const by = {};
  for (const m of MASTERS) {
    const rs = runs.filter((r) => r.master === m);
    by[m] = {
      runs: rs.length,
      version: rs[0].version,
      pollsPerSec: c.median(rs.map((r) => r.pollsPerSec)),
      pollsPerSecMin: Math.min(...rs.map((r) => r.pollsPerSec)),
      pollsPerSecMax: Math.max(...rs.map((r) => r.pollsPerSec)),
      cpuUsPerPoll: c.median(rs.map((r) => r.cpuUsPerPoll)),
      switchesPerPoll: c.median(rs.map((r) => r.contextSwitchesPerPoll)),
      slaveCpuUsPerPoll: c.median(rs.map((r) => r.slaveCpuUsPerPoll)),
      othersCores: c.median(rs.map((r) => r.othersCores)),
      errors: rs.reduce((s, r) => s + r.errors, 0),
      latencyP50: rs[0].latency ? c.median(rs.map((r) => r.latency.p50)) : undefined,
      latencyP99: rs[0].latency ? c.median(rs.map((r) => r.latency.p99)) : undefined,
      threads: rs.map((r) => r.threadsCpuSeconds).filter(Boolean),
      engine: rs.map((r) => r.engine).filter(Boolean),
    };
  }
  const fl = by.fieldlink;
  const lm = by.libmodbus;
  const ms = by['modbus-serial'];
  const ratios = {
    fieldlinkVsLibmodbus: fl.pollsPerSec / lm.pollsPerSec,
    fieldlinkVsModbusSerial: fl.pollsPerSec / ms.pollsPerSec,
    cpuFieldlinkVsModbusSerial: fl.cpuUsPerPoll / ms.cpuUsPerPoll,
    // Ratio within each round (the three masters ran back to back), to show the spread, and
    // the most other load any of the three saw (another job makes idle vCPUs cheaper to wake
    // up, which speeds every master up: rounds are only comparable at the same load).
    perRound: Array.from({ length: opts.reps }, (_, i) => {
      const g = (m) => runs.find((r) => r.rep === i + 1 && r.master === m);
      return {
        vsLibmodbus: g('fieldlink').pollsPerSec / g('libmodbus').pollsPerSec,
        vsModbusSerial: g('fieldlink').pollsPerSec / g('modbus-serial').pollsPerSec,
        cpuVsModbusSerial: g('fieldlink').cpuUsPerPoll / g('modbus-serial').cpuUsPerPoll,
        maxOthersCores: Math.max(...MASTERS.map((m) => g(m).othersCores)),
      };
    }),
  };
  const quiet = ratios.perRound.filter((r) => r.maxOthersCores < opts.quietThreshold);
  ratios.quietRounds = quiet.length;
  ratios.quietVsLibmodbus = quiet.length ? c.median(quiet.map((r) => r.vsLibmodbus)) : null;
  ratios.quietVsModbusSerial = quiet.length ? c.median(quiet.map((r) => r.vsModbusSerial)) : null;
  const goals = {
    vsLibmodbus: { goal: '≥ 0.90', met: ratios.fieldlinkVsLibmodbus >= 0.9 },
    vsModbusSerial: { goal: '> 1', met: ratios.fieldlinkVsModbusSerial > 1 },
    cpu: { goal: '< modbus-serial', met: ratios.cpuFieldlinkVsModbusSerial < 1 },
  };
  return { bench: 'modbus-throughput', opts, facts, libmodbus: c.libmodbusVersion(), by, ratios, goals, runs };
}

function report(res) {
  const { by, ratios, goals, opts, facts } = res;
  const lines = [];
  lines.push(`Modbus RTU throughput: ${opts.polls} polls of fc04 unit 1 address 1 count 2 (+${opts.warmup} warm-up) ` +
    `against the libmodbus slave on one pty (${opts.transport}${opts.pin !== undefined ? `, all pinned to CPU ${opts.pin}` : ''}); median of ${opts.reps} runs per master`);
  lines.push(c.formatFacts(facts));
  lines.push(c.table(
    ['master', 'polls/s (median)', 'min..max', 'CPU µs/poll', 'context switches/poll', 'slave CPU µs/poll', 'errors', 'other load (cores)'],
    Object.entries(by).map(([m, b]) => [
      `${m} ${b.version}`, c.fmt(b.pollsPerSec, 0), `${c.fmt(b.pollsPerSecMin, 0)}..${c.fmt(b.pollsPerSecMax, 0)}`,
      c.fmt(b.cpuUsPerPoll, 1), c.fmt(b.switchesPerPoll, 2), c.fmt(b.slaveCpuUsPerPoll, 1), String(b.errors), c.fmt(b.othersCores, 2),
    ]),
  ));
  const spread = (k) => {
    const xs = ratios.perRound.map((r) => r[k]);
    return `${c.fmt(Math.min(...xs), 2)}..${c.fmt(Math.max(...xs), 2)}`;
  };
  lines.push(c.table(
    ['ratio', 'value', 'per round', 'goal', 'met'],
    [
      ['fieldlink / libmodbus polls/s', c.fmt(ratios.fieldlinkVsLibmodbus, 2), spread('vsLibmodbus'), goals.vsLibmodbus.goal, goals.vsLibmodbus.met ? 'yes' : 'NO'],
      ['fieldlink / modbus-serial polls/s', c.fmt(ratios.fieldlinkVsModbusSerial, 2), spread('vsModbusSerial'), goals.vsModbusSerial.goal, goals.vsModbusSerial.met ? 'yes' : 'NO'],
      ['fieldlink / modbus-serial CPU per poll', c.fmt(ratios.cpuFieldlinkVsModbusSerial, 2), '', goals.cpu.goal, goals.cpu.met ? 'yes' : 'NO'],
    ],
  ));
  lines.push(`per round (fieldlink/libmodbus, fieldlink/modbus-serial, most other load in cores): ` +
    ratios.perRound.map((r) => `${c.fmt(r.vsLibmodbus, 2)} ${c.fmt(r.vsModbusSerial, 2)} (${c.fmt(r.maxOthersCores, 2)})`).join('; '));
  lines.push(`rounds where no master saw more than ${opts.quietThreshold} cores of other load: ${ratios.quietRounds}` +
    (ratios.quietRounds ? `; median ratios there: fieldlink/libmodbus ${c.fmt(ratios.quietVsLibmodbus, 2)}, ` +
      `fieldlink/modbus-serial ${c.fmt(ratios.quietVsModbusSerial, 2)}` : ''));
  const th = by.fieldlink.threads;
  if (th.length) {
    const names = [...new Set(th.flatMap((t) => Object.keys(t)))];
    const perPoll = names.map((n) => `${n} ${c.fmt((1e6 * c.median(th.map((t) => t[n] || 0))) / opts.polls, 1)}`);
    lines.push(`fieldlink CPU per thread, µs/poll (median, 10 ms tick resolution): ${perPoll.join(', ')}`);
  }
  if (by.fieldlink.latencyP99 !== undefined) {
    lines.push(`fieldlink wire round trip seen by the engine (request written -> reply parsed), last 256 polls: ` +
      `p50 ${c.fmt(1000 * by.fieldlink.latencyP50, 1)} µs, p99 ${c.fmt(1000 * by.fieldlink.latencyP99, 1)} µs; ` +
      `per poll seen by JS: ${c.fmt(1e6 / by.fieldlink.pollsPerSec, 1)} µs`);
  }
  const eng = by.fieldlink.engine;
  if (eng.length) {
    const share = (k) => c.median(eng.map((e) => e[k] / Math.max(1, e.idlePeriods)));
    lines.push(`fieldlink engine (adaptive spin ${eng[0].spinMicros} µs; FIELDLINK_SPIN_US=0 turns it off): per idle period ` +
      `spun ${c.pct(share('spins'))}, found work while spinning ${c.pct(share('spinHits'))}, slept ${c.pct(share('sleeps'))} ` +
      `(whole worker process, warm-up included)`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const opts = c.parseArgs(process.argv.slice(2), { polls: 5000, warmup: 200, reps: 5, transport: 'openpty', quietThreshold: 0.3 });
  if (opts.spin !== undefined) process.env.FIELDLINK_SPIN_US = String(opts.spin); // the workers inherit it
  run(opts).then((res) => {
    console.log(report(res));
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(res, null, 2));
  }, (err) => {
    console.error(err.stack || err);
    process.exit(1);
  });
}

module.exports = { run, report };
