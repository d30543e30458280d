'use strict';
// Mocha's spec reporter plus one closing line CI can read:
//   mocha: N passed, N failed, N skipped
// With FIELDLINK_SUMMARY_FILE set, the counts are also appended to that file as a JSON line,
// so the test command can close several runs (one per Node line) with one total. The line
// also carries each failure (full title, first lines of its error), which the test command
// prints again just above the total: CI shows only the end of a long log, and a failure in a
// line that ran early would otherwise scroll out of it.
const fs = require('node:fs');
const Mocha = require('mocha');

const { EVENT_RUN_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

function firstLines(err, n) {
  const text = err && (err.stack || err.message) ? String(err.stack || err.message) : String(err);
  return text.split('\n').slice(0, n).join('\n');
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    runner.on(EVENT_TEST_FAIL, (test, err) => {
      failures.push({ title: test.fullTitle(), error: firstLines(err, 6) });
    });
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      const file = process.env.FIELDLINK_SUMMARY_FILE;
      if (file) {
        const run = {
          label: process.env.FIELDLINK_RUN_LABEL || '',
          passed: s.passes,
          failed: s.failures,
          skipped: s.pending,
          failures,
        };
        fs.appendFileSync(file, `${JSON.stringify(run)}\n`);
      }
      // After the spec reporter's epilogue, so it is the last line.
      process.nextTick(() => console.log(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`));
    });
  }
}

module.exports = SummaryReporter;
