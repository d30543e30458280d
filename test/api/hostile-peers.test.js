'use strict';
// Hostile peers over the real transports: a device (or something pretending to be one) that
// never stops talking must cost bounded memory and time, and the JS thread must keep running.
// The M307 peer runs in its own process (test/support/hostile-m307.js), so it keeps pouring
// at full speed whatever this process does. Each case watches RSS and event-loop lag while
// the call runs and checks them against a bound; the figures are printed for the record.
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawn } = require('node:child_process');

const { M307Client, ModbusBus, errors } = require('../..');

const PEER = path.join(__dirname, '..', 'support', 'hostile-m307.js');
// Bounds: the unbounded code grew to gigabytes and stopped every timer; a bounded one stays
// within a few MB of where it started. Generous, so the suite passes under CPU stress.
const RSS_BOUND_MB = 120;
const LAG_BOUND_MS = 1000;

function startPeer(mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PEER, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.stdout.once('data', (d) => resolve({ child, port: Number(String(d).trim()) }));
  });
}

function stopPeer(peer) {
  return new Promise((resolve) => {
    if (!peer || peer.child.exitCode !== null) return resolve();
    peer.child.once('exit', resolve);
    peer.child.kill();
  });
}

// Samples RSS and timer lateness every 10 ms while `work` runs.
async function watch(work) {
  if (global.gc) global.gc();
  const rss0 = process.memoryUsage.rss();
  let maxRss = rss0;
  let maxLag = 0;
  let ticks = 0;
  let last = process.hrtime.bigint();
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    maxLag = Math.max(maxLag, Number(now - last) / 1e6 - 10);
    last = now;
    ticks += 1;
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
  }, 10);
  const t0 = Date.now();
  let result;
  let error;
  try {
    result = await work();
  } catch (e) {
    error = e;
  }
  clearInterval(timer);
  const now = process.hrtime.bigint();
  maxLag = Math.max(maxLag, Number(now - last) / 1e6 - 10);
  const m = { ms: Date.now() - t0, rssGrowthMB: (maxRss - rss0) / 1048576, maxLagMs: maxLag, ticks };
  console.log(`      measured: ${m.ms} ms, RSS +${m.rssGrowthMB.toFixed(1)} MB, max event-loop lag ${m.maxLagMs.toFixed(0)} ms, ${ticks} timer ticks`);
  return { result, error, m };
}

function bounded(m) {
  assert.ok(m.rssGrowthMB < RSS_BOUND_MB, `RSS grew by ${m.rssGrowthMB.toFixed(0)} MB`);
  assert.ok(m.maxLagMs < LAG_BOUND_MS, `a timer fired ${m.maxLagMs.toFixed(0)} ms late`);
}

describe('hostile peers: bounded receive paths', function () {
  this.timeout(30000);
  let peer;
  let client;
  afterEach(async function () {
    if (client) await client.close();
    client = null;
    await stopPeer(peer);
    peer = null;
  });

  it('M307: endless log records without THE-END -> ProtocolError at the 4,000-record bound, timers on time', async function () {
    peer = await startPeer('records');
    client = await M307Client.connect('127.0.0.1', { port: peer.port, timeout: 2000 });
    let progress = 0;
    const { error, m } = await watch(() => client.readLog({ onProgress: () => { progress += 1; } }));
    assert.ok(error instanceof errors.ProtocolError, `expected ProtocolError, got ${error}`);
    assert.strictEqual(error.code, 'EFRAME');
    assert.match(error.message, /60067 bytes/);
    assert.match(error.message, /no THE-END/);
    assert.ok(progress > 0, 'no progress callback ran while the stream arrived');
    bounded(m);
    // The connection was reset and works again.
    const s = await client.readStatus();
    assert.ok(s);
  });

  it('M307: random bytes from the moment of connect -> connect rejects after 61 bytes, not megabytes', async function () {
    peer = await startPeer('random');
    // A deadline far above what the bound takes, so a loaded machine cannot blur the two.
    const { error, m } = await watch(() => M307Client.connect('127.0.0.1', { port: peer.port, timeout: 10000 }));
    assert.ok(error instanceof errors.ProtocolError, `expected ProtocolError, got ${error}`);
    assert.strictEqual(error.code, 'EFRAME');
    assert.match(error.message, /ran past the 60 bytes/);
    assert.match(error.message, /after 61 bytes/);
    assert.ok(m.ms < 5000, `took ${m.ms} ms: it waited for the deadline instead of stopping at the bound`);
    bounded(m);
  });

  it('M307: a status reply one byte too long is rejected', async function () {
    peer = await startPeer('long-status');
    const { error, m } = await watch(() => M307Client.connect('127.0.0.1', { port: peer.port, timeout: 2000 }));
    assert.ok(error instanceof errors.ProtocolError, `expected ProtocolError, got ${error}`);
    assert.match(error.message, /reply to read status ran past the 60 bytes.*after 61 bytes \(starts 3F CD DC 00/);
    bounded(m);
  });

  it('M307: a log one record longer than the device holds is rejected; the longest legal log passes', async function () {
    peer = await startPeer('log-4001');
    client = await M307Client.connect('127.0.0.1', { port: peer.port, timeout: 2000 });
    const { error, m } = await watch(() => client.readLog());
    assert.ok(error instanceof errors.ProtocolError, `expected ProtocolError, got ${error}`);
    assert.match(error.message, /4000 records/);
    bounded(m);
    await client.close();
    client = null;
    await stopPeer(peer);
    peer = await startPeer('log-4000');
    client = await M307Client.connect('127.0.0.1', { port: peer.port, timeout: 2000 });
    let progress = 0;
    const legal = await watch(() => client.readLog({ onProgress: () => { progress += 1; } }));
    assert.ifError(legal.error);
    assert.strictEqual(legal.result.length, 4000);
    assert.ok(progress > 0);
    bounded(legal.m);
  });

  it('M307: a log that drips one byte every 100 ms ends at logTimeout, not never', async function () {
    peer = await startPeer('drip');
    client = await M307Client.connect('127.0.0.1', { port: peer.port, timeout: 2000, logTimeout: 1500 });
    const { error, m } = await watch(() => client.readLog());
    assert.ok(error instanceof errors.TimeoutError, `expected TimeoutError, got ${error}`);
    assert.strictEqual(error.code, 'ETIMEDOUT');
    assert.match(error.message, /1500 ms/);
    assert.ok(m.ms < 5000, `took ${m.ms} ms`);
    bounded(m);
  });

  it('M307: one byte every 100 ms from connect -> connect rejects at its timeout', async function () {
    peer = await startPeer('drip-connect');
    const { error, m } = await watch(() => M307Client.connect('127.0.0.1', { port: peer.port, timeout: 1000 }));
    assert.ok(error instanceof errors.FieldlinkError, `expected a FieldlinkError, got ${error}`);
    assert.ok(['EFRAME', 'ETIMEDOUT'].includes(error.code), error.message);
    assert.ok(m.ms < 4000, `took ${m.ms} ms`);
    bounded(m);
  });

  it('Modbus: a line flooded with noise stops reading at the frame bound (ECHECKSUM/EFRAME), timers on time', async function () {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hostile-'));
    const link = path.join(tmp, 'tty');
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'support', 'hostile-modbus.js'), link],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    peer = { child };
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const bus = await ModbusBus.open(link, { timeout: 1000, retries: 0, offlineAfter: 0 });
    try {
      const { error, m } = await watch(() => bus.readInputRegisters(1, 1, 2));
      assert.ok(error instanceof errors.ProtocolError, `expected ProtocolError, got ${error}`);
      assert.ok(['ECHECKSUM', 'EFRAME', 'EMISMATCH'].includes(error.code), error.message);
      assert.match(error.message, /stopped reading/);
      bounded(m);
      assert.ok((await bus.stats()).overflows >= 1);
    } finally {
      await bus.close();
    }
  });
});
