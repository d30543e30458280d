'use strict';
// Node-RED lifecycle under live traffic: 100 full deploys, then partial ("nodes") and
// single-node ("flows" with one node changed) deploys, each through the real admin API of
// a headless Node-RED, with sensors polling a simulated bus on a pty every 100 ms.
// After every deploy the flow must be polling again; every deploy (which closes the old
// nodes) must finish within 2 s; at the end, when Node-RED stops, the port must be free.
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('../../scripts/lib/nodered');
const { ModbusSimulator, servePty } = require('../../lib/sim/modbus');
const { ModbusBus } = require('../..');

function request(url, method, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(url, {
      method,
      headers: { 'Content-Type': 'application/json', ...(data ? { 'Content-Length': data.length } : {}), ...headers },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    if (data) req.write(data);
    req.end();
  });
}

function flows(link, interval, topicSuffix = '') {
  return [
    { id: 'tab1', type: 'tab', label: 'lifecycle' },
    { id: 'bus1', type: 'fieldlink-modbus-bus', name: 'bus', connectionType: 'serial', serialPort: link, baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1, timeout: 300, retries: 0 },
    { id: 's1', type: 'fieldlink-modbus-sensor', z: 'tab1', name: 'one', bus: 'bus1', unit: 1, profile: 'xy-md02', interval, topic: `one${topicSuffix}`, wires: [[]] },
    { id: 's2', type: 'fieldlink-modbus-sensor', z: 'tab1', name: 'two', bus: 'bus1', unit: 2, profile: 'xy-md02', interval, topic: 'two', wires: [[]] },
  ];
}

describe('e2e: Node-RED deploys under live traffic', function () {
  this.timeout(240000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-life-'));
  const link = path.join(tmp, 'bus');
  let sim;
  let served;
  let nr;

  before(async function () {
    sim = new ModbusSimulator({ units: [{ address: 1, drift: false }, { address: 2, drift: false }] });
    served = await servePty(sim, { link });
    nr = await startNodeRed({ userDir: path.join(tmp, 'nr'), flows: flows(link, 0.1), logLevel: 'warn' });
  });

  after(async function () {
    if (nr) await nr.stop();
    if (served) await served.close();
  });

  const requestsNow = () => sim.stats.framesReceived;

  async function waitForPolling(label) {
    const start = requestsNow();
    const t0 = Date.now();
    while (requestsNow() < start + 4) {
      if (Date.now() - t0 > 5000) assert.fail(`${label}: no polling after the deploy (${requestsNow() - start} requests in 5 s)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function deploy(body, type) {
    const t0 = Date.now();
    const res = await request(`${nr.url}/flows`, 'POST', body, { 'Node-RED-Deployment-Type': type, 'Node-RED-API-Version': 'v1' });
    const ms = Date.now() - t0;
    assert.strictEqual(res.status, 204, `${type} deploy answered ${res.status}: ${res.body}`);
    return ms;
  }

  it('100 full deploys: each within 2 s, polling resumes every time', async function () {
    await waitForPolling('initial');
    const times = [];
    for (let i = 0; i < 100; i++) {
      times.push(await deploy(flows(link, 0.1, `-${i}`), 'full'));
      if (i % 10 === 9) await waitForPolling(`full deploy ${i + 1}`);
    }
    await waitForPolling('after 100 full deploys');
    const max = Math.max(...times);
    assert.ok(max < 2000, `slowest full deploy took ${max} ms`);
    this.test.title += ` (slowest ${max} ms, median ${times.sort((a, b) => a - b)[50]} ms)`;
  });

  it('partial and single-node deploys keep the bus working', async function () {
    for (let i = 0; i < 20; i++) {
      const f = flows(link, 0.1, `-p${i}`);
      const ms = await deploy(f, i % 2 ? 'nodes' : 'flows');
      assert.ok(ms < 2000, `deploy ${i} took ${ms} ms`);
    }
    await waitForPolling('after partial deploys');
    // A deploy that changes only the bus config node restarts both sensors on a new link.
    const f = flows(link, 0.1, '-last');
    f[1].timeout = 400;
    assert.ok((await deploy(f, 'nodes')) < 2000);
    await waitForPolling('after a config-node change');
  });

  it('the port is free once Node-RED has stopped (nothing left busy)', async function () {
    const t0 = Date.now();
    await nr.stop();
    nr = null;
    assert.ok(Date.now() - t0 < 5000, 'Node-RED took too long to stop');
    const bus = await ModbusBus.open(link); // exclusive open: fails with EBUSY if anything kept it
    assert.deepStrictEqual((await bus.readInputRegisters(1, 1, 1)).length, 1);
    await bus.close();
  });
});
