'use strict';
// "fieldlink simulate m307": an M307 Temperature Guard on TCP.
// One of the three simulator commands; lib/cli/simulate/index.js runs it (see the pattern there).
const { UsageError } = require('../common');
const { numberFlag, faultOptions } = require('./flags');
const DEFAULTS = require('../../defaults');

const usage = `usage: fieldlink simulate m307 [options]

Simulates an M307 Temperature Guard (60-byte binary records over TCP, like the real unit's
Lantronix device server on port ${DEFAULTS.m307.port}). One client at a time unless --multi-client.

transport:
  --port PORT             TCP port (default ${DEFAULTS.m307.port}; 0 picks a free port)
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
  fieldlink simulate m307 --port ${DEFAULTS.m307.port} --records 500 --fault split:5
`;

const options = {
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
};

// A fault mode's argument: the simulator's option name and its range.
const FAULT_ARG = {
  split: ['segment', 1, 65535],
  slow: ['delayMs', 0, 600000],
  drop: ['afterBytes', 0, 1000000],
  'verify-mismatch': ['offset', 4, 59],
};

/** "MODE[:ARG]" -> { mode, opts }. */
function parseFault(text, modes) {
  const [mode, arg, extra] = String(text).split(':');
  if (!modes.includes(mode) || extra != null) {
    throw new UsageError(`--fault ${text}: expected MODE[:ARG], MODE one of ${modes.join(', ')}`);
  }
  return { mode, opts: faultOptions(FAULT_ARG, text, mode, arg) };
}

function create(values) {
  const { M307Simulator, FAULT_MODES } = require('../../sim/m307');
  numberFlag(values, 'port', DEFAULTS.m307.port, 0, 65535); // checked before anything opens
  const records = numberFlag(values, 'records', 4000, 0, 4000);
  const rate = numberFlag(values, 'rate', 5, 0, 255);
  if (records > 0 && rate === 0) throw new UsageError('--records needs a log rate of at least 1 minute');
  let resolution = 0.1;
  if (values.resolution != null) {
    if (values.resolution !== '0.1' && values.resolution !== '1') throw new UsageError('--resolution must be 0.1 or 1');
    resolution = Number(values.resolution);
  }
  const unit = values.unit == null ? 'C' : String(values.unit).toUpperCase();
  if (unit !== 'C' && unit !== 'F') throw new UsageError('--unit must be C or F');
  const seed = numberFlag(values, 'seed', undefined, 0, 0xffffffff);
  const faults = (values.fault || []).map((f) => parseFault(f, FAULT_MODES));
  if (values['multi-client'] && faults.some((f) => f.mode === 'refuse-second')) {
    throw new UsageError('--fault refuse-second contradicts --multi-client');
  }

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
  for (const f of faults) sim.setFault(f.mode, f.opts);
  return sim;
}

async function serve(sim, values, out, servers) {
  const { serveTcp } = require('../../sim/m307');
  const port = numberFlag(values, 'port', DEFAULTS.m307.port, 0, 65535);
  const srv = await serveTcp(sim, { host: values.host || '127.0.0.1', port });
  servers.push(srv);
  const d = sim.describe();
  const fmt = (s) => (s.raw / (d.resolution === 0.1 ? 10 : 1)).toFixed(d.resolution === 0.1 ? 1 : 0);
  out.write(`fieldlink m307 simulator: "${d.name}" serial ${d.serial}, clock ${d.clock}\n`);
  out.write(`  probe 1 ${fmt(d.inputs.temp1)} ${d.unit}  probe 2 ${fmt(d.inputs.temp2)} ${d.unit}  `
    + `internal ${fmt(d.inputs.internal)} ${d.unit}  ${(d.inputs.humidity.raw / 10).toFixed(1)} %RH  `
    + `battery ${d.battery.toFixed(2)} V\n`);
  out.write(`  log: ${d.logCount} record(s), every ${d.logRate} min${sim.logEcho ? ', echo before the stream' : ''}\n`);
  out.write(`  faults: ${d.faults.length ? d.faults.map((f) => f.mode).join(', ') : 'none'}\n`);
  out.write(`listening on ${srv.url} (${srv.host}:${srv.port})\n`);
}

const COMMANDS = {
  status: () => 'read status',
  readRecord: (r) => `read user record ${r.record}`,
  writeRecord: (r) => `write user record ${r.record}`,
  setClock: () => 'store date/time',
  readClock: () => 'read date/time',
  readLog: (r) => `read log${r.request[4] === 0x01 ? ' (reset pointer)' : ''}`,
  unknown: (r, hex) => `unknown command ${hex(r.request.subarray(0, 4))}`,
};

function describeRequest(r, hex) {
  let what = COMMANDS[r.command](r, hex);
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

function log(sim, line) {
  const { hex } = require('../../sim/m307');
  sim.on('connect', (e) => line(`${e.port} connected`));
  sim.on('refused', (e) => line(`${e.port} refused (one client at a time)`));
  sim.on('disconnect', (e) => line(`${e.port} disconnected`));
  sim.on('request', (r) => line(`${r.port} ${describeRequest(r, hex)}`));
}

module.exports = {
  summary: 'M307 Temperature Guard (binary records over TCP)',
  usage,
  options,
  create,
  serve,
  log,
  parseFault,
};
