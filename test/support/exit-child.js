'use strict';
// A user's script, run as a child process by test/runtime/exit.test.js on whichever Node
// runs the tests. It does one scenario against simulators served by the parent (their
// addresses come in FIELDLINK_EXIT_SIMS as JSON), prints "mark <ms>" (Date.now()) when its
// own work is done, and then must end by itself. The parent measures the time from the mark
// to the exit, against a plain Node script that does nothing.
//   node exit-child.js baseline | idle | open-idle | read-close | uncaught | workers | worker-alongside | worker-terminate
const fs = require('node:fs');
const path = require('node:path');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');

const root = path.join(__dirname, '..', '..');
const sims = JSON.parse(process.env.FIELDLINK_EXIT_SIMS || '{}');

const mark = (label = 'mark') => process.stdout.write(`${label} ${Date.now()}\n`);
const report = (obj) => process.stdout.write(`report ${JSON.stringify(obj)}\n`);

/** The engine threads alive in this process (the engine names its thread fl-engine). */
function engineThreads() {
  let n = 0;
  for (const t of fs.readdirSync('/proc/self/task')) {
    try {
      if (fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'fl-engine') n++;
    } catch {
      // the thread ended while we looked
    }
  }
  return n;
}

/** Open descriptors that are sockets or terminals (what a link holds). */
function linkFds() {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('socket:') || target.startsWith('/dev/pts/') || target === '/dev/ptmx') n++;
    } catch {
      // closed meanwhile (readdir's own fd)
    }
  }
  return n;
}

/** Opens all three families against the parent's simulators and reads each once. */
async function openAll(fl) {
  const bus = await fl.ModbusBus.open(sims.modbus, { timeout: 1000 });
  const reading = await bus.sensor(1).read();
  const m307 = await fl.M307Client.connect('127.0.0.1', { port: sims.m307, timeout: 2000 });
  const status = await m307.readStatus();
  const mate = await fl.MateBus.open(sims.mate, { timeout: 60, retries: 0 });
  const devices = await mate.scan();
  return { bus, m307, mate, reading, status, devices };
}

async function closeAll(links) {
  await links.bus.close();
  await links.m307.close();
  await links.mate.close();
}

function workerMain() {
  const fl = require(root);
  (async () => {
    if (workerData.mode === 'pending') {
      // A request that gets no answer for a minute (no unit 9 on that bus), and the worker is
      // terminated from outside while it waits.
      const bus = await fl.ModbusBus.open(workerData.link, { timeout: 60000, offlineAfter: 0 });
      const pending = bus.readInputRegisters(9, 1, 2);
      parentPort.postMessage('waiting');
      await pending;
      return;
    }
    const links = await openAll(fl);
    parentPort.postMessage({ temperature: links.reading.temperature, devices: links.devices.length });
    if (workerData.mode === 'close') await closeAll(links);
    // 'leave': the worker ends with its links open; its teardown must close them.
  })().catch((err) => {
    parentPort.postMessage({ error: String(err && err.stack) });
  });
}

function runWorker(mode, extra = {}) {
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: { mode, ...extra } });
    const messages = [];
    w.on('message', (m) => {
      messages.push(m);
      if (m && m.error) reject(new Error(m.error));
    });
    w.on('error', reject);
    w.on('exit', (code) => resolve({ code, messages }));
  });
}

async function main(scenario) {
  switch (scenario) {
    case 'baseline':
      mark();
      return;
    case 'idle':
      require(root);
      mark();
      return;
    case 'open-idle': {
      const links = await openAll(require(root));
      report({ temperature: links.reading.temperature, status: links.status.temperatureSensor1.reading, devices: links.devices.length });
      mark(); // every link stays open and idle
      return;
    }
    case 'read-close': {
      const links = await openAll(require(root));
      await closeAll(links);
      report({ temperature: links.reading.temperature, status: links.status.temperatureSensor1.reading, devices: links.devices.length });
      mark();
      return;
    }
    case 'uncaught': {
      const links = await openAll(require(root));
      report({ devices: links.devices.length });
      setTimeout(() => {
        mark();
        throw new Error('an uncaught error with three links open');
      }, 1);
      return;
    }
    case 'workers': {
      // This thread never loads the addon: once the workers are gone, so must the engine be.
      const before = { engines: engineThreads(), fds: linkFds() };
      const results = [];
      results.push(await runWorker('close'));
      results.push(await runWorker('leave'));
      results.push(await runWorker('leave'));
      results.push(await runWorker('close'));
      report({ before, after: { engines: engineThreads(), fds: linkFds() }, results });
      mark();
      return;
    }
    case 'worker-alongside': {
      // The main thread keeps the engine busy with its own bus; a worker that ends with its
      // links open must leave no link behind on that engine.
      const fl = require(root);
      const bus = await fl.ModbusBus.open(sims.modbus2, { timeout: 1000 });
      await bus.sensor(1).read();
      const fdsBefore = linkFds();
      const result = await runWorker('leave');
      const fdsAfter = linkFds();
      const reading = await bus.sensor(1).read(); // the engine still serves the main thread
      report({ result, engines: engineThreads(), fdsBefore, fdsAfter, temperature: reading.temperature });
      mark(); // the main bus stays open
      return;
    }
    case 'worker-terminate': {
      const fl = require(root);
      const w = new Worker(__filename, { workerData: { mode: 'pending', link: sims.modbus2 } });
      await new Promise((resolve, reject) => {
        w.on('message', (m) => (m === 'waiting' ? resolve() : reject(new Error(JSON.stringify(m)))));
        w.on('error', reject);
      });
      const code = await w.terminate();
      report({ code, engines: engineThreads(), version: typeof fl.engineStats().spinMicros });
      mark();
      return;
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

if (isMainThread) {
  main(process.argv[2]).catch((err) => {
    console.error(err && err.stack);
    process.exitCode = 3;
  });
} else {
  workerMain();
}
