'use strict';
// Child process for bench/scale.js: many M307 simulators, each on its own loopback TCP port,
// so that the measured process holds only fieldlink clients.
//
//   node bench/lib/scale-sims.js --devices 200 --silent 10
//
// The first `devices` answer every request. The `silent` ones answer the status read that
// M307Client.connect() makes and then never answer again (fault 'silent'): their polls time
// out. Prints "READY {json}" with the ports; on SIGTERM prints {"requests", "cpu"} and exits.

const path = require('node:path');
const c = require('./common');

const args = c.parseArgs(process.argv.slice(2), { devices: 200, silent: 10 });

async function main() {
  const { M307Simulator, serveTcp } = require(path.join(c.ROOT, 'lib', 'sim', 'm307'));
  const live = [];
  const silent = [];
  const sims = [];
  for (let i = 0; i < args.devices + args.silent; i++) {
    const isSilent = i >= args.devices;
    const sim = new M307Simulator({ serial: `M307${String(i).padStart(6, '0')}` });
    if (isSilent) {
      sim.once('request', () => sim.setFault('silent'));
    }
    const srv = await serveTcp(sim, { port: 0 });
    sims.push(sim);
    (isSilent ? silent : live).push(srv.port);
  }
  process.stdout.write(`READY ${JSON.stringify({ live, silent })}\n`);
  process.on('SIGTERM', () => {
    const requests = sims.reduce((s, x) => s + (x.stats.requests || 0), 0);
    process.stdout.write(`${JSON.stringify({ requests, cpu: process.cpuUsage(), rss: process.memoryUsage().rss })}\n`);
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
