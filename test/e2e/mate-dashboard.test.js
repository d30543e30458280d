'use strict';
// End to end: the MATE simulator (preset 'capture': fixed values) on a pseudo-terminal,
// Node-RED 4 headless (the same launcher as the demo, scripts/lib/nodered.js) running
// examples/mate-solar.json, and its Dashboard 2.0 page /dashboard/solar in headless Chromium.
// The widgets must show what the simulator holds, and the 30-day chart must be filled from
// the MX log pages.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed, repoRoot } = require('../../scripts/lib/nodered');
const { MateSimulator, servePty } = require('../../lib/sim/mate');

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(repoRoot, 'test-output', 'e2e-mate-dashboard.png');
const EXAMPLE = path.join(repoRoot, 'examples', 'mate-solar.json');

describe('e2e: MATE solar example flow + Dashboard 2.0 in headless Chromium', function () {
  this.timeout(60000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-e2e-mate-'));
  const link = path.join(tmp, 'mate-bus');
  let sim;
  let served;
  let nr;
  let browser;
  let chartId;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    skipped: ${CHROMIUM} is missing (FIELDLINK_SETUP_E2E=1 bash scripts/setup.sh installs it)`);
      this.skip();
    }
    sim = new MateSimulator({ preset: 'capture' });
    served = await servePty(sim, { link });
    // The example flow as shipped, with the bus pointed at this test's pty instead of the demo's.
    const flows = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
    const bus = flows.find((n) => n.type === 'fieldlink-mate-bus');
    assert.strictEqual(bus.serialPort, '/tmp/fieldlink-demo-mate');
    assert.strictEqual(bus.masterDuties, false, 'the demo simulator runs with master duties off');
    bus.serialPort = link;
    // The simulator answers from this test's process, which shares two cores with Node-RED and
    // Chromium: on a loaded machine a reply can come later than a real MATE device's 100 ms,
    // and every late reply costs two retries. A longer reply timeout keeps the test about the
    // flow and the page, not about this machine's scheduling.
    assert.strictEqual(bus.timeout, '', 'the example leaves the timeout to the library (100 ms)');
    bus.timeout = '1000';
    chartId = flows.find((n) => n.type === 'ui-chart').id;
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

  // A failed wait says what Node-RED logged and what the simulator was asked, so a failure in
  // CI (where only the log is left) shows whether the flow erred or was only slow.
  async function explained(what, wait) {
    try {
      return await wait;
    } catch (err) {
      const log = nr.output().split('\n').filter((l) => /\[(error|warn)\]|fieldlink/.test(l)).slice(-15);
      const asked = Object.entries(sim.stats.byPort).map(([port, s]) => `port ${port}: ${s.commands}`).join(', ');
      throw new Error(`${what}: ${err.message}\n  simulator commands by port: ${asked}\n  Node-RED log:\n    ${log.join('\n    ')}`, { cause: err });
    }
  }

  it('shows the simulated system on /dashboard/solar, with a 30-day chart from the MX log', async function () {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    // Dashboard 2.0 registers its chart components on window.uiCharts when window.Cypress is
    // set (its own test hook); that gives the ECharts options the bars are drawn from.
    await page.addInitScript(() => {
      window.Cypress = true;
    });
    const res = await page.goto(`${nr.url}/dashboard/solar`);
    assert.strictEqual(res.status(), 200);

    const expectText = (cls, want) => explained(`${cls} = ${want}`, page.waitForFunction(({ sel, value }) => {
      const el = document.querySelector(sel);
      return el && el.textContent.trim() === value;
    }, { sel: `.${cls} .nrdb-ui-text-value`, value: want }, { timeout: 15000 }));

    // The capture's values, as the nodes format them.
    await expectText('mate-battery-volts', '25.4 V');
    await expectText('mate-pv-watts', '272 W');
    await expectText('mate-pv-volts', '68.0 V');
    await expectText('mate-kwh-today', '2.10 kWh');
    await expectText('mate-charger-mode', 'bulk');
    await expectText('mate-inverter-mode', 'silent');
    await expectText('mate-ac-mode', 'ac-use');
    await expectText('mate-ac-out', '230.0 V');
    await page.waitForFunction(() => {
      const el = document.querySelector('.mate-soc .nrdb-ui-gauge-value span');
      return el && el.textContent.trim() === '76';
    }, null, { timeout: 15000 });
    const socUnit = await page.locator('.mate-soc .nrdb-ui-gauge-value label').textContent();
    assert.strictEqual(socUnit.trim(), '%');

    // The chart: 30 bars, one per day, oldest first, today's the 2.2 kWh of the capture's page.
    const handle = await explained('the 30-day chart', page.waitForFunction((id) => {
      const c = window.uiCharts && window.uiCharts[id];
      if (!c || !c.chart) return null;
      const series = c.chart.getOption().series || [];
      const data = series.length ? series[0].data : [];
      return data && data.length >= 30 ? { type: series[0].type, data } : null;
    }, chartId, { timeout: 15000 }));
    const { type, data } = await handle.jsonValue();
    assert.strictEqual(type, 'bar');
    assert.strictEqual(data.length, 30);
    const now = new Date();
    const today = `${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
    assert.deepStrictEqual(data[29], [today, 2.2]);
    for (const [day, kwh] of data) {
      assert.match(day, /^\d\d-\d\d$/);
      assert.ok(kwh >= 0 && kwh < 20, `${day}: ${kwh} kWh`);
    }
    assert.strictEqual(new Set(data.map((d) => d[0])).size, 30, 'thirty different days');
    assert.ok(await page.locator('.mate-log-chart canvas').count() > 0, 'the chart is drawn');

    // The simulator saw what the page shows: status polls on ports 1..3 and 30 log pages.
    assert.ok(sim.stats.byPort[1].commands >= 31, `MX commands: ${sim.stats.byPort[1].commands}`);
    assert.ok(sim.stats.byPort[2].commands >= 1 && sim.stats.byPort[3].commands >= 6);

    await page.waitForTimeout(500); // let the chart finish its first layout
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(fs.statSync(SCREENSHOT).size > 10000);

    // Nothing went wrong on the Node-RED side.
    const errors = nr.output().split('\n').filter((l) => /\[(error|warn)\]/.test(l) && !/Projects disabled|unencrypted credentials/.test(l));
    assert.deepStrictEqual(errors, []);
    assert.match(nr.output(), /\[fieldlink-mate-bus:.*\] connected to /);
  });

  it('marks the MATE devices offline when the bus goes away, greys their values, and clears it when it is back', async function () {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(`${nr.url}/dashboard/solar`);
    const waitMark = (re, timeout = 20000) => page.waitForFunction(({ sel, src }) => {
      const el = document.querySelector(sel);
      return el && new RegExp(src).test(el.innerText);
    }, { sel: '.mate-availability', src: re.source }, { timeout });
    await waitMark(/FLEXnet DC: online/);
    await served.close(); // the bus adapter is gone
    served = null;
    await waitMark(/FLEXnet DC: offline since \d\d:\d\d \(.+\)/);
    await page.waitForFunction(() => {
      const el = document.querySelector('.mate-soc');
      return el && el.classList.contains('fl-stale') && getComputedStyle(el).opacity < 0.5;
    }, null, { timeout: 5000 });
    served = await servePty(sim, { link });
    await page.waitForFunction((sel) => {
      const el = document.querySelector(sel);
      return el && /FLEXnet DC: online/.test(el.innerText) && /FX inverter: online/.test(el.innerText) && !el.querySelector('.fl-offline');
    }, '.mate-availability', { timeout: 20000 });
    await page.waitForFunction(() => {
      const el = document.querySelector('.mate-soc');
      return el && !el.classList.contains('fl-stale');
    }, null, { timeout: 5000 });
    await page.close();
  });
});
