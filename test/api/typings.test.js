'use strict';
// The typings (lib/index.d.ts) compile against the documented usage, strictly.
const assert = require('node:assert');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

describe('typings (lib/index.d.ts)', function () {
  it('accept the documented usage and reject misuse', function () {
    this.timeout(60000);
    let tsc;
    try {
      tsc = require.resolve('typescript/bin/tsc');
    } catch {
      this.skip();
    }
    const file = path.join(__dirname, '..', 'types', 'usage.ts');
    let out = '';
    try {
      out = execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs',
        '--moduleResolution', 'node', '--lib', 'es2022,esnext.disposable', '--types', 'node', '--skipLibCheck', file], { encoding: 'utf8' });
    } catch (e) {
      assert.fail(`tsc reported errors:\n${e.stdout}${e.stderr}`);
    }
    assert.strictEqual(out.trim(), '');
  });
});
