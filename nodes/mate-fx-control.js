'use strict';
// Node-RED flow node "fieldlink-mate-fx-control": changes a control of an Outback FX
// (inverter, AC input, charger, aux, equalize). Turning the inverter off or dropping the AC
// input cuts the power of whatever the FX feeds, so this node does nothing unless BOTH
//   - its MATE bus allows control (the bus's "Allow control" setting), and
//   - this node's own "I understand this can cut power" box is ticked.
// Otherwise every message is refused with a ValidationError ECONTROL before anything is sent
// (no scan, no read: not one byte reaches the bus).
//
// Input:  msg.payload = { control: 'inverter'|'acIn'|'charger'|'aux'|'eq', value }
// Output: msg.payload = { control, value, controls, port, timestamp } once the FX reads back
//         the new value (controls: all five as they read now).
const { ValidationError } = require('../lib/errors');
const { FX_CONTROLS } = require('../lib/mate/bus');
const { mateDeviceNode } = require('./lib/mate-flow');
const { payloadObject } = require('./lib/device-node');
const { flag } = require('./lib/config-node');
const { translator } = require('./lib/i18n');

module.exports = function register(RED) {
  const t = translator(RED, 'mate-fx-control');

  function MateFxControlNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const ctx = mateDeviceNode(RED, node, config, { type: 'fx', prefix: 'mate-fx-control', t });
    node.understood = flag(config.understood);
    node.topic = (config.topic && String(config.topic).trim()) || 'mate/fx/control';

    /** The ECONTROL error when an opt-in is missing, else null. */
    function refusal() {
      const busAllows = !!(node.busNode && node.busNode.allowControl);
      if (busAllows && node.understood) return null;
      let key = 'both';
      if (busAllows) key = 'node';
      else if (node.understood) key = 'bus';
      const bus = (node.busNode && (node.busNode.name || node.busNode.path)) || '?';
      return new ValidationError(t(`mate-fx-control.error.locked.${key}`, { bus }), 'ECONTROL', { argument: key === 'node' ? 'understood' : 'allowControl' });
    }

    function check(p) {
      const names = Object.keys(FX_CONTROLS);
      if (!names.includes(p.control)) {
        throw ctx.invalid('badControl', { controls: names.join(', '), control: JSON.stringify(p.control) }, 'control');
      }
      const values = Object.keys(FX_CONTROLS[p.control].values);
      if (!values.includes(p.value)) {
        throw ctx.invalid('badValue', { control: p.control, values: values.join(', '), value: JSON.stringify(p.value) }, 'value');
      }
    }

    ctx.onInput(async (msg) => {
      const locked = refusal();
      if (locked) throw locked;
      const p = payloadObject(msg);
      check(p);
      return ctx.withDevice(async (fx) => {
        const value = await fx.setControl(p.control, p.value);
        const controls = await fx.getControls();
        msg.payload = { control: p.control, value, controls, port: fx.port, timestamp: new Date().toISOString() };
        msg.topic = node.topic;
        ctx.outcome('green', 'dot', t('mate-fx-control.status.done', { control: p.control, value }));
        return msg;
      });
    });

    ctx.start();
    if (!ctx.problem && refusal()) {
      // Locked: say so instead of the state of the bus (which this node would never use).
      const showLocked = () => ctx.setStatus('grey', 'ring', t('mate-fx-control.status.locked'));
      const off = node.busNode.subscribe(() => {
        if (!ctx.closed) showLocked();
      });
      node.on('close', off);
    }
  }

  RED.nodes.registerType('fieldlink-mate-fx-control', MateFxControlNode);
};
