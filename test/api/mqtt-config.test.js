'use strict';
// `fieldlink gateway` config handling as a CLI in a child process: errors that name the key
// and the line, unknown keys with a suggestion, secrets refused in the file and read from the
// environment or a file; device removal (`--remove`) and the FX controls' double opt-in
// against a real Mosquitto and the MATE simulator.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');

const { parseConfig } = require('../../lib/gateway/config');
const { createMapping, FX_CONTROL_VALUES } = require('../../lib/mqtt/mapping');
const { FX_CONTROLS } = require('../../lib/mate/bus');
const { startBroker } = require('../support/mosquitto');
const { Subscriber, startGateway, checkDiscovery, BIN } = require('../support/mqtt-helpers');
const { MateSimulator, servePty } = require('../../lib/sim/mate');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-gwcfg-'));
let n = 0;

function cli(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'gateway', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

function writeConfig(text) {
  const file = path.join(tmp, `gw${++n}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

const GOOD = `gateway:
  id: shed
mqtt:
  url: mqtt://127.0.0.1:1883
m307:
  - id: freezer
    host: 127.0.0.1
`;

describe('fieldlink gateway: config', function () {
  it('--check accepts a good config and counts its devices', async function () {
    const r = await cli(['--config', writeConfig(GOOD), '--check']);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok \(1 devices\)/);
  });

  it('names the key and the line of a wrong value, and suggests the key meant for an unknown one', async function () {
    const file = writeConfig(`gateway:
  id: shed
mqtt:
  url: mqtt://127.0.0.1:1883
  qos: 3
m307:
  - id: freezer
    host: 127.0.0.1
    intervall: 5
modbus:
  - port: /dev/ttyUSB0
    sensors:
      - { id: room, unit: 300, profile: xy-md2 }
`);
    const r = await cli(['--config', file, '--check']);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:5:8: mqtt\\.qos: must be in 0\\.\\.2 \\(got 3\\)`));
    assert.match(r.stderr, /:9:5: m307\[0\]\.intervall: unknown key; did you mean "interval"\?/);
    assert.match(r.stderr, /:13:27: modbus\[0\]\.sensors\[0\]\.unit: must be in 1\.\.247 \(got 300\)/);
    assert.match(r.stderr, /modbus\[0\]\.sensors\[0\]\.profile: must be one of .* \(got "xy-md2"\); did you mean "xy-md02"\?/);
  });

  it('refuses a password in the file; reads it from the environment or a file instead', function () {
    assert.throws(() => parseConfig(`${GOOD}`.replace('  url:', '  password: hunter2\n  url:'), { file: 'g.yaml', env: {} }),
      /g\.yaml:4:13: mqtt\.password: secrets are not read from the config file: use passwordEnv/);
    const fromEnv = parseConfig(GOOD.replace('  url:', '  passwordEnv: FL_PW\n  url:'), { file: 'g.yaml', env: { FL_PW: 's3cret' } });
    assert.strictEqual(fromEnv.mqtt.password, 's3cret');
    assert.throws(() => parseConfig(GOOD.replace('  url:', '  passwordEnv: FL_PW\n  url:'), { file: 'g.yaml', env: {} }),
      /g\.yaml:4:16: mqtt\.passwordEnv: the environment variable FL_PW is not set/);
    const pwFile = path.join(tmp, 'pw');
    fs.writeFileSync(pwFile, 'from-a-file\n');
    const fromFile = parseConfig(GOOD.replace('  url:', `  passwordFile: ${pwFile}\n  url:`), { file: 'g.yaml', env: {} });
    assert.strictEqual(fromFile.mqtt.password, 'from-a-file');
  });

  it('refuses duplicate ids, YAML syntax errors, and FX controls without both opt-ins', function () {
    assert.throws(() => parseConfig(`${GOOD}  - id: freezer\n    host: 127.0.0.2\n`, { file: 'g.yaml' }), /g\.yaml:8:9: device id "freezer" is used twice \(also at line 6:9\)/);
    assert.throws(() => parseConfig('gateway:\n  id: [x\n', { file: 'g.yaml' }), /g\.yaml:\d+:\d+: /);
    const mate = (allow, understood) => `gateway: { id: g }
mqtt: { url: "mqtt://127.0.0.1:1" }
mate:
  - port: /dev/ttyUSB1
    allowControl: ${allow}
    devices:
      - { id: fx1, type: fx, controls: true, iUnderstandThisCanCutPower: ${understood} }
`;
    assert.throws(() => parseConfig(mate(false, true), { file: 'g.yaml' }), /mate\[0\]\.devices\[0\]\.controls: needs both mate\[0\]\.allowControl: true and iUnderstandThisCanCutPower: true/);
    assert.throws(() => parseConfig(mate(true, false), { file: 'g.yaml' }), /needs both/);
    assert.strictEqual(parseConfig(mate(true, true), { file: 'g.yaml' }).mate[0].devices[0].controls, true);
  });

  it('examples/gateway/gateway.yaml is valid; its password comes from the systemd credential', function () {
    const file = path.join(__dirname, '..', '..', 'examples', 'gateway', 'gateway.yaml');
    const read = [];
    const cfg = parseConfig(fs.readFileSync(file, 'utf8'), {
      file,
      env: { CREDENTIALS_DIRECTORY: '/run/credentials/fieldlink-gateway.service' },
      readFile: (p) => {
        read.push(p);
        return p.endsWith('mqtt-password') ? 'pw\n' : 'PEM';
      },
    });
    assert.deepStrictEqual(read, ['/run/credentials/fieldlink-gateway.service/mqtt-password', '/etc/fieldlink/ca.crt']);
    assert.strictEqual(cfg.mqtt.password, 'pw');
    assert.strictEqual(cfg.mqtt.caData, 'PEM');
    assert.deepStrictEqual([cfg.m307.length, cfg.modbus[0].sensors.length, cfg.mate[0].devices.length], [1, 2, 3]);
    const unit = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'gateway', 'fieldlink-gateway.service'), 'utf8');
    assert.match(unit, /^User=fieldlink$/m);
    assert.match(unit, /^SupplementaryGroups=dialout$/m);
    assert.match(unit, /^LoadCredential=mqtt-password:/m);
  });

  it('the mapping offers exactly the FX control values the library accepts', function () {
    assert.deepStrictEqual(Object.keys(FX_CONTROL_VALUES), Object.keys(FX_CONTROLS));
    for (const [k, c] of Object.entries(FX_CONTROLS)) assert.deepStrictEqual(FX_CONTROL_VALUES[k], Object.keys(c.values));
    const m = createMapping({ gatewayId: 'g' });
    assert.ok(!m.device({ id: 'a', kind: 'fx' }).components().some((c) => c.platform === 'select'));
    assert.throws(() => m.device({ id: 'a/b', kind: 'fx' }), /device id must be 1\.\.64 characters/);
    assert.throws(() => m.device({ id: 'gateway', kind: 'fx' }), /reserved/);
  });
});

describe('fieldlink gateway: removal and FX controls on a real broker', function () {
  this.timeout(30000);
  let broker;
  let sub;
  before(async function () {
    broker = await startBroker();
    sub = await Subscriber.connect(broker.url);
  });
  after(async function () {
    if (sub) await sub.close();
    if (broker) await broker.close();
  });

  it('--remove publishes an empty retained discovery config and clears the retained state', async function () {
    // Something to remove: retained discovery and state as a gateway would have left them.
    const dev = createMapping({ gatewayId: 'g' }).device({ id: 'oldroom', kind: 'modbus' });
    for (const msg of [dev.discovery(), ...dev.state({ temperature: 20, humidity: 50, valid: true }).messages]) {
      await sub.publish(msg.topic, msg.payload, { retain: true });
    }
    await sub.waitFor('homeassistant/device/oldroom/config', (m) => m.text.length > 0);
    const file = writeConfig(`gateway: { id: g }\nmqtt: { url: "${broker.url}" }\nm307:\n  - { id: other, host: 127.0.0.1 }\n`);
    const r = await cli(['--config', file, '--remove', 'oldroom']);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(JSON.parse(r.stdout.trim().split('\n').pop()).event, 'removed');
    const gone = await sub.waitFor('homeassistant/device/oldroom/config', (m) => m.text === '');
    assert.strictEqual(gone.retain, false);
    // Nothing is retained any more for it: a new subscriber gets no config and no state.
    const late = await Subscriber.connect(broker.url, ['homeassistant/device/oldroom/config', 'fieldlink/oldroom/#', 'sync/oldroom']);
    try {
      await late.publish('sync/oldroom', 'x');
      await late.waitFor('sync/oldroom');
      assert.deepStrictEqual(late.messages.filter((m) => m.topic !== 'sync/oldroom'), []);
    } finally {
      await late.close();
    }
  });

  it('FX controls: selects only with both opt-ins, and a select command reaches the FX', async function () {
    const sim = new MateSimulator({ preset: 'capture' });
    const link = path.join(tmp, 'ttyFX');
    const served = await servePty(sim, { link });
    const file = writeConfig(`gateway: { id: g2 }
mqtt: { url: "${broker.url}" }
mate:
  - port: ${link}
    timeout: 200
    interval: 0.3
    allowControl: true
    devices:
      - { id: fxc, type: fx, controls: true, iUnderstandThisCanCutPower: true }
`);
    const gw = startGateway(file);
    try {
      const d = checkDiscovery(...Object.values(await sub.waitFor('homeassistant/device/fxc/config')).slice(0, 2));
      assert.deepStrictEqual(d.comps.control_inverter.options, ['off', 'search', 'on']);
      assert.strictEqual(d.comps.control_inverter.command_topic, 'fieldlink/fxc/set/control/inverter');
      const before = JSON.parse((await sub.waitFor('fieldlink/fxc/state', (m) => JSON.parse(m.text).controls)).text);
      const target = before.controls.inverter === 'search' ? 'on' : 'search';
      const result = sub.next('fieldlink/fxc/result/control/inverter');
      await sub.publish('fieldlink/fxc/set/control/inverter', target);
      assert.deepStrictEqual(JSON.parse((await result).text).value, target);
      await sub.next('fieldlink/fxc/state', (m) => JSON.parse(m.text).controls.inverter === target);
      // A value the FX does not have is refused before anything is written.
      const bad = sub.next('fieldlink/fxc/result/control/inverter');
      await sub.publish('fieldlink/fxc/set/control/inverter', 'explode');
      const b = JSON.parse((await bad).text);
      assert.strictEqual(b.ok, false);
      assert.strictEqual(b.code, 'EINVAL');
    } finally {
      await gw.kill('SIGTERM');
      await served.close();
      sim.close();
    }
  });
});
