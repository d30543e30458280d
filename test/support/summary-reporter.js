'use strict';
// Mocha's spec reporter plus one closing line CI can read:
//   mocha: N passed, N failed, N skipped
// With FIELDLINK_SUMMARY_FILE set, the counts are also appended to that file as a JSON line,
// so the test command can close several runs (one per Node line) with one total.
const fs = require('node:fs');
const Mocha = require('mocha');

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      const file = process.env.FIELDLINK_SUMMARY_FILE;
      if (file) {
        const run = { label: process.env.FIELDLINK_RUN_LABEL || '', passed: s.passes, failed: s.failures, skipped: s.pending };
        fs.appendFileSync(file, `${JSON.stringify(run)}\n`);
      }
      // After the spec reporter's epilogue, so it is the last line.
      process.nextTick(() => console.log(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`));
    });
  }
}

module.exports = SummaryReporter;
