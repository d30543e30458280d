'use strict';
// Messages at a node-red-node-test-helper node, for the Node-RED node suites.
//   collect(node, count, ms): the next `count` messages arriving at a helper node; the bound
//     only ends a failing wait.
//   arrivedAt(msg): when a collected message arrived (Date.now()), kept beside the message
//     so the message itself stays as the node sent it.
//   assertPolledEvery(msgs, intervalMs): the messages came on a poll interval, judged from
//     their arrival times without a wall-clock budget for the whole run (a loaded machine
//     stretches that): every gap is at least the interval (timers never fire early; 20 ms for
//     the clock's granularity), and the shortest gap is under five intervals (an interval read
//     in the wrong unit, or polls only on input, fail that).
const assert = require('node:assert');

const arrivals = new WeakMap();

function collect(node, count, ms = 15000) {
  return new Promise((resolve, reject) => {
    const msgs = [];
    const timer = setTimeout(() => {
      node.removeListener('input', on);
      reject(new Error(`got ${msgs.length} of ${count} messages in ${ms} ms`));
    }, ms);
    function on(msg) {
      arrivals.set(msg, Date.now());
      msgs.push(msg);
      if (msgs.length === count) {
        clearTimeout(timer);
        node.removeListener('input', on);
        resolve(msgs);
      }
    }
    node.on('input', on);
  });
}

const arrivedAt = (msg) => arrivals.get(msg);

function assertPolledEvery(msgs, intervalMs) {
  const times = msgs.map(arrivedAt);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.ok(gaps.length > 0, 'need two messages or more');
  assert.ok(gaps.every((g) => g >= intervalMs - 20), `gaps ${gaps.join(', ')} ms: a poll came before its interval of ${intervalMs} ms`);
  assert.ok(Math.min(...gaps) < intervalMs * 5, `gaps ${gaps.join(', ')} ms: no poll near the interval of ${intervalMs} ms`);
}

module.exports = { collect, arrivedAt, assertPolledEvery };
