'use strict';
// Node-RED flow node "fieldlink-ha" ("fieldlink to Home Assistant"): turns the messages of one
// fieldlink device node (Modbus sensor, M307 status, MATE MX / FX / DC) into the MQTT messages
// of the shared mapping (lib/mqtt/mapping.js), for Node-RED's core "mqtt out" node: each output
// message has msg.topic, msg.payload (a string), msg.retain and msg.qos.
//
// Inputs (one device per node):
//  - a reading: the device node's msg.payload (its status output) -> state (+ discovery first);
//  - availability: msg.availability = 'online' | 'offline' | { state | online, since, reason },
//    or msg.topic ending in '/availability' with payload 'online' | 'offline' | { state };
//  - an error from a Catch node on the device node (msg.error.code): the same offline rule as
//    the gateway (lib/availability.js);
//  - Home Assistant's birth message (an "mqtt in" on homeassistant/status): 'online' -> announce
//    again (discovery, availability, latest state); the same for 'online' on the Flow status
//    topic (the mqtt broker node's own birth message, received back after every connect: the
//    core mqtt out node drops what it is given while disconnected);
//  - a command from an "mqtt in" on <base>/<id>/set/# (M307 only): sent on output 2 as the input
//    of an M307 config node (clock) or M307 log node (log);
//  - the M307 log node's output (msg.payload = [records]) -> published on <base>/<id>/log;
//  - msg.remove = true -> an empty retained discovery config (removes the device from HA).
// Other messages (alarm-change messages, register reads) are passed over, and said so in the
// status.

const { createMapping, guessKind, checkId, KINDS } = require('../lib/mqtt/mapping');
const { Availability } = require('../lib/availability');
const { ValidationError } = require('../lib/errors');

const LOG_RECORDS_PER_MESSAGE = 500;

/** Reads an availability message in the formats documented above; null when it is none. */
function availabilityOf(msg) {
  const read = (v) => {
    if (v === 'online' || v === true) return { online: true };
    if (v === 'offline' || v === false) return { online: false };
    if (v && typeof v === 'object') {
      if (v.state === 'online' || v.online === true) return { online: true, since: v.since, reason: v.reason };
      if (v.state === 'offline' || v.online === false) return { online: false, since: v.since, reason: v.reason, code: v.code ?? null };
    }
    return null;
  };
  if (msg.availability !== undefined) return read(msg.availability);
  if (typeof msg.topic === 'string' && /(^|\/)availability$/.test(msg.topic)) return read(msg.payload);
  return null;
}

module.exports = function register(RED) {
  function HaNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    let problem = null;
    let mapping = null;
    let dev = null;
    let kind = config.kind && config.kind !== 'auto' ? config.kind : null;
    const avail = new Availability();
    let latest = null; // state messages of the latest reading
    let announced = false;
    const qos = Number(config.qos ?? 1);
    const readingTopics = config.readingTopics !== false && config.readingTopics !== 'false';
    const commands = config.commands !== false && config.commands !== 'false';

    try {
      checkId('device id', String(config.deviceId || '').trim());
      if (kind && !KINDS.includes(kind)) throw new RangeError(`kind must be auto or one of ${KINDS.join(', ')}`);
      if (![0, 1, 2].includes(qos)) throw new RangeError('qos must be 0, 1 or 2');
      mapping = createMapping({
        baseTopic: (config.baseTopic || '').trim() || 'fieldlink',
        discoveryPrefix: (config.discoveryPrefix || '').trim() || 'homeassistant',
        gatewayAvailabilityTopic: (config.bridgeTopic || '').trim() || null,
        qos,
      });
    } catch (err) {
      problem = new ValidationError(err.message, 'EINVAL', { argument: 'deviceId' });
    }

    const out = (m) => ({ topic: m.topic, payload: m.payload, retain: !!m.retain, qos });

    function ensureDevice() {
      if (!dev && kind) {
        dev = mapping.device({ id: config.deviceId.trim(), kind, name: (config.deviceName || '').trim() || config.deviceId.trim(), commands: commands && kind === 'm307' });
      }
      return dev;
    }

    function announcement() {
      const list = [out(dev.discovery())];
      if (avail.state !== 'unknown') list.push(out(dev.availability(avail.state === 'online')));
      if (latest) list.push(...latest.map(out));
      announced = true;
      return list;
    }

    function show(fill, shape, text) {
      node.status({ fill, shape, text });
    }

    if (problem) {
      show('red', 'ring', problem.message);
      node.error(problem);
      node.on('input', (msg, send, done) => done(problem));
      return;
    }

    // A fixed kind is announced at deploy, so HA knows the device before the first reading.
    if (kind) {
      const t = setTimeout(() => {
        if (!announced && ensureDevice()) node.send([announcement(), null]);
      }, 0);
      node.on('close', () => clearTimeout(t));
    }

    node.on('input', (msg, send, done) => {
      try {
        const msgs = [];
        // Home Assistant's birth message, or this flow's own (the broker node's birth on the
        // Flow status topic, received back: the connection is up, so announce now).
        if (msg.topic === mapping.haStatusTopic || (mapping.gatewayAvailabilityTopic && msg.topic === mapping.gatewayAvailabilityTopic)) {
          if (String(msg.payload) === 'online' && ensureDevice()) msgs.push(...announcement());
          if (msgs.length) send([msgs, null]);
          return done();
        }
        // A command from HA (an mqtt in on <base>/<id>/set/#).
        if (dev && typeof msg.topic === 'string' && msg.topic.startsWith(`${mapping.baseTopic}/${dev.id}/set/`)) {
          const command = msg.topic.slice(`${mapping.baseTopic}/${dev.id}/set/`.length);
          if (dev.kind === 'm307' && commands && command === 'clock') send([null, { topic: 'clock', payload: { clock: true } }]);
          else if (dev.kind === 'm307' && commands && command === 'log') send([null, { topic: 'log', payload: {}, reset: true }]);
          else show('yellow', 'ring', `ignored command ${command}`);
          return done();
        }
        if (msg.remove === true) {
          if (ensureDevice()) send([[out(dev.removal())], null]);
          announced = false;
          show('grey', 'ring', 'removed from Home Assistant');
          return done();
        }
        const a = availabilityOf(msg);
        if (a) {
          if (!ensureDevice()) return done(); // the kind is not known yet: the first reading tells
          const changed = a.online ? avail.success() : avail.offline(a.reason, a.code);
          if (!announced) msgs.push(...announcement());
          else if (changed) msgs.push(out(dev.availability(a.online)));
          if (msgs.length) send([msgs, null]);
          show(a.online ? 'green' : 'red', 'ring', a.online ? 'online' : `offline${a.reason ? ` (${a.reason})` : ''}`);
          return done();
        }
        if (msg.error && typeof msg.error === 'object' && msg.error.code !== undefined) {
          if (ensureDevice() && avail.failure(msg.error)) {
            if (!announced) msgs.push(...announcement());
            else msgs.push(out(dev.availability(false)));
            send([msgs, null]);
            show('red', 'ring', `offline (${msg.error.code})`);
          }
          return done();
        }
        // The M307 log node's output.
        if (Array.isArray(msg.payload) && ensureDevice() && dev.kind === 'm307') {
          const records = msg.payload;
          const parts = [];
          for (let i = 0; i === 0 || i < records.length; i += LOG_RECORDS_PER_MESSAGE) {
            const chunk = records.slice(i, i + LOG_RECORDS_PER_MESSAGE);
            parts.push({ topic: dev.topics.log, payload: JSON.stringify({ part: parts.length, records: chunk, last: i + LOG_RECORDS_PER_MESSAGE >= records.length }), retain: false, qos });
          }
          send([parts, null]);
          show('green', 'dot', `log: ${records.length} records`);
          return done();
        }
        const p = msg.payload;
        const guessed = guessKind(p);
        if (!kind && guessed) kind = guessed;
        if (!guessed || guessed !== kind || (msg.kind && msg.kind !== 'status')) {
          show('grey', 'ring', 'passed over a message that is not a reading');
          return done();
        }
        ensureDevice();
        const at = p.timestamp ? Date.parse(p.timestamp) : Date.now();
        const st = dev.state(p, { at: Number.isFinite(at) ? at : Date.now(), readingTopics });
        if (!announced || st.rediscover) msgs.push(out(dev.discovery()));
        if (avail.success() || !announced) msgs.push(out(dev.availability(true)));
        announced = true;
        latest = st.messages;
        msgs.push(...st.messages.map(out));
        send([msgs, null]);
        show('green', 'dot', `${dev.kind} ${dev.id}: seq ${st.values.seq}`);
        return done();
      } catch (err) {
        return done(err);
      }
    });
  }

  RED.nodes.registerType('fieldlink-ha', HaNode);
};

module.exports.availabilityOf = availabilityOf;
