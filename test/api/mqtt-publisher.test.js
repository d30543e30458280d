'use strict';
// The MQTT session (lib/mqtt/publisher.js) against a real Mosquitto: what is published after an
// outage (the latest state only, or the last N readings when replay is asked for), and the
// gateway over TLS with a username and a password from the environment (a broker that refuses
// anonymous clients, with a certificate from a CA generated here).
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const { startBroker } = require('../support/mosquitto');
const { Subscriber, startGateway } = require('../support/mqtt-helpers');
const { createMapping } = require('../../lib/mqtt/mapping');
const { MqttPublisher } = require('../../lib/mqtt/publisher');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-pub-'));
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, resolve));

describe('MQTT publisher: broker outages', function () {
  this.timeout(20000);
  let broker;
  before(async function () {
    broker = await startBroker();
  });
  after(async function () {
    if (broker) await broker.close();
  });

  /**
   * Publishes seq 1 while connected, holds `held` more readings while the broker is down, then
   * lets the publisher reconnect only once a fresh subscriber is listening (reconnectPeriod 0 +
   * a manual reconnect, so the order is certain). Returns the states that subscriber got live.
   */
  async function outage({ replay, held }) {
    const mapping = createMapping({ gatewayId: 'pub' });
    // stopTimeout: messages in flight when the broker died are never acknowledged; stop() gives up on them.
    const pub = new MqttPublisher({ mapping, url: broker.url, replay, reconnectPeriod: 0, stopTimeout: 200 });
    pub.addDevice(mapping.device({ id: 'probe', kind: 'modbus' }));
    pub.start();
    await once(pub, 'connect');
    pub.publishState('probe', { temperature: 1, humidity: 50 });
    await broker.stop();
    if (pub.connected) await once(pub.client, 'close');
    for (let i = 2; i <= held + 1; i++) pub.publishState('probe', { temperature: i, humidity: 50 });
    await broker.restart();
    const sub = await Subscriber.connect(broker.url, ['fieldlink/probe/state']);
    try {
      const announced = once(pub, 'announced');
      pub.client.reconnect();
      await announced;
      const last = await sub.waitFor('fieldlink/probe/state', (m) => JSON.parse(m.text).seq === held + 1);
      assert.strictEqual(last.retain, false, 'received live');
      return { states: sub.messages.map((m) => JSON.parse(m.text)), stats: pub.stats, raw: sub.messages };
    } finally {
      await pub.stop();
      await sub.close();
    }
  }

  it('by default publishes only the latest state after an outage, not the readings in between', async function () {
    const r = await outage({ replay: 0, held: 4 });
    assert.deepStrictEqual(r.states.map((s) => [s.seq, s.temperature]), [[5, 5]]);
    assert.strictEqual(r.stats.held, 4);
    assert.strictEqual(r.stats.dropped, 3);
  });

  it('with replay: N publishes the last N older readings first (not retained), then the latest', async function () {
    const r = await outage({ replay: 2, held: 5 });
    assert.deepStrictEqual(r.states.map((s) => s.seq), [4, 5, 6]);
    assert.deepStrictEqual(r.states.map((s) => s.temperature), [4, 5, 6]);
    assert.strictEqual(r.stats.dropped, 2, 'seq 2 and 3 did not fit');
  });
});

describe('fieldlink gateway over TLS with credentials', function () {
  this.timeout(20000);
  let broker;
  const dir = path.join(tmp, 'tls');

  before(async function () {
    fs.mkdirSync(dir);
    const ssl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=fieldlink test CA');
    ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext');
    execFileSync('mosquitto_passwd', ['-b', '-c', path.join(dir, 'passwords'), 'fieldlink', 'right-password']);
    fs.chmodSync(path.join(dir, 'passwords'), 0o600);
    broker = await startBroker({
      anonymous: false,
      extra: [`cafile ${dir}/ca.crt`, `certfile ${dir}/server.crt`, `keyfile ${dir}/server.key`, `password_file ${dir}/passwords`],
    });
  });
  after(async function () {
    if (broker) await broker.close();
  });

  function config(name) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `gateway: { id: tls-gw }
mqtt:
  url: ${broker.url}
  ca: ca.crt
  username: fieldlink
  passwordEnv: FL_TEST_MQTT_PASSWORD
m307:
  - { id: nowhere, host: 127.0.0.1, port: 1, interval: 5 }
`);
    return file;
  }

  it('connects with the CA, user and password; the device behind it is reported offline', async function () {
    const mqtt = require('mqtt');
    const ok = await mqtt.connectAsync(broker.url, { ca: fs.readFileSync(path.join(dir, 'ca.crt')), username: 'fieldlink', password: 'right-password', reconnectPeriod: 0 });
    const seen = [];
    ok.on('message', (t, p) => seen.push([t, p.toString()]));
    await ok.subscribeAsync('fieldlink/#', { qos: 1 });
    const gw = startGateway(config('gw.yaml'), { env: { FL_TEST_MQTT_PASSWORD: 'right-password' } });
    try {
      await gw.waitLog((l) => l.event === 'mqtt-connected');
      const until = (pred) => new Promise((resolve) => {
        if (seen.some(pred)) return resolve();
        const on = () => {
          if (!seen.some(pred)) return;
          ok.removeListener('message', on);
          resolve();
        };
        ok.on('message', on);
      });
      await until(([t, p]) => t === 'fieldlink/gateway/tls-gw/availability' && p === 'online');
      await until(([t, p]) => t === 'fieldlink/nowhere/availability' && p === 'offline');
    } finally {
      await gw.kill('SIGTERM');
      await ok.endAsync();
    }
  });

  it('a wrong password is refused by the broker and logged as JSON, without the password', async function () {
    const gw = startGateway(config('gw-bad.yaml'), { env: { FL_TEST_MQTT_PASSWORD: 'wrong-password' } });
    try {
      const l = await gw.waitLog((x) => x.event === 'mqtt-error');
      assert.match(l.message, /Not authorized|Bad username or password/i);
      assert.ok(!gw.lines.some((x) => JSON.stringify(x).includes('wrong-password')), 'the password is never logged');
      assert.ok(!gw.lines.some((x) => x.event === 'mqtt-connected'));
    } finally {
      await gw.kill('SIGTERM');
    }
  });
});
