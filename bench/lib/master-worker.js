'use strict';
// One Node Modbus master in its own process (so that one library's modules, threads and
// heap do not weigh on the other's numbers). Used by modbus-throughput.js and
// wire-efficiency.js:
//
//   node bench/lib/master-worker.js --master fieldlink|modbus-serial --path P
//        [--polls N | --seconds S] [--warmup W] [--inter-frame-delay MS] [--profile-threads]
//
// Polls readInputRegisters(unit 1, address 1, count 2) in a loop, one request at a time, and
// prints one JSON line. CPU is process.cpuUsage() (getrusage RUSAGE_SELF: every thread of
// the process, so fieldlink's engine thread and libuv's threads are included).

const path = require('node:path');
const c = require('./common');

const args = c.parseArgs(process.argv.slice(2), { polls: 5000, warmup: 200, seconds: 0 });

async function openFieldlink(p) {
  const { ModbusBus } = require(path.join(c.ROOT, 'lib', 'modbus', 'bus'));
  const opts = {};
  if (args.interFrameDelay !== undefined) opts.interFrameDelay = Number(args.interFrameDelay);
  const bus = await ModbusBus.open(p, opts);
  return {
    version: require(path.join(c.ROOT, 'package.json')).version,
    settings: { ...bus.options },
    poll: () => bus.readInputRegisters(1, 1, 2),
    extra: async () => ({ latency: (await bus.stats()).latency, engine: require(path.join(c.ROOT, 'lib', 'native')).engineOptions() }),
    close: () => bus.close(),
  };
}

async function openModbusSerial(p) {
  const ModbusRTU = require('modbus-serial');
  const client = new ModbusRTU();
  await client.connectRTUBuffered(p, { baudRate: 9600 });
  client.setID(1);
  client.setTimeout(500);
  return {
    version: require('modbus-serial/package.json').version,
    settings: { baudRate: 9600, timeout: 500, port: 'RTUBufferedPort (connectRTUBuffered), no inter-frame delay' },
    poll: async () => (await client.readInputRegisters(1, 2)).data,
    extra: async () => ({}),
    close: () => new Promise((r) => client.close(() => r())),
  };
}

async function main() {
  const master = args.master;
  const p = args.path;
  if (!p || !['fieldlink', 'modbus-serial'].includes(master)) {
    throw new Error('usage: master-worker.js --master fieldlink|modbus-serial --path P [--polls N | --seconds S]');
  }
  const m = master === 'fieldlink' ? await openFieldlink(p) : await openModbusSerial(p);
  let warmupErrors = 0;
  for (let i = 0; i < args.warmup; i++) {
    try {
      await m.poll();
    } catch {
      warmupErrors++;
    }
  }
  let polls = 0;
  let errors = 0;
  let lastError = null;
  const seconds = Number(args.seconds) || 0;
  const limitNs = BigInt(Math.round(seconds * 1e9));
  const threads0 = c.threadCpu();
  const busy0 = c.machineBusySeconds();
  const ru0 = process.resourceUsage();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let t = t0;
  for (;;) {
    if (seconds > 0 ? t - t0 >= limitNs : polls >= args.polls) break;
    try {
      const r = await m.poll();
      if (r[0] === 305 && r[1] === 546) polls++;
      else errors++;
    } catch (err) {
      errors++;
      lastError = `${err.code || ''} ${err.message}`;
    }
    t = process.hrtime.bigint();
  }
  const elapsed = Number(t - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const ru1 = process.resourceUsage();
  const switches = ru1.voluntaryContextSwitches + ru1.involuntaryContextSwitches -
    ru0.voluntaryContextSwitches - ru0.involuntaryContextSwitches;
  const machineBusySeconds = c.machineBusySeconds() - busy0;
  const threads = c.threadCpuDelta(threads0, c.threadCpu());
  const extra = await m.extra();
  await m.close();
  const cpuUs = cpu.user + cpu.system;
  const out = {
    master,
    version: m.version,
    settings: m.settings,
    polls,
    errors,
    warmupErrors,
    lastError,
    seconds: elapsed,
    pollsPerSec: polls / elapsed,
    cpuUs,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    cpuUsPerPoll: polls ? cpuUs / polls : null,
    machineBusySeconds,
    contextSwitchesPerPoll: polls ? switches / polls : null,
    threadsCpuSeconds: threads,
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(1);
  },
);
