'use strict';
// Starts the C Modbus slave (bench/native/mbslave.c) for one master run.
//
// transport 'openpty' (default): mbslave makes the pty pair itself with openpty() and serves
//   the master side; the master opens the slave side (/dev/pts/N through a symlink). One
//   kernel hop each way, no relay process.
// transport 'socat': `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`, mbslave on
//   A, the master on B. Every byte is relayed by socat (two more pty hops and a third
//   process that needs a core for each request and each reply).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const c = require('./common');

let seq = 0;

function tmpName(tag) {
  seq += 1;
  return path.join(os.tmpdir(), `fieldlink-bench-${process.pid}-${seq}-${tag}`);
}

async function waitFor(fn, ms, what) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (fn()) return;
    await c.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * startSlave({ transport, pace, bins }) -> { path, transport, stop(): Promise<{ requests,
 * replies, cpuUs, relayCpuUs }> }
 */
async function startSlave({ transport = 'openpty', pace = 0, bins, pin }) {
  const paceArgs = pace ? ['--pace', String(pace)] : [];
  const [cmd, pre] = pin !== undefined ? ['taskset', ['-c', String(pin), bins.mbslave]] : [bins.mbslave, []];
  if (transport === 'openpty') {
    const link = tmpName('pty');
    const s = await c.startChild(cmd, [...pre, '--openpty', link, ...paceArgs]);
    return {
      path: link,
      transport,
      pid: s.child.pid,
      async stop() {
        await s.stop('SIGTERM');
        const line = s.lines.reverse().find((l) => l.startsWith('{'));
        const st = line ? JSON.parse(line) : {};
        return { ...st, relayCpuUs: 0 };
      },
    };
  }
  if (transport !== 'socat') throw new Error(`unknown transport ${transport} (openpty | socat)`);
  const a = tmpName('A');
  const b = tmpName('B');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  socat.stderr.on('data', (d) => { err += d; });
  const socatExit = new Promise((r) => socat.on('exit', r));
  try {
    await waitFor(() => /starting data transfer loop/.test(err) && fs.existsSync(a) && fs.existsSync(b), 5000, 'socat');
  } catch (e) {
    socat.kill('SIGKILL');
    throw new Error(`socat did not start (apt-get install -y socat): ${err}`, { cause: e });
  }
  const s = await c.startChild(cmd, [...pre, '--path', a, ...paceArgs]);
  return {
    path: b,
    transport,
    pid: s.child.pid,
    relayPid: socat.pid,
    async stop() {
      const relayCpu = c.procCpuSeconds(socat.pid);
      await s.stop('SIGTERM');
      socat.kill('SIGTERM');
      await socatExit;
      const line = s.lines.reverse().find((l) => l.startsWith('{'));
      const st = line ? JSON.parse(line) : {};
      return { ...st, relayCpuUs: relayCpu * 1e6 };
    },
  };
}

module.exports = { startSlave };
