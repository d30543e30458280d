'use strict';
// Checks that messages came on a poll interval, from their arrival times, without a wall-clock
// budget for the whole run (a loaded machine stretches that): every gap is at least the
// interval (timers never fire early; 20 ms for the clock's granularity), and the shortest gap is
// under five intervals (an interval read in the wrong unit, or polls only on input, fail that).
const assert = require('node:assert');

function assertPolledEvery(times, intervalMs) {
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.ok(gaps.length > 0, 'need two messages or more');
  assert.ok(gaps.every((g) => g >= intervalMs - 20), `gaps ${gaps.join(', ')} ms: a poll came before its interval of ${intervalMs} ms`);
  assert.ok(Math.min(...gaps) < intervalMs * 5, `gaps ${gaps.join(', ')} ms: no poll near the interval of ${intervalMs} ms`);
}

module.exports = { assertPolledEvery };
