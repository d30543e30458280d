'use strict';
// Starts Node-RED (5 from this repo's node_modules, or 4.1 on Node < 22.9: nodeRedDir) headless, with a given flow, loading the
// fieldlink nodes straight from this checkout. Used by scripts/demo.sh and by the end-to-end
// tests, so both run Node-RED the same way.
//
// How Node-RED finds the nodes: the settings name the repo root in `nodesDir`. Its
// package.json has a "node-red" section, so @node-red/registry loads it as the module
// "fieldlink" (nodes, locales, help, and examples/ under Import > Examples). Dashboard 2.0 is
// found the usual way: the registry walks up from node-red's own folder and scans every
// node_modules on the way, which includes this repo's node_modules/@flowfuse.
//
// As a library:
//   const nr = await startNodeRed({ userDir, flows, port: 0 });   // port 0: a free one
//   ... nr.url ...; await nr.stop();
// As a command (the demo):
//   node scripts/lib/nodered.js --user-dir .demo/node-red --flow examples/x.json --port 1880
//   (--flow may be repeated: the flows are merged into one, see mergeFlows)
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..');

/** True when this Node satisfies a simple ">=X.Y[.Z]" engines range (what Node-RED states). */
function nodeSatisfies(range) {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(String(range || '').trim());
  if (!m) return true;
  const want = [Number(m[1]), Number(m[2] || 0), Number(m[3] || 0)];
  const have = process.versions.node.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i] > want[i];
  return true;
}

/**
 * The Node-RED to run: FIELDLINK_NODE_RED (a node_modules/node-red folder) if set; else the
 * dev dependency (Node-RED 5) when this Node can run it; else Node-RED 4.1 from
 * .runtimes/node-red-4 (bash scripts/runtimes.sh node-red-4 installs it).
 */
function nodeRedDir() {
  if (process.env.FIELDLINK_NODE_RED) return path.resolve(process.env.FIELDLINK_NODE_RED);
  const own = path.join(repoRoot, 'node_modules', 'node-red');
  const engines = JSON.parse(fs.readFileSync(path.join(own, 'package.json'), 'utf8')).engines || {};
  if (nodeSatisfies(engines.node)) return own;
  const nr4 = path.join(repoRoot, '.runtimes', 'node-red-4', 'node_modules', 'node-red');
  if (fs.existsSync(path.join(nr4, 'package.json'))) return nr4;
  throw new Error(`Node-RED in node_modules needs Node ${engines.node}, this is ${process.version}: ` +
    'run bash scripts/runtimes.sh node-red-4 (Node-RED 4.1 for this Node)');
}

/** A TCP port nobody listens on right now. */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The settings object: loopback only, no telemetry, no palette installs, fieldlink from here. */
function makeSettings({ userDir, host, port, logLevel = 'info', extra = {} }) {
  return {
    uiHost: host,
    uiPort: port,
    userDir,
    flowFile: 'flows.json',
    flowFilePretty: true,
    credentialSecret: false,
    nodesDir: [repoRoot],
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    externalModules: {
      autoInstall: false,
      palette: { allowInstall: false, allowUpload: false },
      modules: { allowInstall: false },
    },
    functionExternalModules: false,
    editorTheme: {
      page: { title: 'fieldlink' },
      header: { title: 'fieldlink' },
      projects: { enabled: false },
      tours: false,
    },
    logging: { console: { level: logLevel, metrics: false, audit: false } },
    ...extra,
  };
}

/**
 * Creates userDir (if needed) with settings.js and flows.json.
 * flows: an array, or the path of a flow file to copy.
 */
function prepareUserDir({ userDir, host = '127.0.0.1', port, flows, logLevel, settings = {} }) {
  const dir = path.resolve(userDir);
  fs.mkdirSync(dir, { recursive: true });
  const config = makeSettings({ userDir: dir, host, port, logLevel, extra: settings });
  const header = '// Written by scripts/lib/nodered.js at every start; edit that file instead.\n';
  fs.writeFileSync(path.join(dir, 'settings.js'), `${header}module.exports = ${JSON.stringify(config, null, 2)};\n`);
  const flowText = Array.isArray(flows) ? JSON.stringify(flows, null, 2) : fs.readFileSync(flows, 'utf8');
  JSON.parse(flowText); // refuse to start on a broken flow file
  fs.writeFileSync(path.join(dir, 'flows.json'), flowText);
  return { userDir: dir, settingsFile: path.join(dir, 'settings.js'), flowFile: path.join(dir, 'flows.json') };
}

// JSON with object keys sorted, so two copies of a node compare equal whatever their key order.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Merges flow arrays into one (Node-RED runs one flow file; the demo runs several examples).
 * A node id may appear more than once only for the same node (the examples share their ui-base
 * and ui-theme config nodes by id): one copy is kept. Dashboard 2.0 serves one ui-base: any
 * further ui-base is dropped and whatever named it (pages, notifications) names the first.
 */
function mergeFlows(flowArrays) {
  const out = [];
  const byId = new Map();
  flowArrays.forEach((flows, i) => {
    if (!Array.isArray(flows)) throw new Error(`flow ${i + 1} is not a JSON array of nodes`);
    for (const n of flows) {
      const prev = byId.get(n.id);
      if (prev) {
        if (canonical(prev) !== canonical(n)) throw new Error(`flow ${i + 1}: node id ${n.id} is already used by another node`);
        continue;
      }
      byId.set(n.id, n);
      out.push(n);
    }
  });
  const bases = out.filter((n) => n.type === 'ui-base');
  const renamed = new Map(bases.slice(1).map((b) => [b.id, bases[0].id]));
  if (!renamed.size) return out;
  return out.filter((n) => !renamed.has(n.id)).map((n) => {
    const copy = { ...n };
    for (const [k, v] of Object.entries(copy)) if (typeof v === 'string' && renamed.has(v)) copy[k] = renamed.get(v);
    return copy;
  });
}

function httpStatus(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.setTimeout(1000, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/**
 * Starts Node-RED and resolves once its HTTP server answers and the flows have started.
 * Returns { url, port, host, userDir, child, output(), stop() }.
 */
async function startNodeRed(opts) {
  const host = opts.host || '127.0.0.1';
  const port = opts.port ? Number(opts.port) : await freePort(host);
  const files = prepareUserDir({ ...opts, host, port });
  const inherit = opts.stdio === 'inherit';
  const child = spawn(process.execPath, [path.join(nodeRedDir(), 'red.js'), '--settings', files.settingsFile, '--userDir', files.userDir], {
    cwd: files.userDir,
    env: { ...process.env, NODE_RED_ENABLE_PROJECTS: 'false', ...opts.env },
    stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  if (opts.onChild) opts.onChild(child);
  let output = '';
  // "Started flows" is an info line: with a quieter log (or none here), the HTTP answer is all.
  let flowsStarted = inherit || !['info', 'debug', 'trace'].includes(opts.logLevel || 'info');
  const onData = (d) => {
    output += d.toString();
    if (!flowsStarted && /Started flows/.test(output)) flowsStarted = true;
    if (opts.onOutput) opts.onOutput(d.toString());
  };
  if (!inherit) {
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  }
  let exited = null;
  const exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));

  const url = `http://${host}:${port}`;
  const handle = {
    url,
    host,
    port,
    userDir: files.userDir,
    child,
    output: () => output,
    exited: exitPromise,
    /** SIGINT (Node-RED stops its flows, which releases the ports), SIGKILL after a grace period. */
    async stop(graceMs = 5000) {
      if (exited) return exited;
      child.kill('SIGINT');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs);
      const result = await exitPromise;
      clearTimeout(timer);
      return result;
    },
  };

  const deadline = Date.now() + (opts.readyTimeout || 30000);
  for (;;) {
    if (exited) throw new Error(`Node-RED exited (${exited.code ?? exited.signal}) before it was ready:\n${output}`);
    if (flowsStarted && (await httpStatus(`${url}/`)) === 200) return handle;
    if (Date.now() > deadline) {
      await handle.stop(1000);
      throw new Error(`Node-RED did not start within ${opts.readyTimeout || 30000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--user-dir') out.userDir = next();
    else if (a === '--flow') out.flows = out.flows === undefined ? next() : [].concat(out.flows, next()); // repeatable
    else if (a === '--port') out.port = Number(next());
    else if (a === '--host') out.host = next();
    else if (a === '--log-level') out.logLevel = next();
    else throw new Error(`unknown option ${a}`);
  }
  if (!out.userDir || !out.flows) throw new Error('usage: nodered.js --user-dir DIR --flow FLOW.json [--flow MORE.json ...] [--port N] [--host H] [--log-level L]');
  // Several --flow files: merged into one flow (see mergeFlows).
  if (Array.isArray(out.flows)) out.flows = mergeFlows(out.flows.map((f) => JSON.parse(fs.readFileSync(f, 'utf8'))));
  return out;
}

// Command mode: Node-RED in the foreground (its log on this terminal) until Ctrl-C.
if (require.main === module) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  let child = null;
  let stopping = false;
  // Ctrl-C reaches Node-RED too (same process group); a TERM sent to this process alone is
  // passed on. Either way Node-RED stops its flows (releasing the ports) and exits, then so do we.
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (!child || child.exitCode !== null) process.exit(0);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  startNodeRed({ ...args, stdio: 'inherit', onChild: (c) => { child = c; } }).then(
    (nr) => {
      nr.exited.then((r) => process.exit(stopping ? 0 : (r.code ?? 1)));
    },
    (err) => {
      if (stopping) process.exit(0);
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}

module.exports = {
  nodeRedDir, startNodeRed, prepareUserDir, makeSettings, freePort, repoRoot, mergeFlows };
