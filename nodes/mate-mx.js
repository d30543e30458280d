'use strict';
// Node-RED flow node "fieldlink-mate-mx": an Outback MX / FLEXmax charge controller on a
// fieldlink-mate-bus. Polls its status (and on every input message); on input also reads a
// named register (msg.payload.register) or the daily log (msg.payload.logPage: one day,
// msg.payload.logDays: the last N days in one message). Payloads are plain JSON with `units`
// and `text` (formatted values); errors go through done(err) / node.error(err, msg).
const { mateDeviceNode, toPayload, localDate } = require('./lib/mate-flow');
const { payloadObject, numberish } = require('./lib/device-node');
const { translator } = require('./lib/i18n');

const MAX_LOG_DAYS = 128; // today and 127 days back

/** The status as a payload: the decoded fields plus PV and charger power in W. */
function statusPayload(s, port) {
  const payload = toPayload({
    ...s,
    pvPower: Math.round(s.pvVoltage * s.pvCurrent),
    chargerPower: Math.round(s.batteryVoltage * s.batteryCurrent),
    units: { ...s.units, pvPower: 'W', chargerPower: 'W' },
  });
  payload.port = port;
  payload.timestamp = new Date().toISOString();
  return payload;
}

/** A log page as a payload, with the local date it stands for. */
function pagePayload(page, now) {
  const payload = toPayload(page);
  payload.date = localDate(now, -page.day);
  return payload;
}

module.exports = function register(RED) {
  const t = translator(RED, 'mate-mx');

  function MateMxNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const ctx = mateDeviceNode(RED, node, config, { type: 'mx', prefix: 'mate-mx', t, polls: true });

    async function readStatus(msg) {
      return ctx.withDevice(async (mx) => {
        const s = await mx.getStatus();
        msg.payload = statusPayload(s, mx.port);
        msg.kind = 'status';
        msg.topic = node.topic;
        msg.staleAt = ctx.staleAt(msg.payload.timestamp);
        ctx.outcome('green', 'dot', t('mate-mx.status.reading', {
          watts: msg.payload.pvPower, volts: s.batteryVoltage.toFixed(1), mode: s.chargerMode,
        }));
        return msg;
      });
    }

    const registerOrStatus = ctx.registerOr(readStatus);
    ctx.onInput(async (msg) => {
      const p = payloadObject(msg);
      if (p.logDays !== undefined) {
        const days = numberish(p.logDays);
        if (!Number.isInteger(days) || days < 1 || days > MAX_LOG_DAYS) {
          throw ctx.invalid('badLogDays', { max: MAX_LOG_DAYS, value: JSON.stringify(p.logDays) }, 'logDays', Number.isInteger(days) ? 'ERANGE' : 'EINVAL');
        }
        return ctx.withDevice(async (mx) => {
          const now = new Date();
          const pages = [];
          for (let d = 0; d < days; d++) pages.push(pagePayload(await mx.getLogPage(-d), now));
          msg.payload = { days, pages, port: mx.port, timestamp: now.toISOString() };
          msg.kind = 'log';
          msg.topic = node.topic;
          return msg;
        });
      }
      if (p.logPage !== undefined) {
        const day = numberish(p.logPage);
        if (typeof day !== 'number') throw ctx.invalid('badLogPage', { value: JSON.stringify(p.logPage) }, 'logPage');
        return ctx.withDevice(async (mx) => {
          const now = new Date();
          msg.payload = { ...pagePayload(await mx.getLogPage(day), now), port: mx.port, timestamp: now.toISOString() };
          msg.kind = 'logPage';
          msg.topic = node.topic;
          return msg;
        });
      }
      return registerOrStatus(msg);
    });

    ctx.start(readStatus);
  }

  RED.nodes.registerType('fieldlink-mate-mx', MateMxNode);
};

module.exports.statusPayload = statusPayload;
