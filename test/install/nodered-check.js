'use strict';
// Part of `npm run test:install`: starts Node-RED (installed from npm in the test root) on a
// user dir where fieldlink was installed with `npm install <tarball>`, as a Node-RED user
// would, and checks through the admin API that every node set fieldlink's package.json lists
// is loaded and enabled, with no error. Loopback and an ephemeral port only.
//   node nodered-check.js <node-red dir> <user dir>
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const [redDir, userDir] = process.argv.slice(2).map((p) => path.resolve(p));
const pkg = JSON.parse(fs.readFileSync(path.join(userDir, 'node_modules', 'fieldlink', 'package.json'), 'utf8'));
const expected = Object.keys(pkg['node-red'].nodes);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function getNodes(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/nodes', headers: { Accept: 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

async function main() {
  const port = await freePort();
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify({
    uiHost: '127.0.0.1',
    uiPort: port,
    flowFile: 'flows.json',
    credentialSecret: false,
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    logging: { console: { level: 'info' } },
  }, null, 2)};\n`);
  const red = spawn(process.execPath, [path.join(redDir, 'red.js'), '-u', userDir, '-s', path.join(userDir, 'settings.js')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const started = new Promise((resolve, reject) => {
    const onData = (d) => {
      log += d;
      if (/Server now running at/.test(log)) resolve();
    };
    red.stdout.on('data', onData);
    red.stderr.on('data', onData);
    red.on('exit', (code) => reject(new Error(`node-red exited (${code}) before it started:\n${log}`)));
  });
  try {
    await started;
    const sets = (await getNodes(port)).filter((s) => s.module === 'fieldlink');
    const problems = [];
    for (const name of expected) {
      const s = sets.find((x) => x.name === name);
      if (!s) problems.push(`${name}: not registered`);
      // A node file that throws while loading (e.g. the addon does not load) leaves err set.
      else if (!s.enabled || s.err || !s.types.length) problems.push(`${name}: enabled=${s.enabled} types=${s.types} err=${s.err && (s.err.message || JSON.stringify(s.err))}`);
    }
    if (problems.length) throw new Error(`fieldlink node sets not loaded:\n  ${problems.join('\n  ')}\nNode-RED log:\n${log}`);
    const types = sets.flatMap((s) => s.types);
    const version = (log.match(/Node-RED version: (v[\d.]+)/) || [])[1];
    console.log(`node-red ${version}: ${sets.length} fieldlink node sets loaded (${types.length} types: ${types.join(', ')})`);
  } finally {
    red.kill('SIGINT');
  }
}

main().catch((err) => {
  console.error(`nodered-check: FAILED: ${err.message}`);
  process.exitCode = 1;
});
