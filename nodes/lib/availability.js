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
// Offline: the link is down (reconnecting, failed to open, closed) or a request ended
// without an answer (a timeout or a connection error). Online: a request was answered. A
// garbled answer (CRC, framing) or a device's refusal leave the state as it is: the device
// is talking. The first message comes with the first answer or the first failure. A node
// that does not poll only reports what its own reads find (the link state is not its news).
const OFFLINE_CODES = new Set(['ETIMEDOUT', 'EOFFLINE', 'ECONNLOST', 'ENOTCONNECTED', 'ECONNREFUSED', 'ECONNTIMEOUT',
  'ECONNRESET', 'EBUSY', 'ENOENT', 'EACCES', 'EIO', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);

function availability(node, { outputs, output = outputs - 1 }) {
  let state = null;
  let since = null;
  let reason = null;
  let code = null;

  function emit() {
    const msg = {
      topic: 'availability',
      payload: { state, since: since.toISOString(), reason, code, device: node.topic, node: node.id, name: node.name || null },
    };
    const out = new Array(outputs).fill(null);
    out[output] = msg;
    node.send(out);
  }

  return {
    get state() { return state; },
    get since() { return since; },
    online() {
      if (state === 'online') return;
      state = 'online';
      since = new Date();
      reason = null;
      code = null;
      emit();
    },
    offline(why, errCode) {
      if (state === 'offline') return;
      state = 'offline';
      since = new Date();
      reason = why || 'no answer';
      code = errCode || null;
      emit();
    },
    /** A failed request: offline if the device did not answer. */
    fromError(err) {
      if (err && OFFLINE_CODES.has(err.code)) this.offline(err.message, err.code);
    },
    /** A link state ({ state, error }) from a config node's subscribe(). */
    fromLinkState(st) {
      // 'closed' is a redeploy or shutdown, not the device going away.
      if (!st || st.state === 'open' || st.state === 'connecting' || st.state === 'closed') return;
      const e = st.error;
      const why = st.state === 'reconnecting' ? `link lost${e && e.code ? ` (${e.code})` : ''}, reconnecting`
        : st.state === 'failed' ? `cannot open the link${e && e.code ? ` (${e.code})` : ''}` : 'link closed';
      this.offline(e && e.message ? `${why}: ${e.message}` : why, (e && e.code) || (st.state === 'closed' ? 'ECLOSED' : 'ECONNLOST'));
    },
  };
}

/** How long a reading stays fresh: 2.5 poll intervals (null when the node does not poll). */
function staleAt(timestamp, intervalS) {
  if (!(intervalS > 0)) return null;
  return new Date(new Date(timestamp).getTime() + 2500 * intervalS).toISOString();
}

module.exports = { availability, staleAt, OFFLINE_CODES };
