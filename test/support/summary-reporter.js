'use strict';
// Mocha's spec reporter plus one closing line CI can read:
//   mocha: N passed, N failed, N skipped
const Mocha = require('mocha');

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      // After the spec reporter's epilogue, so it is the last line.
      process.nextTick(() => console.log(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`));
    });
  }
}

module.exports = SummaryReporter;
