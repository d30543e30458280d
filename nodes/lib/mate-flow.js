'use strict';
// What the MATE flow nodes (MX, FX, DC, FX control) have in common beyond every device node's
// scaffolding (nodes/lib/device-node.js): the device on the bus (a hub port, or found by
// type), decoded results as JSON-safe payloads with `units` and `text`, register reads.
const { ValidationError } = require('../../lib/errors');
const { format } = require('../../lib/mate/units');
const { deviceNode, payloadObject } = require('./device-node');

const PORT_AUTO = 'auto';

/** 'auto' / '' -> 'auto'; '0'..'10' -> a number; anything else -> NaN. */
function parsePort(value) {
  if (value === undefined || value === null || String(value).trim() === '' || String(value).trim() === PORT_AUTO) return PORT_AUTO;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 && n <= 10 ? n : NaN;
}

/** The local calendar date `daysBack` days before `now`, as YYYY-MM-DD. */
function localDate(now, daysBack) {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysBack);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * A decoded MATE result as plain JSON: every enumerable field (nested results such as the DC
 * shunts too), `units` as the library gives them and `text`: the same fields formatted with
 * their unit ('25.4 V'), since the result's format() does not survive a message copy.
 */
function toPayload(result) {
  const out = {};
  for (const [k, v] of Object.entries(result)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && v.units) out[k] = toPayload(v);
    else if (Buffer.isBuffer(v)) out[k] = v.toString('hex');
    else if (v && typeof v === 'object') out[k] = JSON.parse(JSON.stringify(v));
    else out[k] = v;
  }
  if (out.units) {
    out.text = {};
    for (const [field, unit] of Object.entries(out.units)) out.text[field] = format(out[field], unit);
  }
  return out;
}

/** A status result as a payload, with the hub port and the time it was read. */
function statusPayload(result, port) {
  const payload = toPayload(result);
  payload.port = port;
  payload.timestamp = new Date().toISOString();
  return payload;
}

/**
 * The scaffolding of a MATE flow node: deviceNode() with the hub port setting (config.port:
 * 'auto' finds the first device of `type` on the bus, once per bus), plus readRegister().
 */
function mateDeviceNode(RED, node, config, { type, prefix, t, polls = false, check = () => {} }) {
  node.port = parsePort(config.port);
  const ctx = deviceNode(RED, node, config, {
    t,
    prefix,
    topic: `mate/${type}`,
    polls,
    check() {
      if (Number.isNaN(node.port)) throw new ValidationError(t(`${prefix}.error.badPort`, { port: config.port }), 'ERANGE', { argument: 'port' });
      check();
    },
    device: (link, bus) => (node.port === PORT_AUTO ? link.find(type) : bus.device(node.port, type)),
  });

  /** A named register read: { register, value, unit, raw, address, units, text, port, timestamp }. */
  ctx.readRegister = async (dev, name) => {
    if (typeof name !== 'string' || !name.trim()) {
      throw new ValidationError(t(`${prefix}.error.badRegister`), 'EINVAL', { argument: 'msg.payload.register' });
    }
    const r = await dev.read(name.trim());
    return {
      register: r.name,
      value: r.value,
      unit: r.unit,
      raw: r.raw,
      address: r.address,
      units: { value: r.unit },
      text: { value: r.format('value') },
      port: dev.port,
      timestamp: new Date().toISOString(),
    };
  };

  /** The usual reads of a polling node: msg.payload.register, else the status by readStatus(msg). */
  ctx.registerOr = (readStatus) => async (msg) => {
    const p = payloadObject(msg);
    if (p.register === undefined) return readStatus(msg);
    return ctx.withDevice(async (dev) => {
      msg.payload = await ctx.readRegister(dev, p.register);
      msg.kind = 'register';
      msg.topic = node.topic;
      return msg;
    });
  };
  return ctx;
}

module.exports = { mateDeviceNode, parsePort, toPayload, statusPayload, localDate, PORT_AUTO };
