'use strict';
// End to end: the simulator on a pseudo-terminal, Node-RED 4 headless (the same launcher as
// the demo, scripts/lib/nodered.js) running examples/modbus-room-climate.json, and its
// Dashboard 2.0 page in headless Chromium. The gauges must show what the simulator holds,
// and follow it when it changes.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed, repoRoot } = require('../../scripts/lib/nodered');
const { ModbusSimulator, servePty } = require('../../lib/sim/modbus');

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(repoRoot, 'test-output', 'e2e-modbus-dashboard.png');
const EXAMPLE = path.join(repoRoot, 'examples', 'modbus-room-climate.json');

describe('e2e: example flow + Dashboard 2.0 in headless Chromium', function () {
  this.timeout(60000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-e2e-'));
  const link = path.join(tmp, 'modbus-bus');
  let sim;
  let served;
  let nr;
  let browser;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    skipped: ${CHROMIUM} is missing (FIELDLINK_SETUP_E2E=1 bash scripts/setup.sh installs it)`);
      this.skip();
    }
    sim = new ModbusSimulator({
      units: [
        { address: 1, temperature: 22.5, humidity: 41.2, drift: false },
        { address: 2, temperature: 18.3, humidity: 63.7, drift: false },
      ],
    });
    served = await servePty(sim, { link });
    // The example flow as shipped, with the bus pointed at this test's pty instead of the demo's.
    const flows = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
    const bus = flows.find((n) => n.type === 'fieldlink-modbus-bus');
    assert.strictEqual(bus.serialPort, '/tmp/fieldlink-demo-modbus');
    bus.serialPort = link;
    nr = await startNodeRed({ userDir: path.join(tmp, 'node-red'), flows, port: 0, logLevel: 'info' });
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async function () {
    if (browser) await browser.close();
    if (nr) await nr.stop();
    if (served) await served.close();
    if (sim) sim.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows both sensors on /dashboard/modbus and follows the simulator', async function () {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const res = await page.goto(`${nr.url}/dashboard/modbus`);
    assert.strictEqual(res.status(), 200);

    const gauge = (cls) => page.locator(`.${cls} .nrdb-ui-gauge-value span`);
    const expectGauge = async (cls, value) => {
      await page.waitForFunction(({ sel, want }) => {
        const el = document.querySelector(sel);
        return el && el.textContent.trim() === want;
      }, { sel: `.${cls} .nrdb-ui-gauge-value span`, want: value }, { timeout: 10000 });
    };

    // The simulator's values, as the sensor nodes scale them (one decimal, ×10 registers).
    await expectGauge('room-1-temperature', '22.5');
    await expectGauge('room-1-humidity', '41.2');
    await expectGauge('room-2-temperature', '18.3');
    await expectGauge('room-2-humidity', '63.7');
    for (const cls of ['room-1-temperature', 'room-2-temperature']) {
      const t = Number(await gauge(cls).textContent());
      assert.ok(t >= 10 && t <= 40, `${cls} shows ${t}`);
    }
    const units = await page.locator('.room-1-humidity .nrdb-ui-gauge-value label').textContent();
    assert.strictEqual(units.trim(), '%RH');

    // The last-update texts hold recent ISO timestamps.
    for (const cls of ['room-1-updated', 'room-2-updated']) {
      const text = (await page.locator(`.${cls} .nrdb-ui-text-value`).textContent()).trim();
      assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Math.abs(Date.now() - Date.parse(text)) < 30000, `${cls}: ${text}`);
    }
    // Both charts are drawn (ECharts renders into a canvas).
    assert.strictEqual(await page.locator('.room-1-chart canvas').count() > 0, true);
    assert.strictEqual(await page.locator('.room-2-chart canvas').count() > 0, true);

    // The room warms up: the next 2 s poll brings it to the page without a reload.
    sim.setValues(1, { temperature: 27.9, humidity: 38.4 });
    await expectGauge('room-1-temperature', '27.9');
    await expectGauge('room-1-humidity', '38.4');
    assert.strictEqual((await gauge('room-2-temperature').textContent()).trim(), '18.3');
    assert.ok(sim.unit(1).stats.requests >= 2 && sim.unit(2).stats.requests >= 2);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(fs.statSync(SCREENSHOT).size > 10000);

    // Nothing went wrong on the Node-RED side.
    const errors = nr.output().split('\n').filter((l) => /\[(error|warn)\]/.test(l) && !/Projects disabled|unencrypted credentials/.test(l));
    assert.deepStrictEqual(errors, []);
    assert.match(nr.output(), /\[fieldlink-modbus-bus:.*\] connected to /);
  });

  it('marks the rooms offline when the simulator stops, greys their values, and clears it when it is back', async function () {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${nr.url}/dashboard/modbus`);
    const mark = '.modbus-availability';
    const markText = () => page.locator(mark).innerText();
    await page.waitForFunction((sel) => {
      const el = document.querySelector(sel);
      return el && /Room 1: online/.test(el.innerText) && /Room 2: online/.test(el.innerText);
    }, mark, { timeout: 15000 });
    // Kill the simulator: the pty goes away.
    await served.close();
    served = null;
    await page.waitForFunction((sel) => {
      const el = document.querySelector(sel);
      return el && /Room 1: offline since \d\d:\d\d \(.+\)/.test(el.innerText) && /Room 2: offline since/.test(el.innerText);
    }, mark, { timeout: 15000 });
    await page.waitForFunction(() => {
      const el = document.querySelector('.room-1-temperature');
      return el && el.classList.contains('fl-stale') && getComputedStyle(el).opacity < 0.5;
    }, null, { timeout: 5000 });
    assert.match(await markText(), /offline since \d\d:\d\d \((link lost|no answer), E[A-Z]+\)/);
    // The last value is still there, marked stale, not blanked.
    assert.strictEqual((await page.locator('.room-2-temperature .nrdb-ui-gauge-value span').textContent()).trim(), '18.3');
    // Restart it on the same path: the mark clears and the values are live again.
    served = await servePty(sim, { link });
    await page.waitForFunction((sel) => {
      const el = document.querySelector(sel);
      return el && /Room 1: online/.test(el.innerText) && /Room 2: online/.test(el.innerText) && !el.querySelector('.fl-offline');
    }, mark, { timeout: 20000 });
    await page.waitForFunction(() => {
      const el = document.querySelector('.room-1-temperature');
      return el && !el.classList.contains('fl-stale') && getComputedStyle(el).opacity === '1';
    }, null, { timeout: 5000 });
    await page.close();
  });
});
