'use strict';
// An MQTT session for a mapping (lib/mqtt/mapping.js), on mqtt.js:
//  - the gateway availability topic is the last will ('offline', retained) and gets 'online'
//    on every connect;
//  - on every connect, and whenever Home Assistant publishes 'online' on <prefix>/status, every
//    device is announced again: discovery, availability, latest state;
//  - while the broker is away nothing is queued in mqtt.js: the latest state of each device is
//    kept (one entry per device, so memory is bounded by the number of devices) and published
//    on reconnect; with `replay: N` the last N readings of each device are kept as well and
//    published in order first (also bounded); by default old readings are not replayed;
//  - commands arrive on <base>/<id>/set/<command> for the devices that expose them and are
//    emitted as 'command' events ({ device, command, payload }).

const { EventEmitter } = require('node:events');

class MqttPublisher extends EventEmitter {
  /**
   * opts: { mapping, url, username, password, ca, cert, key, rejectUnauthorized, clientId, qos = 1,
   *         replay = 0, readingTopics = true, keepalive = 30, reconnectPeriod = 1000, stopTimeout = 3000, log }
   */
  constructor(opts) {
    super();
    this.mapping = opts.mapping;
    this.opts = opts;
    this.qos = opts.qos ?? 1;
    this.replay = opts.replay ?? 0;
    this.readingTopics = opts.readingTopics !== false;
    this.log = opts.log || (() => {});
    this.devices = new Map(); // id -> { map, latest: messages|null, history: [], availability: msg|null, announced }
    this.client = null;
    this.stats = { published: 0, held: 0, dropped: 0, announces: 0, connects: 0 };
  }

  get connected() {
    return !!(this.client && this.client.connected);
  }

  /** Registers a device mapping (mapping.device(...)). */
  addDevice(map) {
    if (this.devices.has(map.id)) throw new RangeError(`device id "${map.id}" is used twice`);
    this.devices.set(map.id, { map, latest: null, latestSent: false, history: [], availability: null });
    if (this.connected) {
      this._subscribeCommands(map);
      this._announce(this.devices.get(map.id));
    }
  }

  start() {
    const mqtt = require('mqtt');
    const m = this.mapping;
    const o = this.opts;
    const options = {
      clientId: o.clientId || `fieldlink-${m.gatewayId || 'flow'}-${process.pid}`,
      clean: true,
      keepalive: o.keepalive ?? 30,
      reconnectPeriod: o.reconnectPeriod ?? 1000,
      connectTimeout: o.connectTimeout ?? 10000,
      queueQoSZero: false,
      resubscribe: false, // subscriptions are made again in 'connect'
    };
    if (o.username != null) options.username = o.username;
    if (o.password != null) options.password = o.password;
    if (o.ca) options.ca = o.ca;
    if (o.cert) options.cert = o.cert;
    if (o.key) options.key = o.key;
    if (o.rejectUnauthorized === false) options.rejectUnauthorized = false;
    if (m.gatewayAvailabilityTopic) {
      options.will = { topic: m.gatewayAvailabilityTopic, payload: Buffer.from('offline'), qos: 1, retain: true };
    }
    const client = mqtt.connect(o.url, options);
    this.client = client;
    client.on('connect', () => this._onConnect());
    client.on('message', (topic, payload) => this._onMessage(topic, payload));
    client.on('close', () => {
      if (this._wasConnected) this.log('info', 'mqtt-disconnected', {});
      this._wasConnected = false;
    });
    client.on('error', (err) => this.log('warn', 'mqtt-error', { code: err.code || null, message: err.message }));
    client.on('offline', () => this.emit('offline'));
  }

  _publish(msg) {
    if (!this.connected) return false;
    this.stats.published += 1;
    this.client.publish(msg.topic, msg.payload, { qos: this.qos, retain: !!msg.retain }, (err) => {
      if (err) this.log('warn', 'mqtt-publish-failed', { topic: msg.topic, message: err.message });
    });
    return true;
  }

  _subscribeCommands(map) {
    if (map.components().some((c) => c.command)) {
      this.client.subscribe(map.topics.commandFilter, { qos: 1 });
    }
  }

  _onConnect() {
    this.stats.connects += 1;
    this._wasConnected = true;
    const m = this.mapping;
    this.log('info', 'mqtt-connected', { url: this.opts.url, connects: this.stats.connects });
    if (m.gatewayAvailabilityTopic) this._publish(m.gatewayAvailability(true));
    this.client.subscribe(m.haStatusTopic, { qos: 1 });
    for (const d of this.devices.values()) this._subscribeCommands(d.map);
    this.announceAll('connect');
    this.emit('connect');
  }

  /** Discovery, availability and the latest state of every device (again). */
  announceAll(why) {
    if (!this.connected) return;
    this.stats.announces += 1;
    for (const d of this.devices.values()) this._announce(d);
    this.log('info', 'announced', { why, devices: this.devices.size });
    this.emit('announced', why);
  }

  _announce(d) {
    this._publish(d.map.discovery());
    if (d.availability) this._publish(d.availability);
    for (const msgs of d.history) for (const msg of msgs) this._publish({ ...msg, retain: false });
    d.history = [];
    if (d.latest) for (const msg of d.latest) this._publish(msg);
    d.latestSent = !!d.latest;
  }

  _onMessage(topic, payload) {
    const text = payload.toString('utf8');
    if (topic === this.mapping.haStatusTopic) {
      if (text === 'online') this.announceAll('homeassistant-birth');
      return;
    }
    for (const d of this.devices.values()) {
      const prefix = `${this.mapping.baseTopic}/${d.map.id}/set/`;
      if (topic.startsWith(prefix)) {
        this.emit('command', { device: d.map.id, command: topic.slice(prefix.length), payload: text });
        return;
      }
    }
  }

  /** A new reading of device id; at: when the device replied (epoch ms). */
  publishState(id, reading, at) {
    const d = this.devices.get(id);
    const out = d.map.state(reading, { at, readingTopics: this.readingTopics });
    if (out.rediscover) this._publish(d.map.discovery());
    if (this.connected) {
      for (const msg of out.messages) this._publish(msg);
    } else {
      this.stats.held += 1;
      // The reading this one replaces was never sent: keep it for replay if asked, else drop it.
      if (d.latest && !d.latestSent) {
        if (this.replay > 0) {
          d.history.push(d.latest.slice(0, 1)); // its state JSON
          if (d.history.length > this.replay) {
            d.history.shift();
            this.stats.dropped += 1;
          }
        } else {
          this.stats.dropped += 1;
        }
      }
    }
    d.latest = out.messages;
    d.latestSent = this.connected;
    return out.values;
  }

  /** online: boolean. Kept and published (now, or on reconnect). */
  setAvailability(id, online) {
    const d = this.devices.get(id);
    d.availability = d.map.availability(online);
    this._publish(d.availability);
  }

  /** Publishes any message (not kept while disconnected). Returns false when not connected. */
  publish(msg) {
    return this._publish(msg);
  }

  /** Removes a device from Home Assistant (empty retained discovery) and forgets it. */
  removeDevice(id) {
    const d = this.devices.get(id);
    if (!d) return false;
    this._publish(d.map.removal());
    this.devices.delete(id);
    return true;
  }

  /** Marks the gateway offline (the same payload as the last will) and disconnects. */
  async stop() {
    const client = this.client;
    if (!client) return;
    this.client = null;
    if (client.connected && this.mapping.gatewayAvailabilityTopic) {
      await new Promise((resolve) => {
        client.publish(this.mapping.gatewayAvailabilityTopic, 'offline', { qos: 1, retain: true }, () => resolve());
        setTimeout(resolve, 2000).unref();
      });
    }
    // end(false) waits for in-flight QoS 1/2 messages; bounded, then the socket is closed.
    await new Promise((resolve) => {
      const t = setTimeout(() => {
        this.log('warn', 'mqtt-stop-timeout', { inflight: Object.keys(client.outgoing || {}).length });
        client.end(true, {}, () => resolve());
        setTimeout(resolve, 500).unref();
      }, this.opts.stopTimeout ?? 3000);
      client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

module.exports = { MqttPublisher };
