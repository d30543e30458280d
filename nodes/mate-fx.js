'use strict';
// Node-RED flow node "fieldlink-mate-fx": an Outback FX inverter/charger on a
// fieldlink-mate-bus. Polls its status (and on every input message); msg.payload.register on
// input reads a named register instead. Payloads are plain JSON with `units` and `text`;
// errors go through done(err) / node.error(err, msg). Changing the FX is the job of the
// separate "FX control" node, which has its own opt-in.
const { mateDeviceNode, statusPayload } = require('./lib/mate-flow');
const { translator } = require('./lib/i18n');


module.exports = function register(RED) {
  const t = translator(RED, 'mate-fx');

  function MateFxNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const ctx = mateDeviceNode(RED, node, config, { type: 'fx', prefix: 'mate-fx', t, polls: true });

    async function readStatus(msg) {
      return ctx.withDevice(async (fx) => {
        const s = await fx.getStatus();
        msg.payload = statusPayload(s, fx.port);
        msg.kind = 'status';
        msg.topic = node.topic;
        msg.staleAt = ctx.staleAt(msg.payload.timestamp);
        const problems = s.errors.length + s.warnings.length;
        const vars = { mode: s.operationalMode, volts: Math.round(s.acOutputVoltage), errors: s.errors.concat(s.warnings).join(', ') };
        if (problems) ctx.outcome('yellow', 'dot', t('mate-fx.status.readingWarn', vars));
        else ctx.outcome('green', 'dot', t('mate-fx.status.reading', vars));
        return msg;
      });
    }

    ctx.onInput(ctx.registerOr(readStatus));
    ctx.start(readStatus);
  }

  RED.nodes.registerType('fieldlink-mate-fx', MateFxNode);
};

module.exports.statusPayload = statusPayload;
