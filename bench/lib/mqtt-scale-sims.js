'use strict';
// Simulator process for bench/mqtt-scale.js: BUSES Modbus RTU-over-TCP simulators with DEVICES
// sensor units each (values drift, so every reading differs). Prints "PORTS [..]" when ready.
const { ModbusSimulator, serveTcp } = require('../../lib/sim/modbus');

async function main() {
  const buses = Number(process.argv[2]);
  const devices = Number(process.argv[3]);
  const ports = [];
  for (let b = 0; b < buses; b++) {
    const sim = new ModbusSimulator({
      units: Array.from({ length: devices }, (_, i) => ({ address: i + 1, temperature: 20 + i / 10, humidity: 40 + i / 10, drift: true })),
    });
    const srv = await serveTcp(sim, { port: 0 });
    ports.push(srv.port);
  }
  process.stdout.write(`PORTS ${JSON.stringify(ports)}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
