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
const { deviceStateStatus, clientFor } = require('./m307-device');
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
    node.name = config.name;
    node.deviceNode = RED.nodes.getNode(config.device);
    node.mode = config.mode || 'single';
    node.reset = config.reset !== false && config.reset !== 'false';
    node.topic = (config.topic && String(config.topic).trim()) || 'm307/log';

    let closed = false;
    let running = null; // { abort: AbortController } while a download runs
    let unsubscribe = null;
    let lastOutcome = null;
    let closeWaiter = null;
    const closedPromise = new Promise((resolve) => { closeWaiter = resolve; });

    let problem = null;
    if (!MODES.includes(node.mode)) {
      problem = new ValidationError(t('m307-log.error.badMode', { mode: String(node.mode) }), 'EINVAL', { argument: 'mode' });
    } else if (!node.deviceNode) {
      problem = new ValidationError(t('m307-log.error.noDevice'), 'EINVAL', { argument: 'device' });
    }

    function outcome(st) {
      lastOutcome = st;
      node.status(st);
    }

    async function download(msg, send, resetPointer, abort) {
      const client = await Promise.race([clientFor(node.deviceNode), closedPromise]);
      if (closed) return null;
      let shownPercent = -1;
      outcome({ fill: 'blue', shape: 'dot', text: t('m307-log.status.progress', { percent: 0 }) });
      const onProgress = (p) => {
        const percent = p.percent === null ? 0 : Math.floor(p.percent);
        if (closed || percent === shownPercent) return;
        shownPercent = percent;
        outcome({ fill: 'blue', shape: 'dot', text: t('m307-log.status.progress', { percent }) });
      };
      const { _msgid, payload, ...base } = msg;
      const id = _msgid || RED.util.generateId();
      let held = null; // 'each': the previous record, sent when the next one (or the end) comes
      let index = 0;
      const onRecord = node.mode === 'each' ? (r) => {
        if (closed) return;
        if (held) send({ ...base, topic: node.topic, payload: held, parts: { id, index: index - 1 } });
        held = logRecord(r);
        index += 1;
      } : undefined;
      const records = await client.readLog({ resetPointer, onProgress, onRecord, signal: abort.signal });
      if (closed) return null;
      if (node.mode === 'each') {
        if (held) send({ ...base, topic: node.topic, payload: held, parts: { id, index: index - 1, count: index }, complete: true });
        return index;
      }
      msg.payload = records.map(logRecord);
      msg.count = records.length;
      msg.topic = node.topic;
      send(msg);
      return records.length;
    }

    node.on('input', (msg, send, done) => {
      if (problem) {
        done(problem);
        return;
      }
      if (msg.reset !== undefined && typeof msg.reset !== 'boolean') {
        done(new ValidationError(t('m307-log.error.badReset', { value: JSON.stringify(msg.reset) }), 'EINVAL', { argument: 'msg.reset' }));
        return;
      }
      const link = node.deviceNode.link;
      if (running || (link && link.logOwner)) {
        done(new ConnectionError(t('m307-log.error.busy', { target: node.deviceNode.target }), 'EBUSY', { path: node.deviceNode.target }));
        return;
      }
      const abort = new AbortController();
      running = { abort, link };
      if (link) link.logOwner = node.id;
      const finish = () => {
        if (link && link.logOwner === node.id) link.logOwner = null;
        running = null;
      };
      download(msg, send, msg.reset === undefined ? node.reset : msg.reset, abort).then(
        (count) => {
          finish();
          if (closed || count === null) return done();
          outcome({ fill: 'green', shape: 'dot', text: t('m307-log.status.done', { count }) });
          done();
        },
        (err) => {
          finish();
          // A redeploy aborts what is in flight: that is not worth a Catch.
          if (closed) return done();
          outcome({ fill: 'red', shape: 'ring', text: t('m307-log.status.error', { code: err.code || err.name || 'ERROR' }) });
          done(err);
        },
      );
    });

    node.on('close', (removed, done) => {
      closed = true;
      closeWaiter(null);
      if (running) running.abort.abort();
      if (unsubscribe) unsubscribe();
      unsubscribe = null;
      done();
    });

    if (problem) {
      node.status({ fill: 'red', shape: 'ring', text: problem.argument === 'device' ? t('m307-log.status.noDevice') : t('m307-log.status.badSettings', { code: problem.code }) });
      node.error(problem);
      return;
    }
    unsubscribe = node.deviceNode.subscribe((st) => {
      if (st.state !== 'open' && !running) lastOutcome = null;
      const shown = deviceStateStatus(t, 'm307-log', st);
      node.status(shown || lastOutcome || { fill: 'green', shape: 'ring', text: t('m307-log.status.connected') });
    });
  }

  RED.nodes.registerType('fieldlink-m307-log', M307LogNode);
};

module.exports.logRecord = logRecord;
module.exports.MODES = MODES;
