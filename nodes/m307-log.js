'use strict';
// Node-RED flow node "fieldlink-m307-log": downloads the data log of an M307 Temperature Guard
// when a message arrives, with the progress in the node status ("log 45%").
//   mode 'single': one message, msg.payload = [record, ...], msg.count
//   mode 'each':   one message per record, msg.payload = record, msg.parts { id, index } for a
//                  Join node; the last one also has parts.count and msg.complete = true
// msg.reset (boolean) overrides the node's "from the oldest record" setting: false continues
// after the last record a previous download received (the device keeps one read pointer).
// One download per device at a time: a second request meanwhile is refused (EBUSY).
const { ValidationError, ConnectionError } = require('../lib/errors');
const { deviceNode } = require('./lib/device-node');
const { translator } = require('./lib/i18n');

const MODES = ['single', 'each'];
const ANALOGUE = { temp1: 'no-sensor', temp2: 'no-sensor', internalTemp: 'no-sensor', internalHumidity: 'failed' };

/**
 * A log record in JSON-safe form: datetime as an ISO string (null when the device stored an
 * invalid time), readings as numbers or null, and readingStatus saying why a reading is null
 * ('no-sensor' / 'failed' for the client's null, 'open-circuit' for Infinity, 'shorted' for
 * -Infinity; 'value' otherwise).
 */
function logRecord(r) {
  const out = { datetime: r.datetime instanceof Date && !Number.isNaN(r.datetime.getTime()) ? r.datetime.toISOString() : null };
  const readingStatus = {};
  for (const [key, nullMeans] of Object.entries(ANALOGUE)) {
    const v = r[key];
    if (typeof v === 'number' && Number.isFinite(v)) {
      out[key] = v;
      readingStatus[key] = 'value';
    } else {
      out[key] = null;
      readingStatus[key] = v === Infinity ? 'open-circuit' : v === -Infinity ? 'shorted' : nullMeans;
    }
  }
  out.readingStatus = readingStatus;
  out.door1State = r.door1State;
  out.door2State = r.door2State;
  out.powerStatus = r.powerStatus;
  out.flags = r.flags;
  return out;
}

module.exports = function register(RED) {
  const t = translator(RED, 'm307-log');

  function M307LogNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.mode = config.mode || 'single';
    node.reset = config.reset !== false && config.reset !== 'false';
    let running = null; // { abort: AbortController } while a download runs
    const ctx = deviceNode(RED, node, config, {
      t,
      prefix: 'm307-log',
      configField: 'device',
      topic: 'm307/log',
      check() {
        if (!MODES.includes(node.mode)) throw new ValidationError(t('m307-log.error.badMode', { mode: String(node.mode) }), 'EINVAL', { argument: 'mode' });
      },
      keepOutcome: () => running !== null, // the progress stays shown through an outage
    });

    function download(msg, send, resetPointer, abort) {
      return ctx.withDevice(async (client) => {
        let shownPercent = -1;
        ctx.outcome('blue', 'dot', t('m307-log.status.progress', { percent: 0 }));
        const onProgress = (p) => {
          const percent = p.percent === null ? 0 : Math.floor(p.percent);
          if (ctx.closed || percent === shownPercent) return;
          shownPercent = percent;
          ctx.outcome('blue', 'dot', t('m307-log.status.progress', { percent }));
        };
        const { _msgid, payload, ...base } = msg;
        const id = _msgid || RED.util.generateId();
        let held = null; // 'each': the previous record, sent when the next one (or the end) comes
        let index = 0;
        const onRecord = node.mode === 'each' ? (r) => {
          if (ctx.closed) return;
          if (held) send({ ...base, topic: node.topic, payload: held, parts: { id, index: index - 1 } });
          held = logRecord(r);
          index += 1;
        } : undefined;
        const records = await client.readLog({ resetPointer, onProgress, onRecord, signal: abort.signal });
        if (ctx.closed) return null;
        if (node.mode === 'each') {
          if (held) send({ ...base, topic: node.topic, payload: held, parts: { id, index: index - 1, count: index }, complete: true });
          return index;
        }
        msg.payload = records.map(logRecord);
        msg.count = records.length;
        msg.topic = node.topic;
        send(msg);
        return records.length;
      });
    }

    ctx.onInput(async (msg, send) => {
      if (msg.reset !== undefined && typeof msg.reset !== 'boolean') {
        throw new ValidationError(t('m307-log.error.badReset', { value: JSON.stringify(msg.reset) }), 'EINVAL', { argument: 'msg.reset' });
      }
      const link = node.deviceNode.link;
      if (running || (link && link.logOwner)) {
        throw new ConnectionError(t('m307-log.error.busy', { target: node.deviceNode.target }), 'EBUSY', { path: node.deviceNode.target });
      }
      const abort = new AbortController();
      running = { abort, link };
      if (link) link.logOwner = node.id;
      try {
        const count = await download(msg, send, msg.reset === undefined ? node.reset : msg.reset, abort);
        if (!ctx.closed && count !== null && count !== undefined) ctx.outcome('green', 'dot', t('m307-log.status.done', { count }));
      } finally {
        if (link && link.logOwner === node.id) link.logOwner = null;
        running = null;
      }
      return null; // sent as the download went
    });

    // A redeploy aborts a download in flight.
    node.on('close', () => {
      if (running) running.abort.abort();
    });

    ctx.start();
  }

  RED.nodes.registerType('fieldlink-m307-log', M307LogNode);
};

module.exports.logRecord = logRecord;
module.exports.MODES = MODES;
