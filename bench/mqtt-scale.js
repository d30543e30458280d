'use strict';
// MQTT scale: N gateway processes (`fieldlink gateway`), each polling M simulated Modbus
// sensors at 1 Hz over RTU-over-TCP, all publishing into one Mosquitto (Debian's package, on a
// loopback port, started here). One mqtt.js subscriber (QoS 1, fieldlink/+/state) measures:
//   - end-to-end latency from the device's reply (the `t` the gateway stamps in the state JSON
//     the moment the read resolves) to the subscriber's message handler: p50 / p99 / max;
//   - messages lost: gaps in each device's `seq` during the window (QoS 1 end to end);
//   - each gateway's CPU (from /proc, user + system) and RSS, and Mosquitto's.
//
//   node bench/mqtt-scale.js [--gateways 20] [--devices 50] [--seconds 90] [--warmup 15]
//        [--sim-procs 2] [--reading-topics 1|0] [--json FILE]
//
// The simulators run in --sim-procs child processes (bench/lib/mqtt-scale-sims.js), each
// serving its share of the gateways' buses. Not a CI test: it needs minutes and the machine
// to itself.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const c = require('./lib/common');
const { startBroker } = require('../test/support/mosquitto');

const args = c.parseArgs(process.argv.slice(2), { gateways: 20, devices: 50, seconds: 90, warmup: 15, simProcs: 2, readingTopics: 1, json: null });
const now = () => performance.timeOrigin + performance.now();

function rssMB(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function startSims(count, busesPerProc, devices) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'lib', 'mqtt-scale-sims.js'), String(busesPerProc), String(devices)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /^PORTS (.*)$/m.exec(buf);
      if (m) resolve({ child, ports: JSON.parse(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`simulator process exited (${code})`)));
  });
}

async function main() {
  const facts = c.machineFacts();
  console.log(`machine: ${c.formatFacts(facts)}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-mqtt-scale-'));
  const broker = await startBroker();
  const perProc = Math.ceil(args.gateways / args.simProcs);
  const sims = [];
  for (let i = 0; i < args.simProcs; i++) sims.push(await startSims(i, Math.min(perProc, args.gateways - i * perProc), args.devices));
  const ports = sims.flatMap((s) => s.ports);

  // The subscriber first, so nothing is missed at the start.
  const mqtt = require('mqtt');
  const sub = await mqtt.connectAsync(broker.url, { clientId: 'bench-sub', clean: true });
  const stats = new Map(); // device -> { first, last, got: Set? } (seq)
  let measuring = false;
  const latencies = [];
  let received = 0;
  let duplicates = 0;
  sub.on('message', (topic, payload) => {
    const at = now();
    const body = JSON.parse(payload);
    const id = topic.split('/')[1];
    let s = stats.get(id);
    if (!s) stats.set(id, (s = { first: null, last: null, count: 0, maxSeq: 0 }));
    if (!measuring) {
      s.maxSeq = Math.max(s.maxSeq, body.seq);
      return;
    }
    received += 1;
    if (body.seq <= s.maxSeq) {
      duplicates += 1;
      return;
    }
    if (s.first === null) s.first = body.seq;
    s.last = body.seq;
    s.maxSeq = body.seq;
    s.count += 1;
    latencies.push(at - body.t);
  });
  await sub.subscribeAsync('fieldlink/+/state', { qos: 1 });

  const gws = [];
  for (let g = 0; g < args.gateways; g++) {
    const file = path.join(tmp, `gw${g}.yaml`);
    const sensors = Array.from({ length: args.devices }, (_, j) => `      - { id: g${g}s${j + 1}, unit: ${j + 1} }`).join('\n');
    fs.writeFileSync(file, `gateway:\n  id: gw${g}\n  logLevel: warn\nmqtt:\n  url: ${broker.url}\n  qos: 1\n  readingTopics: ${args.readingTopics ? 'true' : 'false'}\nmodbus:\n  - port: tcp://127.0.0.1:${ports[g]}\n    timeout: 500\n    interval: 1\n    sensors:\n${sensors}\n`);
    const child = spawn(process.execPath, [path.join(c.ROOT, 'bin', 'fieldlink.js'), 'gateway', '--config', file], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FIELDLINK_SPIN_US: '0' } });
    let log = '';
    child.stdout.on('data', (d) => { log = (log + d).slice(-4000); });
    gws.push({ g, child, log: () => log });
  }
  const total = args.gateways * args.devices;
  console.log(`${args.gateways} gateways x ${args.devices} devices = ${total} devices at 1 Hz; warm-up ${args.warmup} s, window ${args.seconds} s`);
  await c.sleep(args.warmup * 1000);
  const seenAll = stats.size;
  console.log(`warm-up done: ${seenAll}/${total} devices publishing`);

  const cpu0 = gws.map((gw) => c.procCpuSeconds(gw.child.pid));
  const brokerPid = broker.pid;
  const bcpu0 = brokerPid ? c.procCpuSeconds(brokerPid) : NaN;
  const probe = c.loadProbe();
  measuring = true;
  const t0 = now();
  await c.sleep(args.seconds * 1000);
  measuring = false;
  const elapsed = (now() - t0) / 1000;
  const cpu1 = gws.map((gw) => c.procCpuSeconds(gw.child.pid));
  const rss = gws.map((gw) => rssMB(gw.child.pid));
  const bcpu1 = brokerPid ? c.procCpuSeconds(brokerPid) : NaN;
  const bRss = brokerPid ? rssMB(brokerPid) : NaN;
  const gwCpu = cpu1.map((x, i) => (x - cpu0[i]) / elapsed);
  const own = cpu1.reduce((a, x, i) => a + x - cpu0[i], 0) + (bcpu1 - bcpu0);
  const load = probe(own);

  // Lost = readings a device published in the window (by seq) that never arrived.
  let expected = 0;
  let got = 0;
  for (const s of stats.values()) {
    if (s.first === null) continue;
    expected += s.last - s.first + 1;
    got += s.count;
  }
  latencies.sort((a, b) => a - b);
  const result = {
    machine: facts,
    gateways: args.gateways,
    devicesPerGateway: args.devices,
    readingTopics: !!args.readingTopics,
    seconds: elapsed,
    devicesSeen: stats.size,
    statesReceived: received,
    statesPerSecond: received / elapsed,
    lost: expected - got,
    duplicates,
    latencyMs: { p50: c.percentile(latencies, 50), p90: c.percentile(latencies, 90), p99: c.percentile(latencies, 99), max: latencies[latencies.length - 1] },
    gatewayCpuPercent: gwCpu.map((x) => Number((100 * x).toFixed(1))),
    gatewayRssMB: rss.map((x) => Number(x.toFixed(1))),
    brokerCpuPercent: Number((100 * (bcpu1 - bcpu0) / elapsed).toFixed(1)),
    brokerRssMB: Number(bRss.toFixed(1)),
    machineCores: load.machineCores,
    othersCores: load.othersCores,
  };
  const sum = (xs) => xs.reduce((a, x) => a + x, 0);
  console.log(`states received: ${received} in ${c.fmt(elapsed)} s (${c.fmt(result.statesPerSecond)}/s; expected ${total}/s); lost ${result.lost} of ${expected}; duplicates ${duplicates}`);
  console.log(`e2e latency device reply -> subscriber: p50 ${c.fmt(result.latencyMs.p50, 2)} ms, p90 ${c.fmt(result.latencyMs.p90, 2)} ms, p99 ${c.fmt(result.latencyMs.p99, 2)} ms, max ${c.fmt(result.latencyMs.max, 1)} ms`);
  console.log(`gateway CPU %: min ${c.fmt(Math.min(...result.gatewayCpuPercent))} median ${c.fmt(c.median(result.gatewayCpuPercent))} max ${c.fmt(Math.max(...result.gatewayCpuPercent))} (sum ${c.fmt(sum(result.gatewayCpuPercent))}); each: ${result.gatewayCpuPercent.join(' ')}`);
  console.log(`gateway RSS MB: min ${c.fmt(Math.min(...result.gatewayRssMB))} median ${c.fmt(c.median(result.gatewayRssMB))} max ${c.fmt(Math.max(...result.gatewayRssMB))}; each: ${result.gatewayRssMB.join(' ')}`);
  console.log(`mosquitto: CPU ${c.fmt(result.brokerCpuPercent)} %, RSS ${c.fmt(result.brokerRssMB)} MB; machine busy ${c.fmt(load.machineCores, 2)} cores (others ${c.fmt(load.othersCores, 2)})`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(result, null, 2));

  await Promise.all(gws.map((gw) => new Promise((resolve) => {
    gw.child.once('exit', resolve);
    gw.child.kill('SIGTERM');
  })));
  await sub.endAsync();
  for (const s of sims) s.child.kill('SIGTERM');
  await broker.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
