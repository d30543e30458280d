'use strict';
// Soak: polls a Modbus bus, an M307 and a MATE hub (lib/sim, in a child process) for a long
// time and reports memory growth. Not part of npm run bench (it takes an hour by default).
//
//   node bench/soak.js [--duration 1h|30m|90s|3600] [--warmup 10%|300] [--sample 5] [--gc-every 60] [--json FILE]
//
// Load (one client of each kind, as a Node-RED flow would keep them):
//   Modbus  readInputRegisters(1, 1, 2) and (2, 1, 2) every 200 ms; sensor(1).read() every 10 s
//   M307    readStatus() every 1 s; getLogInfo() every 60 s; readLog() (4,000 records) every 5 min
//   MATE    MX, FX and FLEXnet DC getStatus() every 1 s
// RSS is sampled every --sample s. Growth = RSS at the end / RSS at the end of the warm-up
// (median of 3 samples each) − 1; the least-squares slope over the samples after the warm-up
// is printed too. Goal: RSS growth < 2 %.
// Every --gc-every s (default 60; 0: never) a full GC runs and RSS, V8's committed heap and
// the live heap are sampled right after it, and compared the same way. Raw RSS also follows
// V8's old-generation sawtooth, which takes about half an hour to reach its steady height at
// this load; RSS after a full GC shows memory that is really held (a leak grows there).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setTimeout: sleep } = require('node:timers/promises');
const c = require('./lib/common');

function seconds(s, total) {
  const m = String(s).match(/^(\d+(?:\.\d+)?)(h|m|s|%)?$/);
  if (!m) throw new Error(`bad duration "${s}" (e.g. 1h, 30m, 90s, 3600, 10%)`);
  const x = Number(m[1]);
  switch (m[2]) {
    case 'h': return x * 3600;
    case 'm': return x * 60;
    case '%': return (x / 100) * total;
    default: return x;
  }
}

function slopePerHour(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mx) * (p.rss - my);
    den += (p.t - mx) ** 2;
  }
  return (num / den) * 3600; // bytes per hour
}

function loop(everyMs, fn, state, name) {
  const ac = new AbortController();
  const done = (async () => {
    let next = Date.now();
    while (!ac.signal.aborted) {
      try {
        await fn();
        state[name].ok++;
      } catch (err) {
        state[name].errors++;
        state[name].last = `${err.code || ''} ${err.message}`;
      }
      next += everyMs;
      const now = Date.now();
      while (next < now) next += everyMs;
      try {
        await sleep(next - now, undefined, { signal: ac.signal });
      } catch {
        break; // stopped
      }
    }
  })();
  return async () => {
    ac.abort();
    await done;
  };
}

async function main(opts) {
  const duration = seconds(opts.duration, 0);
  const warmup = Math.max(10, seconds(opts.warmup, duration));
  const facts = c.machineFacts();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldlink-soak-'));
  const sims = await c.startChild(process.execPath, [path.join(__dirname, 'lib', 'soak-sims.js'), '--dir', dir], { timeoutMs: 30000 });
  const where = JSON.parse(sims.match[1]);
  const { ModbusBus } = require(path.join(c.ROOT, 'lib', 'modbus', 'bus'));
  const { M307Client } = require(path.join(c.ROOT, 'lib', 'm307', 'client'));
  const { MateBus } = require(path.join(c.ROOT, 'lib', 'mate', 'bus'));

  const bus = await ModbusBus.open(where.modbus);
  const sensor = bus.sensor(1, { profile: 'xy-md02' });
  const m307 = await M307Client.connect('127.0.0.1', { port: where.m307 });
  const mate = await MateBus.open(where.mate);
  const mx = await mate.find('mx');
  const fx = await mate.find('fx');
  const dc = await mate.find('dc');

  const state = {};
  for (const k of ['modbus', 'sensor', 'm307Status', 'm307Info', 'm307Log', 'mate']) state[k] = { ok: 0, errors: 0, last: null };
  const stops = [
    loop(200, async () => {
      await bus.readInputRegisters(1, 1, 2);
      await bus.readInputRegisters(2, 1, 2);
    }, state, 'modbus'),
    loop(10000, () => sensor.read(), state, 'sensor'),
    loop(1000, () => m307.readStatus(), state, 'm307Status'),
    loop(60000, () => m307.getLogInfo(), state, 'm307Info'),
    loop(300000, async () => {
      const r = await m307.readLog();
      if (r.length !== 4000) throw new Error(`readLog gave ${r.length} records`);
    }, state, 'm307Log'),
    loop(1000, async () => {
      await mx.getStatus();
      await fx.getStatus();
      await dc.getStatus();
    }, state, 'mate'),
  ];

  const t0 = Date.now();
  const samples = [];
  const gcSamples = [];
  let lastGc = 0;
  let heapAtWarmup = null;
  let lastPrint = 0;
  const cpu0 = process.cpuUsage();
  while ((Date.now() - t0) / 1000 < duration) {
    await c.sleep(opts.sample * 1000);
    const t = (Date.now() - t0) / 1000;
    const m = process.memoryUsage();
    samples.push({ t, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external });
    if (opts.gcEvery > 0 && t - lastGc >= opts.gcEvery) {
      lastGc = t;
      global.gc();
      const g = process.memoryUsage();
      gcSamples.push({ t, rss: g.rss, heapUsed: g.heapUsed, heapTotal: g.heapTotal, external: g.external, arrayBuffers: g.arrayBuffers });
    }
    if (heapAtWarmup === null && t >= warmup) {
      global.gc();
      heapAtWarmup = process.memoryUsage().heapUsed;
    }
    if (t - lastPrint >= 60 || t >= duration) {
      lastPrint = t;
      const errs = Object.entries(state).map(([k, v]) => `${k} ${v.ok}/${v.errors}`).join(', ');
      process.stderr.write(`  ${c.fmt(t / 60, 1)} min: RSS ${c.fmt(m.rss / 2 ** 20, 1)} MB, heap ${c.fmt(m.heapUsed / 2 ** 20, 1)} MB; ok/errors: ${errs}\n`);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(stops.map((s) => s()));
  global.gc();
  const heapEnd = process.memoryUsage().heapUsed;
  await Promise.all([bus.close(), m307.close(), mate.close()]);
  await sims.stop();
  fs.rmSync(dir, { recursive: true, force: true });

  const after = samples.filter((s) => s.t >= warmup);
  const med3 = (xs) => c.median(xs.map((s) => s.rss));
  const rssWarm = med3(after.slice(0, 3));
  const rssEnd = med3(after.slice(-3));
  const growth = rssEnd / rssWarm - 1;
  const gcAfter = gcSamples.filter((s) => s.t >= warmup);
  const gcWarm = gcAfter.length >= 6 ? gcAfter.slice(0, 3) : null;
  const gcEnd = gcAfter.length >= 6 ? gcAfter.slice(-3) : null;
  const medOf = (xs, k) => c.median(xs.map((x) => x[k]));
  const afterGc = gcWarm && {
    rssWarmupMB: medOf(gcWarm, 'rss') / 2 ** 20,
    rssEndMB: medOf(gcEnd, 'rss') / 2 ** 20,
    rssGrowth: medOf(gcEnd, 'rss') / medOf(gcWarm, 'rss') - 1,
    heapTotalWarmupMB: medOf(gcWarm, 'heapTotal') / 2 ** 20,
    heapTotalEndMB: medOf(gcEnd, 'heapTotal') / 2 ** 20,
    heapUsedWarmupMB: medOf(gcWarm, 'heapUsed') / 2 ** 20,
    heapUsedEndMB: medOf(gcEnd, 'heapUsed') / 2 ** 20,
    externalWarmupMB: medOf(gcWarm, 'external') / 2 ** 20,
    externalEndMB: medOf(gcEnd, 'external') / 2 ** 20,
    slopeMBPerHour: slopePerHour(gcAfter) / 2 ** 20,
  };
  const res = {
    bench: 'soak',
    facts,
    durationS: duration,
    warmupS: warmup,
    sampleS: opts.sample,
    rssWarmupMB: rssWarm / 2 ** 20,
    rssEndMB: rssEnd / 2 ** 20,
    rssGrowth: growth,
    rssSlopeMBPerHour: slopePerHour(after) / 2 ** 20,
    heapAfterGcWarmupMB: heapAtWarmup / 2 ** 20,
    heapAfterGcEndMB: heapEnd / 2 ** 20,
    cpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / duration,
    operations: state,
    goal: { goal: 'RSS growth < 2 %', met: growth < 0.02 },
    gcEveryS: opts.gcEvery,
    afterGc,
    samples,
    gcSamples,
  };
  return res;
}

function report(r) {
  const lines = [];
  lines.push(`Soak: ${c.fmt(r.durationS / 60, 1)} min (warm-up ${c.fmt(r.warmupS, 0)} s, RSS every ${r.sampleS} s); ${c.formatFacts(r.facts)}`);
  lines.push(c.table(['operation', 'ok', 'errors', 'last error'], Object.entries(r.operations).map(([k, v]) => [k, String(v.ok), String(v.errors), v.last || ''])));
  lines.push(`RSS ${c.fmt(r.rssWarmupMB, 2)} MB after warm-up -> ${c.fmt(r.rssEndMB, 2)} MB at the end: ${c.pct(r.rssGrowth, 2)} ` +
    `(goal < 2 %: ${r.goal.met ? 'met' : 'MISSED'}); slope ${c.fmt(r.rssSlopeMBPerHour, 2)} MB/h` +
    (r.durationS < 600 ? ' (a slope over less than 10 min is noise: one log download moves RSS by ~1 MB)' : ''));
  lines.push(`heap after full GC ${c.fmt(r.heapAfterGcWarmupMB, 2)} MB -> ${c.fmt(r.heapAfterGcEndMB, 2)} MB; process CPU ${c.fmt(r.cpuPercent, 1)} % of a core`);
  const g = r.afterGc;
  if (g) {
    lines.push(`right after a full GC (every ${r.gcEveryS} s; median of the first 3 after the warm-up vs the last 3): ` +
      `RSS ${c.fmt(g.rssWarmupMB, 2)} -> ${c.fmt(g.rssEndMB, 2)} MB: ${c.pct(g.rssGrowth, 2)} (goal < 2 %: ${g.rssGrowth < 0.02 ? 'met' : 'MISSED'}), ` +
      `slope ${c.fmt(g.slopeMBPerHour, 2)} MB/h; V8 committed ${c.fmt(g.heapTotalWarmupMB, 2)} -> ${c.fmt(g.heapTotalEndMB, 2)} MB, ` +
      `live ${c.fmt(g.heapUsedWarmupMB, 2)} -> ${c.fmt(g.heapUsedEndMB, 2)} MB, external ${c.fmt(g.externalWarmupMB, 2)} -> ${c.fmt(g.externalEndMB, 2)} MB`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const opts = c.parseArgs(process.argv.slice(2), { duration: '1h', warmup: '10%', sample: 5, gcEvery: 60 });
  if (!global.gc) {
    // Re-run with --expose-gc (heap after a full GC is part of the report).
    const child = spawn(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
    child.on('exit', (code) => process.exit(code ?? 1));
  } else {
    main(opts).then((res) => {
      console.log(report(res));
      if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(res, null, 2));
    }, (err) => {
      console.error(err.stack || err);
      process.exit(1);
    });
  }
}

module.exports = { report };
