'use strict';
// The load-and-read check of `npm run test:install` (scripts/test-install.sh): run with the
// installed package (require('fieldlink')), in a root that has no compiler. Through the public
// API it reads a simulated Modbus sensor over a pseudo-terminal, an M307 status over TCP
// (127.0.0.1, an ephemeral port) and scans a simulated MATE bus on a pseudo-terminal.
// Prints one line per check and a JSON summary; exits 1 on the first failure.
// FIELDLINK_SMOKE_TIMEOUT_MS scales the device timeouts (qemu-user runs ARM code 5-20x slower).
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const t0 = Date.now();
const fl = require('fieldlink');
const loadMs = Date.now() - t0;
const target = require('fieldlink/lib/native-target');
const modbusSim = require('fieldlink/lib/sim/modbus');
const m307Sim = require('fieldlink/lib/sim/m307');
const mateSim = require('fieldlink/lib/sim/mate');

const timeout = Number(process.env.FIELDLINK_SMOKE_TIMEOUT_MS || 300);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-smoke-'));

async function main() {
  const info = target.describe();
  const addonFile = Object.keys(require.cache).find((f) => f.endsWith('.node'));
  console.log(`loaded ${addonFile} in ${loadMs} ms on ${info.target} (glibc ${info.glibc}), Node.js ${process.version}`);
  // FIELDLINK_SMOKE_EXPECT=source: a root where the install fell back to a source build.
  const expected = process.env.FIELDLINK_SMOKE_EXPECT === 'source'
    ? path.join('build', 'Release', 'fieldlink.node')
    : path.join('prebuilds', info.target, 'fieldlink.node');
  assert.ok(addonFile.endsWith(expected), `expected ${expected}, got ${addonFile}`);

  // Modbus RTU sensor (XY-MD02 profile) on a pseudo-terminal.
  const sim = new modbusSim.ModbusSimulator({ units: [{ address: 1, temperature: 21.5, humidity: 48.2, drift: false }] });
  const served = await modbusSim.servePty(sim, { link: path.join(tmp, 'ttyModbus') });
  const bus = await fl.ModbusBus.open(served.link, { timeout, offlineAfter: 0 });
  const reading = await bus.sensor(1, { profile: 'xy-md02' }).read();
  await bus.close();
  await served.close();
  assert.strictEqual(reading.temperature, 21.5);
  assert.strictEqual(reading.humidity, 48.2);
  console.log(`modbus: unit 1 over ${served.slavePath}: ${reading.temperature} °C, ${reading.humidity} %RH`);

  // M307 Temperature Guard over TCP.
  const msim = new m307Sim.M307Simulator({ logRecords: 10 });
  msim.setReading('temp1', 4.2);
  msim.setDoor(1, 'open');
  const srv = await m307Sim.serveTcp(msim, { port: 0 });
  const m = await fl.M307Client.connect('127.0.0.1', { port: srv.port, timeout: Math.max(timeout, 2000) });
  const status = await m.readStatus();
  await m.close();
  await srv.close();
  if (msim.close) msim.close();
  assert.strictEqual(status.temperatureSensor1.reading, 4.2);
  assert.strictEqual(status.door1.state, 'open');
  console.log(`m307: status over tcp://127.0.0.1:${srv.port}: sensor 1 ${status.temperatureSensor1.reading} °C, door 1 ${status.door1.state}`);

  // Outback MATE bus scan on a pseudo-terminal (hub with MX, FX and FLEXnet DC).
  const asim = new mateSim.MateSimulator();
  const mserved = await mateSim.servePty(asim, { link: path.join(tmp, 'ttyMate') });
  const mate = await fl.MateBus.open(mserved.link, { timeout, retries: 0 }); // empty hub ports time out once each
  const scan = await mate.scan();
  await mate.close();
  await mserved.close();
  asim.close();
  const types = scan.map((d) => d.type);
  for (const t of ['mx', 'fx', 'dc']) assert.ok(types.includes(t), `scan found ${types.join(', ')}`);
  console.log(`mate: scan: ${scan.map((d) => `${d.port}:${d.type}`).join(' ')}`);

  console.log(JSON.stringify({ ok: true, target: info.target, node: process.version, loadMs, totalMs: Date.now() - t0 }));
}

main()
  .catch((err) => {
    console.error(`smoke: FAILED: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(tmp, { recursive: true, force: true }));
