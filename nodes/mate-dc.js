'use strict';
// Node-RED flow node "fieldlink-mate-dc": an Outback FLEXnet DC battery monitor on a
// fieldlink-mate-bus. Polls its status pages (and on every input message); msg.payload.register
// on input reads a named register instead. Payloads are plain JSON with `units` and `text`
// (the shunts A/B/C carry their own); errors go through done(err) / node.error(err, msg).
const { ValidationError } = require('../lib/errors');
const { mateDeviceNode, statusPayload } = require('./lib/mate-flow');
const { translator } = require('./lib/i18n');


module.exports = function register(RED) {
  const t = translator(RED, 'mate-dc');

  function MateDcNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const pagesText = config.pages === undefined || config.pages === '' ? '6' : String(config.pages);
    node.pages = Number(pagesText);
    const ctx = mateDeviceNode(RED, node, config, {
      type: 'dc',
      prefix: 'mate-dc',
      t,
      polls: true,
      check() {
        if (!Number.isInteger(node.pages) || node.pages < 1 || node.pages > 6) {
          throw new ValidationError(t('mate-dc.error.badPages', { pages: pagesText }), 'ERANGE', { argument: 'pages' });
        }
      },
    });

    async function readStatus(msg) {
      return ctx.withDevice(async (dc) => {
        const s = await dc.getStatus({ pages: node.pages });
        msg.payload = statusPayload(s, dc.port);
        msg.kind = 'status';
        msg.topic = node.topic;
        msg.staleAt = ctx.staleAt(msg.payload.timestamp);
        ctx.outcome('green', 'dot', t('mate-dc.status.reading', { soc: s.stateOfCharge }));
        return msg;
      });
    }

    ctx.onInput(ctx.registerOr(readStatus));
    ctx.start(readStatus);
  }

  RED.nodes.registerType('fieldlink-mate-dc', MateDcNode);
};

module.exports.statusPayload = statusPayload;
