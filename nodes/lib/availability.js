'use strict';
// Availability of one device as one flow node sees it, sent on the node's last output when it
// changes (and only then):
//
//   msg.topic   'availability'
//   msg.payload { state: 'online' | 'offline', since: ISO 8601 time of the change,
//                 reason: text (offline) | null, code: error code (offline) | null,
//                 device: the node's topic (e.g. 'modbus/1'), node: the node's id,
//                 name: the node's name or null }
//
// The rule (what counts as offline) is lib/availability.js, shared with the gateway and the
// "to Home Assistant" node. The first message comes with the first answer or the first
// failure. A node that does not poll only reports what its own reads find (the link state is
// not its news).
const { Availability } = require('../../lib/availability');

function availability(node, { outputs, output = outputs - 1 }) {
  const a = new Availability();
  const emit = (changed) => {
    if (!changed) return;
    const out = new Array(outputs).fill(null);
    out[output] = { topic: 'availability', payload: { ...a.toJSON(), device: node.topic, node: node.id, name: node.name || null } };
    node.send(out);
  };
  return {
    get state() { return a.state; },
    get since() { return a.since; },
    online() { emit(a.success()); },
    offline(why, code) { emit(a.offline(why, code)); },
    /** A failed request (lib/availability.js decides whether the device stopped answering). */
    fromError(err) { emit(a.failure(err)); },
    /** A link state ({ state, error }) from a config node's subscribe(). */
    fromLinkState(st) { emit(a.linkState(st)); },
  };
}

/** How long a reading stays fresh: 2.5 poll intervals (null when the node does not poll). */
function staleAt(timestamp, intervalS) {
  if (!(intervalS > 0)) return null;
  return new Date(new Date(timestamp).getTime() + 2500 * intervalS).toISOString();
}

module.exports = { availability, staleAt };
