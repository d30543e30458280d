'use strict';
// fieldlink as a Node-RED user gets it: the packed tarball installed with `npm install <tgz>`
// in a user dir (its install script builds or picks the addon there), Node-RED started on
// that user dir alone (not on this checkout), every fieldlink node type loaded, flows of all
// three families reading the simulators, and Node-RED stopping within 5 s of SIGINT.
//
// The user dir takes a minute to make (the addon is compiled in it), so the test command makes
// it once (scripts/test.sh: FIELDLINK_INSTALLED_USERDIR) for every Node line it runs this on;
// run alone, this file makes its own.
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const { startNodeRed } = require('../../scripts/lib/nodered');
const { nodeRedVersion } = require('../support/node-red');
const { ModbusSimulator, servePty: serveModbusPty } = require('../../lib/sim/modbus');
const { M307Simulator, serveTcp } = require('../../lib/sim/m307');
const { MateSimulator, servePty: serveMatePty } = require('../../lib/sim/mate');

const ROOT = path.join(__dirname, '..', '..');
const pkg = require('../../package.json');

/** Packs this checkout and installs the tarball into a fresh user dir; returns the dir. */
function makeUserDir(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const tgz = path.join(dir, JSON.parse(out)[0].filename);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-red-user', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tgz], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return dir;
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { Accept: 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, body: JSON.parse(text) });
        } catch (err) {
          reject(new Error(`${url}: ${res.statusCode} ${text.slice(0, 200)}`, { cause: err }));
        }
      });
    }).on('error', reject);
  });
}

/** Device nodes of the three families, each feeding a function that keeps its latest payload. */
function flows({ modbusLink, m307Port, mateLink }) {
  const keep = (id, key, wires = []) => ({
    id, type: 'function', z: 't1', name: `keep ${key}`, outputs: 1, wires,
    func: `const v = global.get('values') || {}; v[${JSON.stringify(key)}] = msg.payload; global.set('values', v); return null;`,
  });
  return [
    { id: 't1', type: 'tab', label: 'installed' },
    { id: 'mb', type: 'fieldlink-modbus-bus', name: 'bus', connectionType: 'serial', serialPort: modbusLink, baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1, timeout: 500, retries: 0 },
    { id: 'ms', type: 'fieldlink-modbus-sensor', z: 't1', bus: 'mb', unit: 1, profile: 'xy-md02', interval: 0.2, topic: 'room', wires: [['kmodbus']] },
    keep('kmodbus', 'modbus'),
    { id: 'md', type: 'fieldlink-m307-device', name: 'm307', host: '127.0.0.1', port: String(m307Port), timeout: '2000', reconnectMinDelay: '200', reconnectMaxDelay: '1000' },
    { id: 'mst', type: 'fieldlink-m307-status', z: 't1', device: 'md', interval: '1', topic: 'coldroom', wires: [['km307'], []] },
    keep('km307', 'm307'),
    { id: 'mateb', type: 'fieldlink-mate-bus', name: 'mate', serialPort: mateLink, transport: 'serial', parityMode: 'auto', timeout: '100', retries: '2', reconnectMinDelay: '200', reconnectMaxDelay: '1000', masterDuties: false, allowControl: false },
    { id: 'mx', type: 'fieldlink-mate-mx', z: 't1', bus: 'mateb', port: 'auto', interval: '1', topic: 'solar/mx', wires: [['kmx']] },
    keep('kmx', 'mx'),
    { id: 'hin', type: 'http in', z: 't1', url: '/values', method: 'get', wires: [['hfn']] },
    { id: 'hfn', type: 'function', z: 't1', outputs: 1, func: "msg.payload = global.get('values') || {}; return msg;", wires: [['hout']] },
    { id: 'hout', type: 'http response', z: 't1', statusCode: '', headers: { 'content-type': 'application/json' }, wires: [] },
  ];
}

/** Polls the flow's /values endpoint until every family has delivered a reading. */
async function liveValues(nr) {
  let values = {};
  const deadline = Date.now() + 30000;
  while (!(values.modbus && values.m307 && values.mx)) {
    assert.ok(Date.now() < deadline, `no values from every family within 30 s: ${JSON.stringify(values)}\n${nr.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    values = (await getJson(`${nr.url}/values`)).body;
  }
  return values;
}

/** Sends `signal` and resolves with the ms Node-RED took to exit; fails after 5 s. */
async function stopWithin5s(nr, signal) {
  const t0 = Date.now();
  nr.child.kill(signal);
  let timer;
  const exit = await Promise.race([nr.exited, new Promise((resolve) => { timer = setTimeout(() => resolve(null), 5000); })]);
  clearTimeout(timer);
  const ms = Date.now() - t0;
  assert.ok(exit, `Node-RED still running 5 s after ${signal}\n${nr.output().slice(-2000)}`);
  assert.ok(exit.code === 0 || exit.signal === signal, `Node-RED ended with ${JSON.stringify(exit)}`);
  return ms;
}

describe(`runtime: Node-RED ${nodeRedVersion()} on Node ${process.versions.node} with fieldlink installed from the tarball`, function () {
  this.timeout(240000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-nrinst-'));
  const served = [];
  let userDir;
  let sims;
  let nr;

  before(async function () {
    const shared = process.env.FIELDLINK_INSTALLED_USERDIR;
    if (shared && fs.existsSync(path.join(shared, 'node_modules', 'fieldlink', 'package.json'))) {
      // A copy, so each Node line starts from the same clean user dir (Node-RED writes to it).
      userDir = path.join(tmp, 'user');
      fs.cpSync(shared, userDir, { recursive: true, verbatimSymlinks: true });
    } else {
      userDir = makeUserDir(path.join(tmp, 'user'));
    }
    const modbusSim = new ModbusSimulator({ units: [{ address: 1, temperature: 19.5, humidity: 45, drift: false }] });
    const modbus = await serveModbusPty(modbusSim, { link: path.join(tmp, 'modbus') });
    const m307sim = new M307Simulator({ logRecords: 10 });
    m307sim.setReading('temp1', -18.5);
    const m307 = await serveTcp(m307sim, { port: 0 });
    const mate = await serveMatePty(new MateSimulator({ preset: 'capture' }), { link: path.join(tmp, 'mate') });
    served.push(modbus, m307, mate);
    sims = { modbusLink: modbus.link, m307Port: m307.port, mateLink: mate.link };
  });

  after(async function () {
    if (nr) await nr.stop(1000);
    for (const s of served) await s.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads every fieldlink node from the user dir, runs all three families, and stops within 5 s of SIGINT', async function () {
    const installed = path.join(userDir, 'node_modules', 'fieldlink');
    assert.strictEqual(require(path.join(installed, 'package.json')).version, pkg.version);
    // Node-RED runs on the user dir alone: no nodesDir pointing at this checkout.
    nr = await startNodeRed({ userDir, flows: flows(sims), port: 0, logLevel: 'info', settings: { nodesDir: [] } });

    const nodes = await getJson(`${nr.url}/nodes`);
    assert.strictEqual(nodes.status, 200);
    const ours = nodes.body.filter((s) => s.module === 'fieldlink');
    const types = ours.flatMap((s) => s.types);
    for (const t of Object.keys(pkg['node-red'].nodes)) assert.ok(types.includes(t), `node type ${t} is not loaded`);
    for (const s of ours) {
      assert.ok(s.enabled, `${s.id} is not enabled`);
      // local: found in <userDir>/node_modules (nodesDir is empty; this checkout is not scanned)
      assert.ok(s.local, `${s.id} was not loaded from the user dir: ${JSON.stringify(s)}`);
      assert.ok(!s.err, `${s.id}: ${s.err}`);
    }

    const values = await liveValues(nr);
    assert.strictEqual(values.modbus.temperature, 19.5);
    assert.strictEqual(values.m307.temperatureSensor1.reading, -18.5);
    assert.strictEqual(typeof values.mx.pvVoltage, 'number', JSON.stringify(values.mx));

    this.test.title += ` (stopped in ${await stopWithin5s(nr, 'SIGINT')} ms)`;
  });

  it('with the flows running again, stops within 5 s of SIGTERM too', async function () {
    nr = await startNodeRed({ userDir, flows: flows(sims), port: 0, logLevel: 'info', settings: { nodesDir: [] } });
    await liveValues(nr);
    this.test.title += ` (stopped in ${await stopWithin5s(nr, 'SIGTERM')} ms)`;
  });
});
