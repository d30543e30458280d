'use strict';
// Child process for bench/soak.js: a Modbus bus (units 1 and 2) and a MATE hub (MX, FX,
// FLEXnet DC) on pseudo-terminals and an M307 on loopback TCP, all from lib/sim.
//
//   node bench/lib/soak-sims.js --dir /tmp/...
//
// Prints "READY {json}" with { modbus: ptyPath, mate: ptyPath, m307: port }.

const path = require('node:path');
const c = require('./common');

const args = c.parseArgs(process.argv.slice(2), {});

async function main() {
  const modbus = require(path.join(c.ROOT, 'lib', 'sim', 'modbus'));
  const mate = require(path.join(c.ROOT, 'lib', 'sim', 'mate'));
  const m307 = require(path.join(c.ROOT, 'lib', 'sim', 'm307'));
  const dir = args.dir;
  const mb = new modbus.ModbusSimulator({ units: [{ address: 1 }, { address: 2, profile: 'xy-md02' }] });
  const mbPty = await modbus.servePty(mb, { link: path.join(dir, 'modbus') });
  const ms = new mate.MateSimulator({ preset: 'capture' });
  const msPty = await mate.servePty(ms, { link: path.join(dir, 'mate') });
  const gs = new m307.M307Simulator({ logRecords: 4000, drift: true });
  const gsTcp = await m307.serveTcp(gs, { port: 0 });
  process.stdout.write(`READY ${JSON.stringify({ modbus: mbPty.link, mate: msPty.link, m307: gsTcp.port })}\n`);
  process.on('SIGTERM', async () => {
    await Promise.all([mbPty.close(), msPty.close(), gsTcp.close()]);
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
