'use strict';
// M307 log download: 4,000 records (60,007 bytes) from lib/sim/m307 over loopback TCP with
// M307Client.readLog(), against the bound "round trips × loopback RTT + transfer".
//
//   node bench/m307-log.js [--records 4000] [--n 10] [--blocks 3] [--json FILE]
//
// The servers (simulator, echo, blast) run in a child process (bench/lib/m307-servers.js).
// Measured here, in this order, in each block:
//   rtt       60-byte ping-pong with the echo server (setNoDelay), median of 2,000
//   transfer  send 60 bytes to the blast server, receive records × 15 + 7 bytes written at
//             once: 1 round trip + the transfer, with no simulator work. transfer = blast − rtt
//   raw       a plain net.Socket client against the simulator: the 60-byte read-log request,
//             then read until THE-END (what the simulator itself costs on top of the wire)
//   fieldlink M307Client.connect() once (it reads the status: the temperature resolution),
//             then readLog() (resetPointer: true) timed from the call until the promise
//             resolves with 4,000 decoded records
// bound = 2 × rtt + transfer (docs/protocols/m307.md §9: status at connect; readLog = 1 request +
// the stream; 2 round trips as the brief counts them, so the bound is generous by one RTT).

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const c = require('./lib/common');

const LOG_END = Buffer.from('THE-END', 'ascii');

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** Sends `req` and resolves once `want` bytes came back; returns the elapsed ms. */
function exchange(sock, req, want, check) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let have = 0;
    const t0 = process.hrtime.bigint();
    const onData = (d) => {
      chunks.push(d);
      have += d.length;
      if (have >= want) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        sock.removeListener('data', onData);
        sock.removeListener('error', reject);
        if (check) {
          const all = Buffer.concat(chunks);
          if (!check(all)) {
            reject(new Error(`unexpected reply (${all.length} bytes)`));
            return;
          }
        }
        resolve(ms);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(req);
  });
}

async function measureRtt(port, n) {
  const s = await connect(port);
  const req = Buffer.alloc(60, 0x3f);
  for (let i = 0; i < 200; i++) await exchange(s, req, 60);
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await exchange(s, req, 60));
  s.destroy();
  xs.sort((a, b) => a - b);
  return { median: c.median(xs), p10: c.percentile(xs, 10), p90: c.percentile(xs, 90) };
}

async function measureBlast(port, bytes, n) {
  const s = await connect(port);
  const req = Buffer.alloc(60);
  for (let i = 0; i < 3; i++) await exchange(s, req, bytes);
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await exchange(s, req, bytes));
  s.destroy();
  return xs;
}

function logRequest() {
  const b = Buffer.alloc(60);
  b[0] = 0xde; b[1] = 0xca; b[2] = 0xde; b[3] = 0x04; b[4] = 0x01; // reset the read pointer
  return b;
}

let lastRawLog = null;

async function measureRaw(port, bytes, n) {
  const s = await connect(port);
  const req = logRequest();
  const ok = (all) => {
    lastRawLog = all;
    return all.length === bytes && all.subarray(all.length - 7).equals(LOG_END);
  };
  for (let i = 0; i < 2; i++) await exchange(s, req, bytes, ok);
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await exchange(s, req, bytes, ok));
  await new Promise((r) => { s.once('close', r); s.end(); });
  return xs;
}

async function measureFieldlink(port, records, n) {
  const { M307Client } = require(path.join(c.ROOT, 'lib', 'm307', 'client'));
  const client = await M307Client.connect('127.0.0.1', { port });
  const xs = [];
  const cpu = [];
  let requests = 0;
  for (let i = 0; i < n + 2; i++) {
    const st0 = await client.stats();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const recs = await client.readLog();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cu = process.cpuUsage(c0);
    const st1 = await client.stats();
    if (recs.length !== records) throw new Error(`readLog returned ${recs.length} records, expected ${records}`);
    if (i >= 2) { // two warm-up downloads
      xs.push(ms);
      cpu.push((cu.user + cu.system) / 1000);
      requests = st1.requests - st0.requests;
    }
  }
  // Breakdown: the same download through the addon with a no-op batch callback (transport,
  // native decoding and the N-API objects, without lib/m307's per-record JS objects).
  // The decoded numbers are copied out once (they are lent only for the callback) for the
  // objects-only breakdown below.
  const nativeOnly = [];
  let kept = null;
  const faults0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < n; i++) {
    let got = 0;
    const batches = [];
    const t0 = process.hrtime.bigint();
    await client._native.readLog(true, client._resolution, (numbers, count) => {
      got += count;
      if (!kept) batches.push([Float64Array.from(numbers), count]);
    });
    nativeOnly.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (got !== records) throw new Error(`native readLog gave ${got} records`);
    if (!kept) kept = batches;
  }
  const faultsPerDownload = (process.resourceUsage().minorPageFault - faults0) / n;
  await client.close();
  return { times: xs, cpuMs: cpu, requestsPerDownload: requests, nativeOnly, faultsPerDownload, batches: kept };
}

// lib/m307's share: the 4,000 record objects (a Date each) built from numbers already decoded,
// the way readLog() builds them, with the previous result still held (as a caller would).
function objectCosts(batches, n) {
  const { _localClock, _logRecordFromNumbers, _LOG_FIELDS } = require(path.join(c.ROOT, 'lib', 'm307', 'client'));
  const build = () => {
    const clock = _localClock();
    const out = [];
    for (const [a, count] of batches) for (let i = 0; i < count; i++) out.push(_logRecordFromNumbers(a, i * _LOG_FIELDS, clock));
    return out;
  };
  let held = build();
  for (let i = 0; i < 5; i++) held = build();
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    held = build();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (!held.length) throw new Error('no records built');
  xs.sort((a, b) => a - b);
  return { medianMs: c.median(xs), p90Ms: c.percentile(xs, 90) };
}

// What turning the 60,007 bytes into records costs without the wire: the addon's decoder
// (one N-API object per record, as readLog builds them) and, for scale, a plain JS decoder
// that builds the same shape lib/m307 returns (an estimate of a Buffer-per-batch design).
function decodeCosts(bytes, records, n) {
  const { m307 } = require(path.join(c.ROOT, 'lib', 'm307'));
  const bcd = (b) => (b >> 4) * 10 + (b & 15);
  const temp = (x) => (x === 0x7fff ? null : x / 10);
  const jsDecode = (buf) => {
    const out = new Array(records);
    for (let i = 0; i < records; i++) {
      const o = i * 15;
      const io = buf[o + 14];
      out[i] = {
        datetime: new Date(2000 + bcd(buf[o + 5]), bcd(buf[o + 4]) - 1, bcd(buf[o + 3]), bcd(buf[o + 1] & 0x1f), bcd(buf[o])),
        temp1: temp(buf.readInt16BE(o + 6)),
        temp2: temp(buf.readInt16BE(o + 8)),
        internalTemp: temp(buf.readInt16BE(o + 10)),
        internalHumidity: buf.readInt16BE(o + 12) / 10,
        door1State: io & 1 ? 'closed' : 'open',
        door2State: io & 2 ? 'closed' : 'open',
        powerStatus: !!(io & 4),
        flags: io,
      };
    }
    return out;
  };
  const napiDecode = (buf) => {
    const out = new Array(records);
    for (let i = 0; i < records; i++) out[i] = m307.decodeLogRecord(buf.subarray(i * 15, i * 15 + 15), 0.1);
    return out;
  };
  const time = (f) => {
    for (let i = 0; i < 3; i++) f(bytes);
    const xs = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      f(bytes);
      xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return c.median(xs);
  };
  return { napiDecodeMs: time(napiDecode), jsDecodeMs: time(jsDecode) };
}

async function run(opts) {
  const facts = c.machineFacts();
  const servers = await c.startChild(process.execPath, [path.join(__dirname, 'lib', 'm307-servers.js'), '--records', String(opts.records)]);
  const ports = JSON.parse(servers.match[1]);
  const bytes = ports.logCount * 15 + 7;
  const out = { rtt: [], blast: [], raw: [], fieldlink: [], fieldlinkCpuMs: [], nativeOnly: [], faults: [], requestsPerDownload: null };
  let batches = null;
  try {
    for (let b = 0; b < opts.blocks; b++) {
      const rtt = await measureRtt(ports.echo, 2000);
      out.rtt.push(rtt.median);
      out.blast.push(...(await measureBlast(ports.blast, ports.blastBytes, opts.n)));
      // Alternate which client goes first (the simulator serves one client at a time).
      const order = b % 2 ? ['fieldlink', 'raw'] : ['raw', 'fieldlink'];
      for (const who of order) {
        if (who === 'raw') {
          out.raw.push(...(await measureRaw(ports.m307, bytes, opts.n)));
        } else {
          const f = await measureFieldlink(ports.m307, ports.logCount, opts.n);
          out.fieldlink.push(...f.times);
          out.fieldlinkCpuMs.push(...f.cpuMs);
          out.requestsPerDownload = f.requestsPerDownload;
          out.nativeOnly.push(...f.nativeOnly);
          out.faults.push(f.faultsPerDownload);
          batches = batches || f.batches;
        }
        await c.sleep(100); // let the simulator see the previous client go
      }
      if (!opts.quiet) {
        process.stderr.write(`  block ${b + 1}: rtt ${c.fmt(rtt.median * 1000, 0)} µs, blast ${c.fmt(c.median(out.blast), 3)} ms, ` +
          `raw ${c.fmt(c.median(out.raw), 3)} ms, fieldlink ${c.fmt(c.median(out.fieldlink), 3)} ms\n`);
      }
    }
  } finally {
    await servers.stop();
  }
  const rtt = c.median(out.rtt);
  const blast = c.median(out.blast);
  const transfer = Math.max(0, blast - rtt);
  const bound = 2 * rtt + transfer;
  const fieldlink = c.median(out.fieldlink);
  const raw = c.median(out.raw);
  const ratio = fieldlink / bound;
  const decode = decodeCosts(lastRawLog, ports.logCount, 20);
  const objects = objectCosts(batches, 100);
  return {
    bench: 'm307-log',
    opts,
    facts,
    records: ports.logCount,
    bytes,
    rttMs: rtt,
    blastMs: blast,
    transferMs: transfer,
    boundMs: bound,
    rawMs: raw,
    fieldlinkMs: fieldlink,
    fieldlinkMinMs: Math.min(...out.fieldlink),
    fieldlinkMaxMs: Math.max(...out.fieldlink),
    fieldlinkCpuMs: c.median(out.fieldlinkCpuMs),
    requestsPerDownload: out.requestsPerDownload,
    nativeOnlyMs: c.median(out.nativeOnly),
    nativeOnlyPageFaults: c.median(out.faults),
    objectsMs: objects.medianMs,
    objectsP90Ms: objects.p90Ms,
    napiDecodeMs: decode.napiDecodeMs,
    jsDecodeMs: decode.jsDecodeMs,
    ratio,
    ratioVsRaw: fieldlink / raw,
    goal: { goal: '≤ 1.5×', met: ratio <= 1.5 },
    samples: out,
  };
}

function report(r) {
  const lines = [];
  lines.push(`M307 log download: ${r.records} records (${r.bytes} bytes) over loopback TCP; ` +
    `${r.opts.blocks} blocks × ${r.opts.n} downloads, medians`);
  lines.push(c.formatFacts(r.facts));
  lines.push(c.table(['measurement', 'ms'], [
    ['loopback RTT (60-byte ping-pong, Node ↔ Node)', c.fmt(r.rttMs, 3)],
    [`1 request + ${r.bytes} bytes from a plain server`, c.fmt(r.blastMs, 3)],
    ['transfer (= that − RTT)', c.fmt(r.transferMs, 3)],
    ['bound = 2 × RTT + transfer', c.fmt(r.boundMs, 3)],
    ['plain net.Socket client against the simulator', c.fmt(r.rawMs, 3)],
    [`fieldlink M307Client.readLog() (min ${c.fmt(r.fieldlinkMinMs, 2)}, max ${c.fmt(r.fieldlinkMaxMs, 2)})`, c.fmt(r.fieldlinkMs, 3)],
    ['fieldlink CPU during readLog (all threads)', c.fmt(r.fieldlinkCpuMs, 3)],
    ['breakdown: addon readLog with a no-op batch callback (no lib/m307 objects)', c.fmt(r.nativeOnlyMs, 3)],
    [`  minor page faults per such download`, c.fmt(r.nativeOnlyPageFaults, 1)],
    [`breakdown: lib/m307 building the ${r.records} record objects from decoded numbers (no wire; p90 ${c.fmt(r.objectsP90Ms, 3)})`, c.fmt(r.objectsMs, 3)],
    [`breakdown: addon decodeLogRecord × ${r.records} (N-API objects, no wire)`, c.fmt(r.napiDecodeMs, 3)],
    [`reference: plain JS decoder × ${r.records}, same record shape (no wire)`, c.fmt(r.jsDecodeMs, 3)],
  ]));
  lines.push(`requests sent by one readLog(): ${r.requestsPerDownload}`);
  lines.push(`fieldlink / bound = ${c.fmt(r.ratio, 2)}× (goal ${r.goal.goal}: ${r.goal.met ? 'met' : 'MISSED'}); ` +
    `fieldlink / plain client on the same simulator = ${c.fmt(r.ratioVsRaw, 2)}×`);
  return lines.join('\n');
}

if (require.main === module) {
  const opts = c.parseArgs(process.argv.slice(2), { records: 4000, n: 10, blocks: 3 });
  run(opts).then((res) => {
    console.log(report(res));
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(res, null, 2));
  }, (err) => {
    console.error(err.stack || err);
    process.exit(1);
  });
}

module.exports = { run, report };
