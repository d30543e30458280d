'use strict';
// npm run bench: runs the benchmarks one after the other, each in its own process, and prints
// one summary. On demand only, never in CI (the numbers depend on the machine and its load).
//
//   node bench/run.js [--quick] [--with-scale] [--json FILE]
//
//   1. bench/modbus-throughput.js  fieldlink vs libmodbus vs modbus-serial on one pty
//   2. bench/wire-efficiency.js    polls/s against a 9600-baud paced slave vs the wire limit
//   3. bench/m307-log.js           4,000-record log download vs round trips × RTT + transfer
//   4. bench/scale.js              (with --with-scale) 200..1,000 M307 devices at 1 Hz
// bench/soak.js is separate (1 h by default).
// Needs gcc, libmodbus-dev, socat (only for --transport socat) and the npm devDependency
// modbus-serial; the addon must be built (build/Release/fieldlink.node).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const c = require('./lib/common');

const opts = c.parseArgs(process.argv.slice(2), {});

function runBench(file, args) {
  const json = path.join(os.tmpdir(), `fieldlink-bench-${process.pid}-${path.basename(file, '.js')}.json`);
  const shown = `node bench/${path.basename(file)} ${args.join(' ')}`.trim();
  console.log(`\n$ ${shown}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, file), ...args, '--json', json], { stdio: 'inherit' });
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`${shown} failed (${code})`));
        return;
      }
      const res = JSON.parse(fs.readFileSync(json, 'utf8'));
      fs.unlinkSync(json);
      res.command = shown;
      resolve(res);
    });
  });
}

async function main() {
  const q = !!opts.quick;
  const facts = c.machineFacts();
  console.log(`fieldlink benchmarks: ${c.formatFacts(facts)}`);
  const tp = await runBench('modbus-throughput.js', q ? ['--polls', '2000', '--reps', '3'] : ['--polls', '5000', '--reps', '5']);
  const we = await runBench('wire-efficiency.js', q ? ['--seconds', '4', '--reps', '1'] : ['--seconds', '8', '--reps', '3']);
  const ml = await runBench('m307-log.js', q ? ['--n', '5', '--blocks', '1'] : ['--n', '10', '--blocks', '3']);
  let sc = null;
  if (opts.withScale) sc = await runBench('scale.js', q ? ['--devices', '200', '--seconds', '10'] : ['--devices', '200,500,1000', '--seconds', '30']);

  const rows = [
    ['modbus-throughput', 'fieldlink / libmodbus polls/s', c.fmt(tp.ratios.fieldlinkVsLibmodbus, 2), '≥ 0.90', tp.goals.vsLibmodbus.met],
    ['modbus-throughput', 'fieldlink / modbus-serial polls/s', c.fmt(tp.ratios.fieldlinkVsModbusSerial, 2), '> 1', tp.goals.vsModbusSerial.met],
    ['modbus-throughput', 'CPU per poll fieldlink / modbus-serial', c.fmt(tp.ratios.cpuFieldlinkVsModbusSerial, 2), '< 1', tp.goals.cpu.met],
    ['wire-efficiency', 'fieldlink / wire limit (9600 baud)', c.pct(we.share), '≥ 95 %', we.goal.met],
    ['m307-log', `readLog ${c.fmt(ml.fieldlinkMs, 2)} ms / bound ${c.fmt(ml.boundMs, 3)} ms`, `${c.fmt(ml.ratio, 1)}×`, '≤ 1.5×', ml.goal.met],
  ];
  if (sc) {
    for (const r of sc.results) {
      const g = sc.goals.find((x) => x.devices === r.devices);
      rows.push(['scale', `${r.devices} devices: event-loop lag p99`, `${c.fmt(r.eld.p99, 2)} ms`, '< 20 ms', g.lag]);
      rows.push(['scale', `${r.devices} devices: fs.readFile p50/p90 load vs idle`, `${c.fmt(r.fsLoad.p50, 2)}/${c.fmt(r.fsLoad.p90, 2)} vs ${c.fmt(r.fsIdle.p50, 2)}/${c.fmt(r.fsIdle.p90, 2)} ms`, 'unchanged', g.fs]);
      rows.push(['scale', `${r.devices} devices: RSS per device`, `${c.fmt(r.rssPerDeviceKB, 1)} KB`, '< 64 KB', g.memory]);
    }
    if (sc.marginalKBPerDevice !== null) {
      rows.push(['scale', 'marginal RSS per device (slope over sizes)', `${c.fmt(sc.marginalKBPerDevice, 1)} KB`, '< 64 KB', sc.marginalKBPerDevice < 64]);
    }
  }
  console.log('\nSummary');
  console.log(c.table(['bench', 'what', 'result', 'goal', 'met'], rows.map((r) => [...r.slice(0, 4), r[4] ? 'yes' : 'NO'])));
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ facts, throughput: tp, wire: we, m307Log: ml, scale: sc }, null, 2));
}

main().catch((err) => {
  console.error(err.stack || err);
  process.exit(1);
});
