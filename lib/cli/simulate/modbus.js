'use strict';
// "fieldlink simulate modbus": RS485 Modbus RTU temperature/humidity sensors on one bus.
// One of the three simulator commands; lib/cli/simulate/index.js runs it (see the pattern there).
const { UsageError } = require('../common');
const { parseNumber, numberFlag, faultOptions, ptyLink } = require('./flags');

const usage = `usage: fieldlink simulate modbus [options]

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

const options = {
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
};

/** "1,2:sht3x-asia" -> [{ address, profile }], profile defaulting to defaultProfile. */
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

// A fault mode's argument: the simulator's option name and its range.
const FAULT_ARG = {
  slow: ['delayMs', 0, 600000],
  exception: ['code', 0, 255],
  'wrong-unit': ['unit', 0, 255],
  short: ['length', 0, 255],
  'leading-garbage': ['count', 0, 255],
};

/** "UNIT:MODE[:ARG]" -> { address, mode, opts }. */
function parseFault(text, modes) {
  const [u, mode, arg] = String(text).split(':');
  const address = parseNumber('--fault unit', u, 0, 247);
  if (!modes.includes(mode)) throw new UsageError(`--fault ${text}: mode must be one of ${modes.join(', ')}`);
  return { address, mode, opts: faultOptions(FAULT_ARG, text, mode, arg) };
}

function create(values) {
  const { ModbusSimulator, FAULT_MODES, PROFILES } = require('../../sim/modbus');
  const profiles = Object.keys(PROFILES).join(', ');
  const profile = values.profile || 'xy-md02';
  if (!PROFILES[profile]) throw new UsageError(`--profile must be one of ${profiles}`);
  const units = parseUnits(values.units || '1', profile);
  for (const u of units) {
    if (!PROFILES[u.profile]) throw new UsageError(`unit ${u.address}: profile must be one of ${profiles}`);
  }
  const t0 = numberFlag(values, 'temperature', 21.5, -40, 125, false);
  const h0 = numberFlag(values, 'humidity', 45, 0, 100, false);
  const convention = values['baud-convention'];
  if (convention != null && convention !== 'raw' && convention !== 'code') {
    throw new UsageError('--baud-convention must be raw or code');
  }
  const seed = numberFlag(values, 'seed', undefined, 0, 0xffffffff);
  const turnaroundMs = numberFlag(values, 'turnaround', 5, 0, 60000, false);
  numberFlag(values, 'tcp', null, 0, 65535); // checked before anything opens
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
    if (!sim.unit(f.address)) {
      sim.close();
      throw new UsageError(`--fault: there is no unit ${f.address}`);
    }
    sim.setFault(f.address, f.mode, f.opts);
  }
  return sim;
}

async function serve(sim, values, out, servers) {
  const { serveTcp, servePty } = require('../../sim/modbus');
  out.write(`fieldlink modbus simulator: ${sim.units.length} unit(s)\n`);
  for (const u of sim.units) {
    const d = u.describe();
    const fault = d.fault ? `  fault ${d.fault.mode}` : '';
    out.write(`  unit ${d.address}  ${d.profile}  ${d.temperature.toFixed(1)} C  ${d.humidity.toFixed(1)} %RH${fault}\n`);
  }
  const tcpPort = numberFlag(values, 'tcp', null, 0, 65535);
  if (tcpPort != null || values.pty == null) {
    const srv = await serveTcp(sim, { host: values.host || '127.0.0.1', port: tcpPort == null ? 0 : tcpPort });
    servers.push(srv);
    out.write(`listening on ${srv.url}\n`);
  }
  if (values.pty != null) {
    const link = ptyLink(values.pty);
    const p = await servePty(sim, { link });
    servers.push(p);
    out.write(`pty ${p.slavePath}${link ? ` (link ${link})` : ''}\n`);
  }
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

function log(sim, line) {
  const { hex } = require('../../sim/modbus');
  sim.on('request', (req) => line(`${req.port} ${describeRequest(req, hex)}`));
  sim.on('discard', (d) => line(`${d.port} discarded ${d.bytes.length} byte(s) (${d.reason}): ${hex(d.bytes)}`));
}

module.exports = {
  summary: 'Modbus RTU T/H sensors (XY-MD02 / SHT20 family)',
  usage,
  options,
  create,
  serve,
  log,
  parseUnits,
  parseFault,
};
