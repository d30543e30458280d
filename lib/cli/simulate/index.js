'use strict';

// "fieldlink simulate <family> [options]": run a device simulator until Ctrl-C.
//
// Every family is one module in this folder, listed in FAMILIES, and exports the same shape:
//   summary, usage         the line in the family list and the text of --help
//   options                its flags for node:util parseArgs (--quiet and --help are added here)
//   create(values)         the simulator from the parsed flags (a UsageError on a bad flag)
//   serve(sim, values, out, servers)
//                          opens its transports (pushing each server, with close(), on
//                          servers) and writes the banner to out
//   log(sim, line)         subscribes the request log (not with --quiet); line(text) prints it
//   warn(sim, line)        optional: what is printed on stderr even with --quiet
// runSimulator() below does the rest the same way for all: parsing, --help, closing what was
// opened when a step fails, and stopping cleanly on SIGINT/SIGTERM.

const { parseArgs } = require('node:util');
const { UsageError, joinNegatives } = require('../common');
const { timestamp } = require('./flags');

const FAMILIES = {
  modbus: './modbus',
  m307: './m307',
  mate: './mate',
};

const family = (name) => require(FAMILIES[name]);

const USAGE = `usage: fieldlink simulate <family> [options]

families:
${Object.keys(FAMILIES).map((k) => `  ${k.padEnd(8)} ${family(k).summary}`).join('\n')}

"fieldlink simulate <family> --help" for the options of one family.
`;

function parseFlags(args, options) {
  const all = { ...options, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } };
  try {
    return parseArgs({ args: joinNegatives(args, all), options: all, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(err.message);
  }
}

/** Resolves with the exit code once a signal has stopped the simulator. */
async function runSimulator(fam, args, io) {
  const values = parseFlags(args, fam.options);
  if (values.help) {
    io.stdout.write(fam.usage);
    return 0;
  }
  const out = io.stdout;
  const sim = fam.create(values);
  const servers = [];
  const closeAll = () => Promise.all(servers.map((s) => s.close().catch(() => {})));
  try {
    await fam.serve(sim, values, out, servers);
  } catch (err) {
    await closeAll();
    sim.close();
    throw err;
  }
  if (!values.quiet) fam.log(sim, (text) => out.write(`${timestamp()} ${text}\n`));
  if (fam.warn) fam.warn(sim, (text) => io.stderr.write(`${timestamp()} ${text}\n`));
  return new Promise((resolve) => {
    const stop = (signal) => {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      closeAll().then(() => {
        sim.close();
        if (!values.quiet) out.write(`stopped (${signal})\n`);
        resolve(0);
      });
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    // Only now: the line promises that Ctrl-C (or SIGTERM) stops it cleanly.
    out.write('press Ctrl-C to stop\n');
  });
}

async function run(args, io) {
  const [name, ...rest] = args;
  if (name == null || name === '--help' || name === '-h' || name === 'help') {
    (name == null ? io.stderr : io.stdout).write(USAGE);
    return name == null ? 2 : 0;
  }
  if (!Object.prototype.hasOwnProperty.call(FAMILIES, name)) {
    io.stderr.write(`fieldlink simulate: unknown family "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await runSimulator(family(name), rest, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof RangeError) {
      io.stderr.write(`fieldlink simulate ${name}: ${err.message}\n`);
      return 2;
    }
    if (err && err.code === 'EBUSY') {
      io.stderr.write(`fieldlink simulate ${name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

module.exports = {
  summary: 'run a device simulator (modbus, m307, mate)',
  usage: USAGE,
  run,
  FAMILIES,
};
