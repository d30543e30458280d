'use strict';
// The editor's port picker endpoint in a real Node-RED (headless, scripts/lib/nodered.js) with
// adminAuth on: GET /fieldlink/ports needs the fieldlink.read permission (in Node-RED's "read"
// scope; not tied to one family's node type). It is the
// one port endpoint of every serial panel (Modbus and MATE): the MATE copy is gone. The panels'
// other shared endpoint, GET /fieldlink/defaults, is guarded the same way.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const bcrypt = require('bcryptjs');
const { startNodeRed } = require('../../scripts/lib/nodered');

describe('Node-RED admin endpoint GET /fieldlink/ports (adminAuth)', function () {
  this.timeout(30000);
  let nr;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-nr-auth-'));

  before(async function () {
    const hash = bcrypt.hashSync('secret', 6);
    nr = await startNodeRed({
      userDir,
      flows: [],
      logLevel: 'warn',
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'viewer', password: hash, permissions: 'read' },
            { username: 'flowsonly', password: hash, permissions: 'flows.read' },
            { username: 'fieldlinkonly', password: hash, permissions: ['fieldlink.read'] },
          ],
        },
      },
    });
  });

  after(async function () {
    if (nr) await nr.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function token(username, scope) {
    const res = await fetch(`${nr.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: 'secret' }),
    });
    assert.strictEqual(res.status, 200, `login of ${username}`);
    return (await res.json()).access_token;
  }

  const getPorts = (bearer) => fetch(`${nr.url}/fieldlink/ports`, bearer ? { headers: { Authorization: `Bearer ${bearer}` } } : {});

  it('refuses an anonymous request with 401', async function () {
    assert.strictEqual((await getPorts()).status, 401);
  });

  it('refuses a user without the read permission with 401', async function () {
    const res = await getPorts(await token('flowsonly', 'flows.read'));
    assert.strictEqual(res.status, 401);
  });

  it('has no second copy at /fieldlink/mate-bus/ports', async function () {
    const res = await fetch(`${nr.url}/fieldlink/mate-bus/ports`, { headers: { Authorization: `Bearer ${await token('viewer', 'read')}` } });
    assert.strictEqual(res.status, 404);
  });

  it('GET /fieldlink/defaults: 401 without a login, lib/defaults.js for a user with "read"', async function () {
    assert.strictEqual((await fetch(`${nr.url}/fieldlink/defaults`)).status, 401);
    const res = await fetch(`${nr.url}/fieldlink/defaults`, { headers: { Authorization: `Bearer ${await token('viewer', 'read')}` } });
    assert.strictEqual(res.status, 200);
    assert.deepStrictEqual(await res.json(), JSON.parse(JSON.stringify(require('../../lib/defaults'))));
  });

  it('answers a user with "read" with 200 and a JSON array of ports', async function () {
    const res = await getPorts(await token('viewer', 'read'));
    assert.strictEqual(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/json/);
    const ports = await res.json();
    assert.ok(Array.isArray(ports));
    for (const p of ports) {
      assert.strictEqual(typeof p.path, 'string');
      assert.strictEqual(typeof p.preferredPath, 'string');
      assert.strictEqual(typeof p.isRs485, 'boolean');
    }
  });

  it('a user granted only fieldlink.read gets both shared endpoints', async function () {
    const bearer = await token('fieldlinkonly', 'fieldlink.read');
    assert.strictEqual((await getPorts(bearer)).status, 200);
    const res = await fetch(`${nr.url}/fieldlink/defaults`, { headers: { Authorization: `Bearer ${bearer}` } });
    assert.strictEqual(res.status, 200);
  });
});
