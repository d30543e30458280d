'use strict';
// Starts Debian's mosquitto for a test: loopback only, an ephemeral port, a generated config in
// a temporary folder (not the system service), no persistence (so a restart loses every
// retained message: what survives must have been published again). Ready = the broker said
// "running" on stderr (an event, not a sleep).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { freePort } = require('../../scripts/lib/nodered'); // the one free-port helper

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

function findMosquitto() {
  const found = CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error('mosquitto is not installed: run "bash scripts/setup.sh" (it installs Debian\'s mosquitto package)');
  }
  return found;
}

/**
 * startBroker({ port, anonymous = true, extra = [] }): extra = more mosquitto.conf lines for the
 * listener (TLS files, password_file); the url scheme is mqtts when extra names a certfile.
 */
async function startBroker({ port, anonymous = true, extra = [] } = {}) {
  const bin = findMosquitto();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-mosq-'));
  const usePort = port || await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [
    `listener ${usePort} 127.0.0.1`,
    ...extra,
    `allow_anonymous ${anonymous ? 'true' : 'false'}`,
    'persistence false',
    `user ${os.userInfo().username}`, // as root, mosquitto would drop to user mosquitto, who cannot read our temp files
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'log_type subscribe',
    'max_queued_messages 100000',
    '',
  ].join('\n'));
  let proc = null;
  let stderr = '';
  const logWaits = new Set();

  function launch() {
    return new Promise((resolve, reject) => {
      stderr = '';
      proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      const p = proc;
      let ready = false;
      p.stderr.on('data', (d) => {
        stderr = (stderr + d.toString()).slice(-65536);
        for (const w of [...logWaits]) if (w.re.test(stderr)) w.done();
        if (!ready && /mosquitto version \S+ running/.test(stderr)) {
          ready = true;
          resolve();
        }
      });
      p.once('exit', (code, signal) => reject(new Error(`mosquitto exited (${code ?? signal}) before it was ready:\n${stderr}`)));
      p.once('error', reject);
    });
  }

  function kill() {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  await launch();
  return {
    port: usePort,
    url: `${extra.some((l) => l.startsWith('certfile')) ? 'mqtts' : 'mqtt'}://127.0.0.1:${usePort}`,
    get stderr() { return stderr; },
    get pid() { return proc ? proc.pid : null; },
    /** Resolves when the broker's log (since its last start) matches re, e.g. a subscription. */
    waitLog(re, ms = 15000) {
      if (re.test(stderr)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = {
          re,
          done: () => {
            clearTimeout(w.timer);
            logWaits.delete(w);
            resolve();
          },
        };
        w.timer = setTimeout(() => {
          logWaits.delete(w);
          reject(new Error(`mosquitto log did not match ${re} within ${ms} ms:\n${stderr.slice(-2000)}`));
        }, ms);
        logWaits.add(w);
      });
    },
    stop: kill,
    async restart() {
      await kill();
      await launch();
    },
    async close() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startBroker, freePort, findMosquitto };
