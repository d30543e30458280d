'use strict';
// Test helpers for the MQTT suites: a recording mqtt.js subscriber whose waits follow
// messages (never a fixed sleep), a gateway child process whose JSON-lines log can be
// awaited, and a checker of Home Assistant discovery payloads against HA's documented rules.

const assert = require('node:assert');
const path = require('node:path');
const { spawn } = require('node:child_process');
const mqtt = require('mqtt');

const BIN = path.join(__dirname, '..', '..', 'bin', 'fieldlink.js');

/** Waits for predicate(x) over events pushed later; rejects after ms with what was seen. */
function waiter(list, describe) {
  const waits = new Set();
  return {
    push(x) {
      list.push(x);
      for (const w of [...waits]) if (w.pred(x)) w.done(x);
    },
    wait(pred, ms, what) {
      const hit = list.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          done: (x) => {
            clearTimeout(w.timer);
            waits.delete(w);
            resolve(x);
          },
        };
        w.timer = setTimeout(() => {
          waits.delete(w);
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; ${describe()}`));
        }, ms);
        waits.add(w);
      });
    },
  };
}

class Subscriber {
  static async connect(url, topics = ['#']) {
    const s = new Subscriber();
    s.client = mqtt.connect(url, { clientId: `fl-test-${process.pid}-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 200 });
    s.client.on('message', (topic, payload, packet) => s.w.push({ topic, text: payload.toString(), retain: packet.retain, at: Date.now() }));
    s.client.on('error', () => {});
    await new Promise((resolve, reject) => {
      s.client.once('connect', resolve);
      s.client.once('error', reject);
    });
    await s.client.subscribeAsync(topics, { qos: 1 });
    return s;
  }

  constructor() {
    this.messages = [];
    this.w = waiter(this.messages, () => `${this.messages.length} messages seen, last topics: ${this.messages.slice(-5).map((m) => m.topic).join(', ')}`);
  }

  /** The first message (already seen or to come) on topic whose payload passes pred. */
  waitFor(topic, pred = () => true, ms = 15000) {
    return this.w.wait((m) => m.topic === topic && pred(m), ms, `a message on ${topic}`);
  }

  /** Like waitFor, but only among messages that arrive after now. */
  next(topic, pred = () => true, ms = 15000) {
    const from = this.messages.length;
    return this.w.wait((m) => m.topic === topic && this.messages.indexOf(m) >= from && pred(m), ms, `a new message on ${topic}`);
  }

  /** The latest message seen on topic (or undefined). */
  last(topic) {
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i].topic === topic) return this.messages[i];
    return undefined;
  }

  publish(topic, payload, opts = {}) {
    return this.client.publishAsync(topic, payload, { qos: 1, ...opts });
  }

  close() {
    return this.client.endAsync(true);
  }
}

/** `fieldlink gateway --config file` in a child process; log lines parsed as JSON. */
function startGateway(configFile, { env = {}, args = [] } = {}) {
  const child = spawn(process.execPath, [BIN, 'gateway', '--config', configFile, '--log-level', 'debug', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let stderr = '';
  let buf = '';
  const w = waiter(lines, () => `gateway log tail: ${lines.slice(-5).map((l) => JSON.stringify(l)).join(' | ')} stderr: ${stderr.slice(-500)}`);
  child.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        obj = { unparsed: line };
      }
      w.push(obj);
    }
  });
  child.stderr.on('data', (d) => { stderr += d.toString(); });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    lines,
    get stderr() { return stderr; },
    exited,
    waitLog: (pred, ms = 15000, what = 'a log line') => w.wait(pred, ms, what),
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Home Assistant's rules for a device-based discovery payload, as its MQTT documentation
// states them: the shared keys device (dev) and origin (o) are required, origin needs a name,
// components (cmps) map ids to component configs, each with a platform (p) and, for entity
// components, a unique_id; sensor units must be among those HA accepts for the device class;
// state_class is measurement, total or total_increasing; energy needs total/total_increasing.

const ABBREV = { dev: 'device', o: 'origin', cmps: 'components', p: 'platform', ids: 'identifiers', mf: 'manufacturer', mdl: 'model', sw: 'sw_version', sn: 'serial_number', stat_t: 'state_topic', avty: 'availability', uniq_id: 'unique_id' };
const expand = (obj) => Object.fromEntries(Object.entries(obj).map(([k, v]) => [ABBREV[k] || k, v]));

const PLATFORMS = new Set(['sensor', 'binary_sensor', 'button', 'select', 'switch', 'number', 'text']);
const SENSOR_UNITS = {
  temperature: ['°C', '°F', 'K'],
  humidity: ['%'],
  voltage: ['V', 'mV', 'kV', 'µV', 'MV'],
  current: ['A', 'mA'],
  power: ['W', 'kW', 'mW', 'MW', 'GW', 'TW', 'BTU/h'],
  energy: ['Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'J', 'kJ', 'MJ', 'GJ', 'mWh', 'cal', 'kcal', 'Mcal', 'Gcal'],
  battery: ['%'],
  duration: ['d', 'h', 'min', 's', 'ms', 'µs'],
};
const BINARY_CLASSES = new Set(['battery', 'battery_charging', 'carbon_monoxide', 'cold', 'connectivity', 'door', 'garage_door', 'gas', 'heat',
  'light', 'lock', 'moisture', 'motion', 'moving', 'occupancy', 'opening', 'plug', 'power', 'presence', 'problem', 'running', 'safety', 'smoke',
  'sound', 'tamper', 'update', 'vibration', 'window']);
const STATE_CLASSES = new Set(['measurement', 'measurement_angle', 'total', 'total_increasing']);

/** Checks one discovery payload; returns the expanded components. */
function checkDiscovery(topic, text, { prefix = 'homeassistant' } = {}) {
  const m = new RegExp(`^${prefix}/device/([A-Za-z0-9_-]+)/config$`).exec(topic);
  assert.ok(m, `discovery topic ${topic} is <prefix>/device/<object_id>/config with object_id in [a-zA-Z0-9_-]`);
  const cfg = expand(JSON.parse(text));
  assert.ok(cfg.device && typeof cfg.device === 'object', `${topic}: device (dev) is required`);
  const dev = expand(cfg.device);
  assert.ok((Array.isArray(dev.identifiers) && dev.identifiers.length) || typeof dev.identifiers === 'string', `${topic}: device identifiers`);
  assert.ok(cfg.origin && typeof expand(cfg.origin).name === 'string', `${topic}: origin (o) with a name is required`);
  assert.ok(cfg.components && typeof cfg.components === 'object' && Object.keys(cfg.components).length, `${topic}: components (cmps)`);
  const comps = {};
  for (const [cid, raw] of Object.entries(cfg.components)) {
    const c = expand(raw);
    assert.ok(PLATFORMS.has(c.platform), `${topic}: component ${cid} has a known platform (got ${c.platform})`);
    assert.ok(typeof c.unique_id === 'string' && c.unique_id.length, `${topic}: component ${cid} has a unique_id`);
    if (c.platform === 'sensor' && c.device_class) {
      assert.ok(SENSOR_UNITS[c.device_class], `${topic}: ${cid}: device_class ${c.device_class} is a sensor class`);
      assert.ok(SENSOR_UNITS[c.device_class].includes(c.unit_of_measurement), `${topic}: ${cid}: unit ${c.unit_of_measurement} is valid for ${c.device_class}`);
    }
    if (c.state_class) assert.ok(STATE_CLASSES.has(c.state_class), `${topic}: ${cid}: state_class ${c.state_class}`);
    if (c.device_class === 'energy') assert.ok(['total', 'total_increasing'].includes(c.state_class), `${topic}: ${cid}: energy needs total/total_increasing`);
    if (c.platform === 'binary_sensor' && c.device_class) assert.ok(BINARY_CLASSES.has(c.device_class), `${topic}: ${cid}: binary class ${c.device_class}`);
    if (c.platform === 'sensor' || c.platform === 'binary_sensor' || c.platform === 'select') {
      assert.ok(c.state_topic || cfg.state_topic, `${topic}: ${cid}: a state topic (own or shared)`);
    }
    if (c.platform === 'button' || c.platform === 'select') assert.ok(c.command_topic || cfg.command_topic, `${topic}: ${cid}: a command topic`);
    if (c.suggested_display_precision !== undefined) assert.ok(Number.isInteger(c.suggested_display_precision) && c.suggested_display_precision >= 0);
    comps[cid] = c;
  }
  return { id: m[1], cfg, dev, comps };
}

module.exports = { Subscriber, startGateway, checkDiscovery, BIN };
