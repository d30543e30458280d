'use strict';

// "fieldlink simulate <family> [options]": run a device simulator until Ctrl-C.
// Families are listed in SIMULATORS; each entry has { summary, usage, run(args, io) }.

const { parseArgs } = require('node:util');

class UsageError extends Error {}

const MODBUS_USAGE = `usage: fieldlink simulate modbus [options]

Simulates RS485 Modbus RTU temperature/humidity sensors (XY-MD02 / SHT20 family) on one bus.

transports (both may be given; with neither, TCP on a free port):
  --tcp PORT              RTU frames over TCP (like ser2net); PORT 0 picks a free port
  --host HOST             address to listen on (default 127.0.0.1)
  --pty LINKPATH          a pseudo-terminal, with a symlink at LINKPATH ("auto": no link)

bus:
  --units LIST            unit addresses, e.g. 1,2,3 or 1:xy-md02,2:sht3x-asia (default 1)
  --profile NAME          profile for units without one: xy-md02 (default), xy-md02-x100,
                          sht3x-asia, wb-generic, md02-red
  --temperature C         temperature of the first unit (others +0.5 C each)
  --humidity RH           humidity of the first unit (others +2 %RH each)
  --no-drift              keep values fixed (default: slow random walk)
  --seed N                seed for the random walk (repeatable runs)
  --baud-convention raw|code
                          XY-MD02 baud register: 9600 (raw, default) or 0/1/2 (code)
  --turnaround MS         delay before every reply (default 5)
  --fault UNIT:MODE[:ARG] make a unit misbehave (repeatable). MODE: silent, bad-crc,
                          garbage, slow[:ms], exception[:code], wrong-unit[:addr],
                          short[:bytes], leading-garbage[:count]

output:
  -q, --quiet             do not log requests
  -h, --help              this text

Example:
  fieldlink simulate modbus --tcp 5020 --units 1,2 --fault 2:slow:800
`;

const M307_USAGE = `usage: fieldlink simulate m307 [options]

Simulates an M307 Temperature Guard (60-byte binary records over TCP, like the real unit's
Lantronix device server on port 10001). One client at a time unless --multi-client.

transport:
  --port PORT             TCP port (default 10001; 0 picks a free port)
  --host HOST             address to listen on (default 127.0.0.1)
  --multi-client          serve several clients at once (the real device refuses a second)

device:
  --records N             pre-fill the log with N records (default 4000, the capacity)
  --rate MIN              log interval in minutes, 0..255 (default 5)
  --log-echo              send a 60-byte echo before the log stream (the guide shows none)
  --resolution 0.1|1      temperature resolution (status byte 58 = 10 or 1; default 0.1)
  --unit C|F              temperature unit (user record 1 byte 28; default C)
  --no-drift              keep readings fixed (default: slow daily swing and noise)
  --seed N                seed for drift, made-up log history and garbage (repeatable runs)
  --fault MODE[:ARG]      misbehave (repeatable). MODE: split[:segment bytes], slow[:ms],
                          drop[:after bytes], silent, verify-mismatch[:offset], garbage,
                          refuse-second (on unless --multi-client)

output:
  -q, --quiet             do not log connections and requests
  -h, --help              this text

Example:
  fieldlink simulate m307 --port 10001 --records 500 --fault split:5
`;

const SIMULATORS = {
  modbus: { summary: 'Modbus RTU T/H sensors (XY-MD02 / SHT20 family)', usage: MODBUS_USAGE, run: runModbus },
  m307: { summary: 'M307 Temperature Guard (binary records over TCP)', usage: M307_USAGE, run: runM307 },
  mate: { summary: 'Outback MATE bus: hub, MX, FX, FLEXnet DC (pty)', get usage() { return require('../sim/mate/cli').MATE_USAGE; }, run: runMate },
};

const USAGE = `usage: fieldlink simulate <family> [options]

families:
${Object.entries(SIMULATORS).map(([k, v]) => `  ${k.padEnd(8)} ${v.summary}`).join('\n')}

"fieldlink simulate <family> --help" for the options of one family.
`;

function parseNumber(name, text, lo, hi, integer = true) {
  const v = Number(text);
  if (text === '' || text == null || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < lo || v > hi) {
    throw new UsageError(`${name} must be ${integer ? 'an integer' : 'a number'} in ${lo}..${hi} (got "${text}")`);
  }
  return v;
}

function parseUnits(text, defaultProfile) {
  const units = [];
  for (const part of String(text).split(',').map((s) => s.trim()).filter(Boolean)) {
    const [a, profile] = part.split(':');
    const address = parseNumber('unit address', a, 1, 247); // Modbus unit addresses, as the API takes them
    if (units.some((u) => u.address === address)) throw new UsageError(`unit ${address} is listed twice`);
    units.push({ address, profile: profile || defaultProfile });
  }
  if (!units.length) throw new UsageError('--units needs at least one address');
  return units;
}

const FAULT_ARG = {
  slow: 'delayMs',
  exception: 'code',
  'wrong-unit': 'unit',
  short: 'length',
  'leading-garbage': 'count',
};

function parseFault(text, FAULT_MODES) {
  const [u, mode, arg] = String(text).split(':');
  const address = parseNumber('--fault unit', u, 0, 247);
  if (!FAULT_MODES.includes(mode)) {
    throw new UsageError(`--fault ${text}: mode must be one of ${FAULT_MODES.join(', ')}`);
  }
  const opts = {};
  if (arg != null && arg !== '') {
    const key = FAULT_ARG[mode];
    if (!key) throw new UsageError(`--fault ${text}: mode ${mode} takes no argument`);
    opts[key] = parseNumber(`--fault ${mode} argument`, arg, 0, key === 'delayMs' ? 600000 : 255);
  }
  return { address, mode, opts };
}

function timestamp() {
  const d = new Date();
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

const FN_NAMES = { 0x03: 'read holding', 0x04: 'read input', 0x06: 'write', 0x10: 'write multiple' };

function describeRequest(req, hex) {
  const fn = FN_NAMES[req.function] || `function 0x${req.function.toString(16).padStart(2, '0')}`;
  const who = req.broadcast ? 'broadcast' : `unit ${req.address}`;
  let what = fn;
  if (req.start != null) {
    what += ` 0x${req.start.toString(16).padStart(4, '0')}`;
    if (req.values) what += ` = ${req.values.join(',')}`;
    else what += ` x${req.quantity}`;
  }
  let result;
  switch (req.outcome) {
    case 'reply': result = `-> ${hex(req.reply)}`; break;
    case 'exception': result = `-> exception ${req.exceptionCode}: ${hex(req.reply)}`; break;
    case 'broadcast': result = `(no reply; applied by ${req.unitsApplied} unit(s))`; break;
    case 'no-unit': result = '(no such unit; ignored)'; break;
    case 'silent': result = '(silent)'; break;
    default: result = `(${req.outcome})`;
  }
  const fault = req.fault && req.outcome !== 'silent' ? ` [fault ${req.fault}]` : '';
  return `${who} ${what} ${result}${fault}`;
}

async function runModbus(args, io) {
  const { ModbusSimulator, FAULT_MODES, PROFILES, serveTcp, servePty, hex } = require('../sim/modbus');
  let values;
  try {
    ({ values } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        tcp: { type: 'string' },
        host: { type: 'string' },
        pty: { type: 'string' },
        units: { type: 'string' },
        profile: { type: 'string' },
        temperature: { type: 'string' },
        humidity: { type: 'string' },
        'no-drift': { type: 'boolean' },
        seed: { type: 'string' },
        'baud-convention': { type: 'string' },
        turnaround: { type: 'string' },
        fault: { type: 'string', multiple: true },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) {
    io.stdout.write(MODBUS_USAGE);
    return 0;
  }

  const profile = values.profile || 'xy-md02';
  if (!PROFILES[profile]) throw new UsageError(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  const units = parseUnits(values.units || '1', profile);
  for (const u of units) {
    if (!PROFILES[u.profile]) throw new UsageError(`unit ${u.address}: profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  }
  const t0 = values.temperature != null ? parseNumber('--temperature', values.temperature, -40, 125, false) : 21.5;
  const h0 = values.humidity != null ? parseNumber('--humidity', values.humidity, 0, 100, false) : 45;
  const convention = values['baud-convention'];
  if (convention != null && convention !== 'raw' && convention !== 'code') {
    throw new UsageError('--baud-convention must be raw or code');
  }
  const seed = values.seed != null ? parseNumber('--seed', values.seed, 0, 0xffffffff) : undefined;
  const turnaroundMs = values.turnaround != null ? parseNumber('--turnaround', values.turnaround, 0, 60000, false) : 5;
  const tcpPort = values.tcp != null ? parseNumber('--tcp', values.tcp, 0, 65535) : null;
  const faults = (values.fault || []).map((f) => parseFault(f, FAULT_MODES));

  const sim = new ModbusSimulator({
    seed,
    turnaroundMs,
    units: units.map((u, i) => ({
      address: u.address,
      profile: u.profile,
      temperature: Math.min(125, t0 + 0.5 * i),
      humidity: Math.min(100, h0 + 2 * i),
      drift: !values['no-drift'],
      // Only XY-MD02 firmware has the ambiguous register; the others always use codes.
      baudConvention: convention && u.profile.startsWith('xy-md02') ? convention : undefined,
    })),
  });
  for (const f of faults) {
    if (!sim.unit(f.address)) throw new UsageError(`--fault: there is no unit ${f.address}`);
    sim.setFault(f.address, f.mode, f.opts);
  }

  const out = io.stdout;
  const servers = [];
  const closeAll = () => Promise.all(servers.map((s) => s.close().catch(() => {})));
  try {
    out.write(`fieldlink modbus simulator: ${units.length} unit(s)\n`);
    for (const u of sim.units) {
      const d = u.describe();
      const fault = d.fault ? `  fault ${d.fault.mode}` : '';
      out.write(`  unit ${d.address}  ${d.profile}  ${d.temperature.toFixed(1)} C  ${d.humidity.toFixed(1)} %RH${fault}\n`);
    }
    if (tcpPort != null || values.pty == null) {
      const srv = await serveTcp(sim, { host: values.host || '127.0.0.1', port: tcpPort == null ? 0 : tcpPort });
      servers.push(srv);
      out.write(`listening on ${srv.url}\n`);
    }
    if (values.pty != null) {
      const link = values.pty === 'auto' || values.pty === '' ? undefined : values.pty;
      const p = await servePty(sim, { link });
      servers.push(p);
      out.write(`pty ${p.slavePath}${link ? ` (link ${link})` : ''}\n`);
    }
  } catch (err) {
    await closeAll();
    sim.close();
    throw err;
  }

  if (!values.quiet) {
    sim.on('request', (req) => out.write(`${timestamp()} ${req.port} ${describeRequest(req, hex)}\n`));
    sim.on('discard', (d) => out.write(`${timestamp()} ${d.port} discarded ${d.bytes.length} byte(s) (${d.reason}): ${hex(d.bytes)}\n`));
  }
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

const M307_FAULT_ARG = {
  split: ['segment', 1, 65535],
  slow: ['delayMs', 0, 600000],
  drop: ['afterBytes', 0, 1000000],
  'verify-mismatch': ['offset', 4, 59],
};

function parseM307Fault(text, FAULT_MODES) {
  const [mode, arg, extra] = String(text).split(':');
  if (!FAULT_MODES.includes(mode) || extra != null) {
    throw new UsageError(`--fault ${text}: expected MODE[:ARG], MODE one of ${FAULT_MODES.join(', ')}`);
  }
  const opts = {};
  if (arg != null && arg !== '') {
    const spec = M307_FAULT_ARG[mode];
    if (!spec) throw new UsageError(`--fault ${text}: mode ${mode} takes no argument`);
    opts[spec[0]] = parseNumber(`--fault ${mode} argument`, arg, spec[1], spec[2]);
  }
  return { mode, opts };
}

const M307_COMMANDS = {
  status: () => 'read status',
  readRecord: (r) => `read user record ${r.record}`,
  writeRecord: (r) => `write user record ${r.record}`,
  setClock: () => 'store date/time',
  readClock: () => 'read date/time',
  readLog: (r) => `read log${r.request[4] === 0x01 ? ' (reset pointer)' : ''}`,
  unknown: (r, hex) => `unknown command ${hex(r.request.subarray(0, 4))}`,
};

function describeM307Request(r, hex) {
  let what = M307_COMMANDS[r.command](r, hex);
  if (r.detail) what += `: ${r.detail}`;
  let result;
  if (r.outcome === 'reply') {
    result = r.reply.length <= 60 ? `-> ${hex(r.reply)}` : `-> ${r.reply.length} bytes`;
  } else if (r.outcome === 'silent') {
    result = '(silent)';
  } else {
    result = '(no reply)';
  }
  const faults = r.faults.length ? ` [fault ${r.faults.join(', ')}]` : '';
  return `${what} ${result}${faults}`;
}

async function runM307(args, io) {
  const { M307Simulator, FAULT_MODES, serveTcp, hex } = require('../sim/m307');
  let values;
  try {
    ({ values } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'multi-client': { type: 'boolean' },
        records: { type: 'string' },
        rate: { type: 'string' },
        'log-echo': { type: 'boolean' },
        resolution: { type: 'string' },
        unit: { type: 'string' },
        'no-drift': { type: 'boolean' },
        seed: { type: 'string' },
        fault: { type: 'string', multiple: true },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) {
    io.stdout.write(M307_USAGE);
    return 0;
  }
  const port = values.port != null ? parseNumber('--port', values.port, 0, 65535) : 10001;
  const records = values.records != null ? parseNumber('--records', values.records, 0, 4000) : 4000;
  const rate = values.rate != null ? parseNumber('--rate', values.rate, 0, 255) : 5;
  if (records > 0 && rate === 0) throw new UsageError('--records needs a log rate of at least 1 minute');
  let resolution = 0.1;
  if (values.resolution != null) {
    if (values.resolution !== '0.1' && values.resolution !== '1') throw new UsageError('--resolution must be 0.1 or 1');
    resolution = Number(values.resolution);
  }
  const unit = values.unit == null ? 'C' : String(values.unit).toUpperCase();
  if (unit !== 'C' && unit !== 'F') throw new UsageError('--unit must be C or F');
  const seed = values.seed != null ? parseNumber('--seed', values.seed, 0, 0xffffffff) : undefined;
  const faults = (values.fault || []).map((f) => parseM307Fault(f, FAULT_MODES));

  const sim = new M307Simulator({
    logRecords: records,
    logRate: rate,
    logEcho: !!values['log-echo'],
    resolution,
    unit,
    drift: !values['no-drift'],
    seed,
    refuseSecond: !values['multi-client'],
  });
  for (const f of faults) {
    if (f.mode === 'refuse-second' && values['multi-client']) {
      throw new UsageError('--fault refuse-second contradicts --multi-client');
    }
    sim.setFault(f.mode, f.opts);
  }

  const out = io.stdout;
  const srv = await serveTcp(sim, { host: values.host || '127.0.0.1', port });
  const d = sim.describe();
  const fmt = (s) => (s.raw / (d.resolution === 0.1 ? 10 : 1)).toFixed(d.resolution === 0.1 ? 1 : 0);
  out.write(`fieldlink m307 simulator: "${d.name}" serial ${d.serial}, clock ${d.clock}\n`);
  out.write(`  probe 1 ${fmt(d.inputs.temp1)} ${d.unit}  probe 2 ${fmt(d.inputs.temp2)} ${d.unit}  `
    + `internal ${fmt(d.inputs.internal)} ${d.unit}  ${(d.inputs.humidity.raw / 10).toFixed(1)} %RH  `
    + `battery ${d.battery.toFixed(2)} V\n`);
  out.write(`  log: ${d.logCount} record(s), every ${d.logRate} min${sim.logEcho ? ', echo before the stream' : ''}\n`);
  out.write(`  faults: ${d.faults.length ? d.faults.map((f) => f.mode).join(', ') : 'none'}\n`);
  out.write(`listening on ${srv.url} (${srv.host}:${srv.port})\n`);

  if (!values.quiet) {
    sim.on('connect', (e) => out.write(`${timestamp()} ${e.port} connected\n`));
    sim.on('refused', (e) => out.write(`${timestamp()} ${e.port} refused (one client at a time)\n`));
    sim.on('disconnect', (e) => out.write(`${timestamp()} ${e.port} disconnected\n`));
    sim.on('request', (r) => out.write(`${timestamp()} ${r.port} ${describeM307Request(r, hex)}\n`));
  }
  return new Promise((resolve) => {
    const stop = (signal) => {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      srv.close().catch(() => {}).then(() => {
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

// The MATE family lives in lib/sim/mate/cli.js; it gets this file's helpers.
function runMate(args, io) {
  return require('../sim/mate/cli').runMate(args, io, { UsageError, parseNumber, timestamp });
}

async function run(args, io) {
  const [family, ...rest] = args;
  if (family == null || family === '--help' || family === '-h' || family === 'help') {
    (family == null ? io.stderr : io.stdout).write(USAGE);
    return family == null ? 2 : 0;
  }
  const sim = SIMULATORS[family];
  if (!sim) {
    io.stderr.write(`fieldlink simulate: unknown family "${family}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await sim.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof RangeError) {
      io.stderr.write(`fieldlink simulate ${family}: ${err.message}\n`);
      return 2;
    }
    if (err && err.code === 'EBUSY') {
      io.stderr.write(`fieldlink simulate ${family}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

module.exports = {
  summary: 'run a device simulator (modbus, m307, mate)',
  usage: USAGE,
  run,
  SIMULATORS,
  parseUnits,
  parseFault,
  parseM307Fault,
};
