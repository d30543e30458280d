'use strict';
// Node-RED flow node "fieldlink-mate-dc": an Outback FLEXnet DC battery monitor on a
// fieldlink-mate-bus. Polls its status pages (and on every input message); msg.payload.register
// on input reads a named register instead. Payloads are plain JSON with `units` and `text`
// (the shunts A/B/C carry their own); errors go through done(err) / node.error(err, msg).
const { ValidationError } = require('../lib/errors');
const { deviceNode, handleInput, payloadObject, toPayload } = require('./mate-bus');
const { translator } = require('./lib/i18n');

function statusPayload(s, port) {
  const payload = toPayload(s);
  payload.port = port;
  payload.timestamp = new Date().toISOString();
  return payload;
}

module.exports = function register(RED) {
  const t = translator(RED, 'mate-dc');

  function MateDcNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const ctx = deviceNode(RED, node, config, { type: 'dc', prefix: 'mate-dc', t, polls: true });
    const pagesText = config.pages === undefined || config.pages === '' ? '6' : String(config.pages);
    node.pages = Number(pagesText);
    let problem = null;
    if (!Number.isInteger(node.pages) || node.pages < 1 || node.pages > 6) {
      problem = new ValidationError(t('mate-dc.error.badPages', { pages: pagesText }), 'ERANGE', { argument: 'pages' });
    }

    async function readStatus(msg) {
      return ctx.withDevice(async (dc) => {
        const s = await dc.getStatus({ pages: node.pages });
        msg.payload = statusPayload(s, dc.port);
        msg.kind = 'status';
        msg.topic = node.topic;
        ctx.outcome('green', 'dot', t('mate-dc.status.reading', { soc: s.stateOfCharge }));
        return msg;
      });
    }

    if (problem) {
      node.status({ fill: 'red', shape: 'ring', text: t('mate-dc.status.badSettings', { code: problem.code }) });
      node.error(problem);
      node.on('input', (msg, send, done) => done(problem));
      return;
    }

    handleInput(node, ctx, async (msg) => {
      const p = payloadObject(msg);
      if (p.register !== undefined) {
        return ctx.withDevice(async (dc) => {
          msg.payload = await ctx.readRegister(dc, p.register);
          msg.kind = 'register';
          msg.topic = node.topic;
          return msg;
        });
      }
      return readStatus(msg);
    });

    ctx.start();
    if (!ctx.problem && node.interval > 0) ctx.startPolling(readStatus);
  }

  RED.nodes.registerType('fieldlink-mate-dc', MateDcNode);
};

module.exports.statusPayload = statusPayload;
