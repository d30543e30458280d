#!/usr/bin/env node
'use strict';

// fieldlink command line. Each subcommand is a module under lib/cli/ exporting
//   { summary: string, usage: string, run(args: string[], io): Promise<number|void> | number }
// where io = { stdout, stderr, env }. Add a command by adding one line to COMMANDS; modules
// are loaded only when their command runs. A command with its own subcommands (for
// example "modbus scan") dispatches on args[0] itself.

const path = require('node:path');

const COMMANDS = {
  simulate: '../lib/cli/simulate',
  m307: '../lib/cli/m307',
  mate: '../lib/cli/mate',
  doctor: '../lib/cli/doctor',
  modbus: '../lib/cli/modbus',
  gateway: '../lib/cli/gateway',
};

function loadCommand(name) {
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, name)) return null;
  return require(path.join(__dirname, COMMANDS[name]));
}

function version() {
  try {
    return require(path.join(__dirname, '..', 'package.json')).version;
  } catch {
    return 'unknown';
  }
}

function mainUsage() {
  const lines = [
    'usage: fieldlink <command> [options]',
    '',
    'commands:',
  ];
  const names = Object.keys(COMMANDS).sort();
  const width = Math.max(4, ...names.map((n) => n.length));
  for (const name of names) {
    let summary;
    try {
      summary = loadCommand(name).summary || '';
    } catch (err) {
      summary = `(unavailable: ${err.message})`;
    }
    lines.push(`  ${name.padEnd(width)}  ${summary}`);
  }
  lines.push(`  ${'help'.padEnd(width)}  show this text, or "fieldlink help <command>"`);
  lines.push('', 'options: --help, --version');
  return lines.join('\n') + '\n';
}

async function main(argv, io) {
  const [name, ...rest] = argv;
  if (name == null || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic) {
      const cmd = loadCommand(topic);
      if (!cmd) {
        io.stderr.write(`fieldlink: unknown command "${topic}"\n\n${mainUsage()}`);
        return 2;
      }
      io.stdout.write(cmd.usage.endsWith('\n') ? cmd.usage : `${cmd.usage}\n`);
      return 0;
    }
    if (name == null) {
      io.stderr.write(mainUsage());
      return 2;
    }
    io.stdout.write(mainUsage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  const cmd = loadCommand(name);
  if (!cmd) {
    io.stderr.write(`fieldlink: unknown command "${name}"\n\n${mainUsage()}`);
    return 2;
  }
  const code = await cmd.run(rest, io);
  return code == null ? 0 : code;
}

if (require.main === module) {
  // A reader that stops early (`| head`) closes the pipe: end quietly, the Unix way.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err) => {
      if (err && err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
      // Leave time for streams to flush; do not let a stray handle keep us alive.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err) => {
      io.stderr.write(`fieldlink: ${err && err.message ? err.message : err}\n`);
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 2000).unref();
    },
  );
}

module.exports = { main, COMMANDS };
