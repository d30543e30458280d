'use strict';
// The headless gateway: polls the configured Modbus buses, M307 units and MATE buses and
// publishes every reading through the MQTT mapping (lib/mqtt). Used by `fieldlink gateway`.
//
// Each device has a poll loop (a timer re-armed after each read, so a slow device never
// stacks reads) and an Availability (lib/availability.js). A link that cannot be opened
// at start is retried with capped backoff; once open, the library's own reconnect takes over
// and its 'state' events mark the devices on it offline while it is down.

const { createMapping, componentsOf, KINDS } = require('../mqtt/mapping');
const { MqttPublisher } = require('../mqtt/publisher');
const { Availability } = require('../availability');

const LOG_LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };
const LOG_RECORDS_PER_MESSAGE = 500;

/** A JSON-lines logger: one object per line, { ts, level, event, ...fields }. */
function jsonLogger(stream, level = 'info') {
  const min = LOG_LEVELS[level] ?? 20;
  return (lvl, event, fields = {}) => {
    if ((LOG_LEVELS[lvl] ?? 20) < min) return;
    stream.write(`${JSON.stringify({ ts: new Date().toISOString(), level: lvl, event, ...fields })}\n`);
  };
}

const now = () => performance.timeOrigin + performance.now();

class Gateway {
  /** cfg: the output of parseConfig(); log: (level, event, fields) => void */
  constructor(cfg, { log = () => {}, lib = require('..') } = {}) {
    this.cfg = cfg;
    this.log = log;
    this.lib = lib;
    this.closed = false;
    this.links = []; // { close() }
    this.devices = new Map(); // id -> { avail, map, timer, ... }
    this.timers = new Set();
    const m = cfg.mqtt;
    this.mapping = createMapping({ baseTopic: m.baseTopic, discoveryPrefix: m.discoveryPrefix, gatewayId: cfg.gateway.id, qos: m.qos });
    this.publisher = new MqttPublisher({
      mapping: this.mapping,
      url: m.url,
      clientId: m.clientId,
      username: m.username,
      password: m.password,
      ca: m.caData,
      cert: m.certData,
      key: m.keyData,
      rejectUnauthorized: m.rejectUnauthorized,
      qos: m.qos,
      keepalive: m.keepalive,
      replay: m.replay,
      readingTopics: m.readingTopics,
      log,
    });
    this.publisher.on('command', (c) => this._command(c));
  }

  _timer(fn, ms) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  /** Registers a device: its mapping, availability and poll loop. read() -> reading. */
  _device(desc, intervalS, read, extra = {}) {
    const map = this.mapping.device(desc);
    const dev = { id: desc.id, kind: desc.kind, map, avail: new Availability(), read, intervalMs: intervalS * 1000, busy: false, ...extra };
    this.devices.set(desc.id, dev);
    this.publisher.addDevice(map);
    return dev;
  }

  _setAvailability(dev, changed) {
    if (!changed) return;
    this.publisher.setAvailability(dev.id, dev.avail.state === 'online');
    this.log(dev.avail.state === 'online' ? 'info' : 'warn', 'availability', { device: dev.id, state: dev.avail.state, reason: dev.avail.reason, since: dev.avail.since });
  }

  async _poll(dev) {
    if (this.closed) return;
    dev.busy = true;
    try {
      const reading = await dev.read();
      if (this.closed) return;
      const at = now();
      this._setAvailability(dev, dev.avail.success());
      const values = this.publisher.publishState(dev.id, reading, at);
      this.log('debug', this.publisher.connected ? 'state' : 'state-held', { device: dev.id, seq: values.seq });
    } catch (err) {
      if (this.closed) return;
      this.log('debug', 'read-failed', { device: dev.id, code: err.code || null, message: err.message });
      this._setAvailability(dev, dev.avail.failure(err));
    } finally {
      dev.busy = false;
    }
    if (!this.closed) dev.timer = this._timer(() => this._poll(dev), dev.intervalMs);
  }

  _linkState(devs, st) {
    for (const dev of devs) this._setAvailability(dev, dev.avail.linkState(st));
  }

  /**
   * Opens a link for `devs` (retrying, below), keeps it for close() and follows its state
   * events. Resolves with the link, or null when the gateway stopped first.
   */
  async _link(what, devs, open) {
    const link = await this._open(what, devs, open);
    if (!link) return null;
    if (this.closed) {
      await link.close();
      return null;
    }
    this.links.push(link);
    this.log('info', 'link-open', { link: what, devices: devs.map((d) => d.id) });
    link.on('state', (st) => this._linkState(devs, st));
    return link;
  }

  /** Opens a link, retrying with capped backoff until it opens or the gateway stops. */
  async _open(what, devs, fn) {
    let delay = 1000;
    for (;;) {
      if (this.closed) return null;
      try {
        return await fn();
      } catch (err) {
        this.log('warn', 'open-failed', { link: what, code: err.code || null, message: err.message, retryInMs: delay });
        for (const dev of devs) this._setAvailability(dev, dev.avail.offline(err.message, err.code || 'ECONNREFUSED'));
        await new Promise((resolve) => this._timer(resolve, delay));
        delay = Math.min(delay * 2, 30000);
      }
    }
  }

  async start() {
    this.log('info', 'starting', { gateway: this.cfg.gateway.id, mqtt: this.cfg.mqtt.url });
    const starts = [];
    for (const b of this.cfg.modbus || []) starts.push(this._startModbus(b));
    for (const m of this.cfg.m307 || []) starts.push(this._startM307(m));
    for (const b of this.cfg.mate || []) starts.push(this._startMate(b));
    this.publisher.start();
    // Devices are registered synchronously above; links open in the background.
    this._starting = Promise.all(starts);
  }

  _startModbus(b) {
    const { ModbusBus } = this.lib;
    const devs = b.sensors.map((s) => this._device({ id: s.id, kind: 'modbus', name: s.name, model: `${s.profile} (unit ${s.unit})` }, s.interval ?? b.interval, null, { sensor: s }));
    const opts = {};
    for (const k of ['baudRate', 'parity', 'dataBits', 'stopBits', 'timeout', 'retries']) if (b[k] !== undefined) opts[k] = b[k];
    return this._link(b.port, devs, () => ModbusBus.open(b.port, opts)).then((bus) => {
      if (!bus) return;
      for (const dev of devs) {
        const sensor = bus.sensor(dev.sensor.unit, { profile: dev.sensor.profile });
        dev.read = () => sensor.read();
        this._poll(dev);
      }
    });
  }

  _startM307(m) {
    const { M307Client } = this.lib;
    const dev = this._device({ id: m.id, kind: 'm307', name: m.name, commands: m.commands }, m.interval, null, { m307: m });
    return this._link(`${m.host}:${m.port}`, [dev], () => M307Client.connect(m.host, { port: m.port, timeout: m.timeout })).then((client) => {
      if (!client) return;
      dev.client = client;
      dev.read = () => client.readStatus();
      this._poll(dev);
    });
  }

  _startMate(b) {
    const { MateBus } = this.lib;
    const devs = b.devices.map((d) => this._device({
      id: d.id, kind: d.type, name: d.name, controls: d.type === 'fx' && d.controls && b.allowControl && d.iUnderstandThisCanCutPower,
    }, d.interval ?? b.interval, null, { mate: d }));
    const opts = { allowControl: b.allowControl };
    for (const k of ['timeout', 'retries', 'parityMode']) if (b[k] !== undefined) opts[k] = b[k];
    return this._link(b.port, devs, () => MateBus.open(b.port, opts)).then(async (bus) => {
      if (!bus) return;
      for (const dev of devs) {
        let unit = null;
        const find = async () => {
          if (unit) return unit;
          const hp = dev.mate.hubPort;
          // find() scans the hub and throws ENODEVICE when the type is not on it.
          unit = hp === 'auto' ? await bus.find(dev.mate.type) : bus[dev.mate.type](hp);
          return unit;
        };
        dev.unit = find;
        dev.read = async () => {
          const u = await find();
          const s = await u.getStatus();
          if (dev.kind === 'fx' && dev.map.components().some((c) => c.platform === 'select')) s.controls = await u.getControls();
          return s;
        };
        this._poll(dev);
      }
    });
  }

  async _command({ device, command, payload }) {
    const dev = this.devices.get(device);
    if (!dev || this.closed) return;
    const reply = (ok, fields) => this.publisher.publish({
      topic: dev.map.topics.result(command),
      payload: JSON.stringify({ ok, command, ...fields, ts: new Date().toISOString() }),
      retain: false,
    });
    this.log('info', 'command', { device, command });
    try {
      if (dev.kind === 'm307' && !dev.m307.commands) throw Object.assign(new Error('commands are turned off for this M307 (commands: false)'), { code: 'ECONTROL' });
      if (dev.kind === 'm307' && command === 'clock') {
        if (!dev.client) throw Object.assign(new Error('the M307 is not connected'), { code: 'ENOTCONNECTED' });
        const info = await dev.client.getLogInfo();
        const c = await dev.client.setLogDatetime(new Date(), info.logRateMinutes || 5);
        reply(true, { result: JSON.parse(JSON.stringify(c)) });
      } else if (dev.kind === 'm307' && command === 'log') {
        if (!dev.client) throw Object.assign(new Error('the M307 is not connected'), { code: 'ENOTCONNECTED' });
        let chunk = [];
        let part = 0;
        let total = 0;
        const flush = (last) => {
          this.publisher.publish({ topic: dev.map.topics.log, payload: JSON.stringify({ part, records: chunk, last }), retain: false });
          part += 1;
          chunk = [];
        };
        await dev.client.readLog({
          resetPointer: true,
          onRecord: (rec) => {
            chunk.push(JSON.parse(JSON.stringify(rec)));
            total += 1;
            if (chunk.length >= LOG_RECORDS_PER_MESSAGE) flush(false);
          },
        });
        flush(true);
        reply(true, { records: total, parts: part });
      } else if (dev.kind === 'fx' && command.startsWith('control/')) {
        const control = command.slice('control/'.length);
        const cfg = dev.mate;
        // The double opt-in is checked again here, not only when the select was announced.
        if (!(cfg.controls && cfg.iUnderstandThisCanCutPower)) throw Object.assign(new Error('FX controls are not enabled'), { code: 'ECONTROL' });
        const fx = await dev.unit();
        const value = await fx.setControl(control, payload);
        reply(true, { control, value }); // the next poll shows the new state
      } else {
        throw Object.assign(new Error(`unknown command "${command}" for a ${dev.kind}`), { code: 'EINVAL' });
      }
    } catch (err) {
      this.log('warn', 'command-failed', { device, command, code: err.code || null, message: err.message });
      reply(false, { code: err.code || null, message: err.message });
    }
  }

  /** Stops polling, marks the gateway offline, closes the broker connection and the links. */
  async stop() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.publisher.stop();
    await Promise.allSettled(this.links.map((l) => l.close()));
    this.log('info', 'stopped', {});
  }
}

/**
 * Removes devices from Home Assistant: an empty retained discovery config for each, and
 * empty retained payloads on their state and availability topics (which clears them on the
 * broker). Connects with the config's MQTT settings, without a last will, and disconnects.
 */
async function removeDevices(cfg, ids, { log = () => {} } = {}) {
  const mqtt = require('mqtt');
  const m = cfg.mqtt;
  const mapping = createMapping({ baseTopic: m.baseTopic, discoveryPrefix: m.discoveryPrefix, gatewayId: cfg.gateway.id });
  const options = { clientId: `fieldlink-${cfg.gateway.id}-remove-${process.pid}`, reconnectPeriod: 0, connectTimeout: 10000 };
  if (m.username != null) options.username = m.username;
  if (m.password != null) options.password = m.password;
  if (m.caData) options.ca = m.caData;
  if (m.certData) options.cert = m.certData;
  if (m.keyData) options.key = m.keyData;
  if (m.rejectUnauthorized === false) options.rejectUnauthorized = false;
  const client = await mqtt.connectAsync(m.url, options);
  try {
    for (const id of ids) {
      const dev = mapping.device({ id, kind: 'modbus' }); // the kind does not change these topics
      const readings = new Set(KINDS.flatMap((k) => componentsOf(k).filter((c) => c.platform !== 'button').map((c) => c.key)));
      const clear = [dev.topics.state, dev.topics.availability, ...[...readings].map((k) => dev.topics.reading(k))];
      for (const msg of [dev.removal(), ...clear.map((topic) => ({ topic, payload: '', retain: true }))]) {
        await client.publishAsync(msg.topic, msg.payload, { qos: 1, retain: true });
      }
      log('info', 'removed', { device: id, discovery: dev.topics.discovery });
    }
  } finally {
    await client.endAsync();
  }
}

module.exports = { Gateway, jsonLogger, removeDevices };
