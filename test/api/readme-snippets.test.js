'use strict';
// Every JavaScript snippet of the README runs as shown (as an ES module, `node example.mjs`),
// against the simulators: the device paths and addresses in the text are swapped for the
// simulators' (a pty link for '/dev/ttyUSB0', 127.0.0.1 and the simulator's port for the M307).
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const modbusSim = require('../../lib/sim/modbus');
const m307Sim = require('../../lib/sim/m307');
const mateSim = require('../../lib/sim/mate');

const ROOT = path.join(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const SNIPPETS = [...README.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: path.dirname(file), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill(), 60000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

describe('README: every JavaScript snippet runs as shown', function () {
  this.timeout(90000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-readme-'));
  let modbus; let modbusServed; let m307; let m307Served; let mate; let mateServed;

  before(async function () {
    // `import ... from 'fieldlink'` resolves to this checkout.
    fs.mkdirSync(path.join(tmp, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(tmp, 'node_modules', 'fieldlink'));
    modbus = new modbusSim.ModbusSimulator({ units: [{ address: 1, drift: false, temperature: 30.5, humidity: 54.6 }] });
    modbusServed = await modbusSim.servePty(modbus, { link: path.join(tmp, 'ttyModbus') });
    m307 = new m307Sim.M307Simulator({ logRecords: 50 });
    m307Served = await m307Sim.serveTcp(m307, { port: 0 });
    mate = new mateSim.MateSimulator();
    mateServed = await mateSim.servePty(mate, { link: path.join(tmp, 'ttyMate') });
  });
  after(async function () {
    await modbusServed.close(); modbus.close();
    await m307Served.close(); if (m307.close) m307.close();
    await mateServed.close(); mate.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the snippets', function () {
    assert.ok(SNIPPETS.length >= 5, `${SNIPPETS.length} snippets`);
  });

  SNIPPETS.forEach((code, i) => {
    const first = code.split('\n').find((l) => l.trim()) || '';
    it(`snippet ${i + 1}: ${first.slice(0, 70)}`, async function () {
      assert.doesNotMatch(code, /\brequire\(/, 'a snippet with require() and top-level await does not run as an ES module');
      const tty = /MateBus/.test(code) ? mateServed.link : modbusServed.link;
      const src = code
        .replaceAll("'/dev/ttyUSB0'", JSON.stringify(tty))
        .replaceAll("'192.168.1.100'", "'127.0.0.1'")
        .replaceAll('port: 10001', `port: ${m307Served.port}`);
      const file = path.join(tmp, `snippet-${i + 1}.mjs`);
      fs.writeFileSync(file, src);
      const r = await run(file);
      assert.strictEqual(r.code, 0, `snippet ${i + 1} failed:\n${r.out}`);
    });
  });
});
