'use strict';
// Child process for bench/m307-log.js: the M307 simulator and two plain TCP peers on
// loopback, in a process of their own so that the measured client shares nothing with them.
//
//   node bench/lib/m307-servers.js [--records 4000]
//
// Prints one line "READY {json}" with the ports:
//   m307:  M307Simulator({ logRecords }) through serveTcp (lib/sim/m307)
//   echo:  echoes whatever arrives (the RTT ping-pong)
//   blast: for every 60 bytes received, writes `blastBytes` bytes at once (the size of the
//          log reply: records × 15 + 7): one request + the transfer, with no simulator work

const net = require('node:net');
const path = require('node:path');
const c = require('./common');

const args = c.parseArgs(process.argv.slice(2), { records: 4000 });

function listen(onSocket) {
  return new Promise((resolve) => {
    const srv = net.createServer((s) => {
      s.setNoDelay(true);
      s.on('error', () => {});
      onSocket(s);
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv.address().port));
  });
}

async function main() {
  const { M307Simulator, serveTcp } = require(path.join(c.ROOT, 'lib', 'sim', 'm307'));
  const sim = new M307Simulator({ logRecords: args.records });
  const m307 = await serveTcp(sim, { port: 0 });
  const blastBytes = sim.logCount * 15 + 7;
  const blastBuf = Buffer.alloc(blastBytes, 0x11);
  const echo = await listen((s) => s.on('data', (d) => s.write(d)));
  const blast = await listen((s) => {
    let have = 0;
    s.on('data', (d) => {
      have += d.length;
      while (have >= 60) {
        have -= 60;
        s.write(blastBuf);
      }
    });
  });
  process.stdout.write(`READY ${JSON.stringify({ m307: m307.port, echo, blast, blastBytes, logCount: sim.logCount })}\n`);
  // Report the simulator's own counters when asked to stop.
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ stats: sim.stats, cpu: process.cpuUsage() })}\n`);
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
