'use strict';
// End to end: the Node-RED editor in headless Chromium with every fieldlink node deployed.
// The shared editor script (resources/fieldlink-editor.js) is served and registers every
// type; a config panel shows the library's defaults (GET /fieldlink/defaults) as placeholders
// for empty fields and keeps the values an existing flow saved; a device node's form is built
// by FieldLink.deviceType(); the M307 panel's Test runs as a job and shows its findings.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('../../scripts/lib/nodered');
const { M307Simulator, serveTcp: serveM307 } = require('../../lib/sim/m307');
const defaults = require('../../lib/defaults');

const CHROMIUM = '/usr/bin/chromium';
const TYPES = ['modbus-bus', 'modbus-sensor', 'm307-device', 'm307-status', 'm307-config', 'm307-log', 'mate-bus', 'mate-mx',
  'mate-fx', 'mate-dc', 'mate-fx-control', 'diagnostics', 'ha'].map((t) => `fieldlink-${t}`);

describe('e2e: the fieldlink panels in the Node-RED editor (headless Chromium)', function () {
  this.timeout(90000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-e2e-editor-'));
  let sim;
  let srv;
  let nr;
  let browser;
  let page;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    skipped: ${CHROMIUM} is missing`);
      this.skip();
    }
    sim = new M307Simulator({ logRecords: 0, name: 'Editor Room', serial: 'M307000009' });
    srv = await serveM307(sim, { port: 0 });
    const flows = [
      { id: 'f1', type: 'tab', label: 'editor' },
      { id: 'busOld', type: 'fieldlink-modbus-bus', name: 'saved values', connectionType: 'serial', serialPort: path.join(tmp, 'none'), baudRate: 19200, parity: 'even', dataBits: 8, stopBits: 1, timeout: 750, retries: 1 },
      { id: 'busNew', type: 'fieldlink-modbus-bus', name: 'empty fields', connectionType: 'serial', serialPort: path.join(tmp, 'none2'), baudRate: '', parity: '', dataBits: '', stopBits: '', timeout: '', retries: '' },
      { id: 'dev', type: 'fieldlink-m307-device', name: 'room', host: '127.0.0.1', port: String(srv.port), timeout: '' },
      { id: 'mate', type: 'fieldlink-mate-bus', name: 'mate', serialPort: path.join(tmp, 'none3') },
      { id: 'mx1', type: 'fieldlink-mate-mx', z: 'f1', bus: 'mate', port: '2', interval: '0', topic: '', x: 100, y: 60, wires: [[], []] },
      { id: 's1', type: 'fieldlink-modbus-sensor', z: 'f1', bus: 'busNew', unit: '3', profile: 'sht3x-asia', interval: '0', topic: '', x: 100, y: 120, wires: [[], []] },
      { id: 'st1', type: 'fieldlink-m307-status', z: 'f1', device: 'dev', interval: '0', topic: '', x: 100, y: 180, wires: [[], [], []] },
    ];
    nr = await startNodeRed({ userDir: path.join(tmp, 'node-red'), flows, port: 0, logLevel: 'warn' });
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(nr.url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node('mx1'), null, { timeout: 30000 });
    assert.deepStrictEqual(errors, [], 'no script error in the editor');
  });

  after(async function () {
    if (browser) await browser.close();
    if (nr) await nr.stop();
    if (srv) await srv.close();
    if (sim) sim.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('registers every fieldlink type through the shared editor script', async function () {
    const missing = await page.evaluate((types) => types.filter((t) => !RED.nodes.getType(t)), TYPES);
    assert.deepStrictEqual(missing, []);
    assert.strictEqual(await page.evaluate(() => typeof window.FieldLink.jobPanel), 'function');
    await page.waitForFunction(() => window.FieldLink.libraryDefault('modbus', 'timeout') !== undefined);
    assert.strictEqual(await page.evaluate(() => window.FieldLink.libraryDefault('modbus', 'timeout')), defaults.modbus.timeout);
  });

  async function openConfig(type, id) {
    await page.evaluate(([t, i]) => RED.editor.editConfig('', t, i), [type, id]);
    await page.waitForSelector('#node-config-input-timeout', { state: 'visible' });
  }

  async function closeDialog() {
    await page.click('#node-config-dialog-cancel, #node-dialog-cancel');
    await page.waitForTimeout(300);
  }

  it('a config panel: empty fields show the library default, saved values are kept', async function () {
    await openConfig('fieldlink-modbus-bus', 'busNew');
    const fresh = await page.evaluate(() => ({
      timeout: [$('#node-config-input-timeout').val(), $('#node-config-input-timeout').attr('placeholder')],
      retries: $('#node-config-input-retries').attr('placeholder'),
      parity: [$('#node-config-input-parity').val(), $('#node-config-input-parity option:selected').text()],
      reconnect: $('#node-config-input-reconnectMinDelay').attr('placeholder'),
    }));
    assert.deepStrictEqual(fresh.timeout, ['', String(defaults.modbus.timeout)]);
    assert.strictEqual(fresh.retries, String(defaults.modbus.retries));
    assert.strictEqual(fresh.parity[0], '');
    assert.match(fresh.parity[1], new RegExp(defaults.modbus.parity));
    assert.strictEqual(fresh.reconnect, String(defaults.modbus.reconnectMinDelay));
    await closeDialog();

    await openConfig('fieldlink-modbus-bus', 'busOld');
    const saved = await page.evaluate(() => [$('#node-config-input-timeout').val(), $('#node-config-input-parity').val(), $('#node-config-input-baudRate').val()]);
    assert.deepStrictEqual(saved, ['750', 'even', '19200']);
    await closeDialog();
  });

  it('a device node\'s form is the shared one: config picker, hub port, interval, topic placeholder', async function () {
    await page.evaluate(() => RED.editor.edit(RED.nodes.node('mx1')));
    await page.waitForSelector('#node-input-port', { state: 'visible' });
    const form = await page.evaluate(() => ({
      ports: $('#node-input-port option').length,
      port: $('#node-input-port').val(),
      bus: $('#node-input-bus').val(),
      interval: $('#node-input-interval').val(),
      topic: $('#node-input-topic').attr('placeholder'),
    }));
    assert.deepStrictEqual(form, { ports: 12, port: '2', bus: 'mate', interval: '0', topic: 'mate/mx' });
    await page.click('#node-dialog-cancel');
    await page.waitForTimeout(300);
  });

  it('the Modbus sensor panel lists the library\'s profiles and starts from its default (no list in the panel)', async function () {
    const { profiles } = require('../../lib/modbus/profiles');
    assert.strictEqual(await page.evaluate(() => RED.nodes.getType('fieldlink-modbus-sensor').defaults.profile.value), defaults.modbus.profile);
    await page.evaluate(() => RED.editor.edit(RED.nodes.node('s1')));
    await page.waitForSelector('#node-input-profile', { state: 'visible' });
    const form = await page.evaluate(() => ({
      names: $('#node-input-profile option').map(function () { return $(this).val(); }).get(),
      labels: $('#node-input-profile option').map(function () { return $(this).text(); }).get(),
      picked: $('#node-input-profile').val(),
    }));
    assert.deepStrictEqual(form.names, Object.keys(profiles));
    assert.ok(form.labels.every((l, i) => l && l !== `modbus-sensor.profile.${form.names[i]}`), `untranslated: ${form.labels}`);
    assert.strictEqual(form.picked, 'sht3x-asia');
    await page.click('#node-dialog-cancel');
    await page.waitForTimeout(300);
  });

  it('the M307 panel\'s Test runs as a job through the deployed connection and shows its findings', async function () {
    await openConfig('fieldlink-m307-device', 'dev');
    assert.strictEqual(await page.evaluate(() => $('#node-config-input-port').val()), String(srv.port));
    await page.click('#fieldlink-m307-diag-test');
    await page.waitForFunction(() => /identity/.test($('#fieldlink-m307-diag-output').text()) && !$('#fieldlink-m307-diag-output .fa-spin').length, null, { timeout: 15000 });
    const text = await page.evaluate(() => $('#fieldlink-m307-diag-output').text());
    assert.match(text, /Editor Room/);
    assert.match(text, /deployed flow's connection/);
    assert.strictEqual(sim.stats.connections, 1, 'no second connection');
    await closeDialog();
  });
});
