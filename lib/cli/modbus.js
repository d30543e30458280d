'use strict';
// "fieldlink modbus scan --port P": find the Modbus units on an RS485 bus.
const { progressBar, table, UsageError, actionCommand } = require('./common');

const usage = `usage: fieldlink modbus scan --port PATH [options]

  scan                    try every unit id at every baud rate and parity; list who answers
      --units LIST        unit ids, e.g. 1-247 (default), 1-10,15
      --bauds LIST        baud rates, e.g. 9600,19200 (default 9600)
      --parities LIST     none, even, odd, e.g. none,even (default none)
      --timeout MS        wait per unit (default 100 on a serial port, 50 on a pseudo-terminal)
      --stop-after N      stop when N units are found
      --profile NAME      the register map whose read is the probe (default xy-md02)
      --profile-probe     for each unit found, try every built-in profile and keep those
                          that read plausible values (best first)

options:
  --port PATH             the converter's port (/dev/ttyUSB0, /dev/serial/by-id/..., tcp://host:port)
  --json                  the units found as JSON
  -h, --help              this text

A progress bar shows on a terminal; Ctrl-C stops the scan and prints what was found so far.
Exit status: 0 when a unit was found, 1 when none, 2 for a usage error, 130 when interrupted.

Example:
  fieldlink modbus scan --port /dev/ttyUSB0 --units 1-32 --bauds 4800,9600,19200 --profile-probe
`;

const OPTIONS = {
  port: { type: 'string' },
  units: { type: 'string' },
  bauds: { type: 'string' },
  parities: { type: 'string' },
  timeout: { type: 'string' },
  'stop-after': { type: 'string' },
  profile: { type: 'string' },
  'profile-probe': { type: 'boolean' },
  json: { type: 'boolean' },
};

function list(text, name, each) {
  const parts = String(text).split(',').map((x) => x.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError(`--${name} must not be empty`);
  return parts.map(each);
}

function rows(units) {
  return units.map((u) => ({
    address: u.address,
    baud: u.baudRate ?? '',
    parity: u.parity ?? '',
    answer: u.answer === 'exception' ? `exception ${u.exception}` : 'reply',
    profile: u.profile ? `${u.profile}${u.profiles && u.profiles[0] && u.profiles[0].ambiguous ? ' (?)' : ''}` : '',
    temperature: u.values && u.values.temperature !== undefined ? u.values.temperature : '',
    humidity: u.values && u.values.humidity !== undefined ? u.values.humidity : '',
  }));
}

function summary(io, units, values, skipped) {
  if (values.json) {
    io.stdout.write(`${JSON.stringify(units, null, 2)}\n`);
    return;
  }
  for (const s of skipped) io.stderr.write(`skipped ${s.baudRate} baud: ${s.reason}\n`);
  if (units.length === 0) {
    io.stdout.write('no unit answered\n');
    return;
  }
  const cols = ['address', 'baud', 'parity', 'answer'];
  if (values['profile-probe']) cols.push('profile', 'temperature', 'humidity');
  io.stdout.write(table(rows(units), cols));
  if (units.some((u) => u.profiles && u.profiles[0] && u.profiles[0].ambiguous)) {
    io.stdout.write('(?) several profiles read plausible values from the same registers; compare with a thermometer\n');
  }
}

async function scan(values, io) {
  if (!values.port) throw new UsageError('--port is required');
  const { scanModbus, parseUnits } = require('../diagnostics');
  const { PARITIES } = require('../modbus/bus');
  let units;
  try {
    units = parseUnits(values.units ?? '1-247');
  } catch (err) {
    throw new UsageError(`--units: ${err.message}`);
  }
  const baudRates = values.bauds === undefined ? [9600] : list(values.bauds, 'bauds', (x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--bauds: "${x}" is not a baud rate`);
    return n;
  });
  const parities = values.parities === undefined ? ['none'] : list(values.parities, 'parities', (x) => {
    if (!PARITIES.includes(x)) throw new UsageError(`--parities: "${x}" must be one of ${PARITIES.join(', ')}`);
    return x;
  });
  const num = (name) => {
    if (values[name] === undefined) return undefined;
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number above 0`);
    return n;
  };
  const controller = new AbortController();
  const signal = io.signal || controller.signal;
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const bar = progressBar(io.stderr, 'scan');
  const found = [];
  const skipped = [];
  try {
    const result = await scanModbus(values.port, {
      units,
      baudRates,
      parities,
      timeout: num('timeout'),
      stopAfter: num('stop-after'),
      profile: values.profile,
      profileProbe: Boolean(values['profile-probe']),
      signal,
      onProgress: (p) => {
        if (p.unit) found.push(p.unit);
        if (p.skipped) skipped.push(p.skipped);
        bar.update(p.done, p.total);
      },
    });
    bar.end();
    summary(io, result, values, skipped);
    return result.length ? 0 : 1;
  } catch (err) {
    bar.end();
    if (signal.aborted) {
      io.stderr.write(`interrupted: ${found.length} unit${found.length === 1 ? '' : 's'} found so far\n`);
      summary(io, found, values, skipped);
      return 130;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

function run(args, io) {
  return actionCommand({ usage, options: OPTIONS, actions: ['scan'] }, (action, values) => scan(values, io))(args, io);
}

module.exports = { summary: 'Modbus RTU bus tools: scan for units (ids × baud rates × parities, profile auto-probe)', usage, run };
