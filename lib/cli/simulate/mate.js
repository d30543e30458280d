'use strict';
// "fieldlink simulate mate": an Outback MATE bus (hub, MX, FX, FLEXnet DC) on a pseudo-terminal.
// One of the three simulator commands; lib/cli/simulate/index.js runs it (see the pattern there).
const { UsageError } = require('../common');
const { parseNumber, numberFlag, faultOptions, ptyLink } = require('./flags');

const usage = `usage: fieldlink simulate mate [options]

Simulates the device side of an Outback MATE bus (hub, MX/FLEXmax, FX, FLEXnet DC) on a
pseudo-terminal that a client opens like a USB adapter. Commands are framed by length and
checksum (a pty carries no parity/9th bit).

transport:
  --pty LINKPATH          symlink to create for the pty ("auto" or omitted: no link)

bus:
  --no-hub                no hub: a single device on port 0 (--devices 0:fx picks which)
  --devices LIST          PORT:TYPE list, TYPE mx, fx or dc (default 1:mx,2:fx,3:dc)
  --preset capture        the values of a real bus capture (docs/protocols/mate.md): status,
                          log pages and register replies come out byte for byte
  --seed N                seed for the weather/load model and the MX log history
  --fault PORT:MODE[:ARG] make a port misbehave (repeatable). MODE: silent, bad-checksum,
                          leading-garbage[:count], slow[:ms], invalid-command,
                          upper-byte[:upper byte]
  --silence MS            silence that drops a partial command (default 20)

output:
  -q, --quiet             do not log commands
  -h, --help              this text

Example:
  fieldlink simulate mate --pty /tmp/mate --preset capture --fault 3:slow:80
`;

const options = {
  pty: { type: 'string' },
  'no-hub': { type: 'boolean' },
  devices: { type: 'string' },
  preset: { type: 'string' },
  seed: { type: 'string' },
  fault: { type: 'string', multiple: true },
  silence: { type: 'string' },
};

// A fault mode's argument: the simulator's option name and its range.
const FAULT_ARG = {
  slow: ['delayMs', 0, 600000],
  'leading-garbage': ['count', 1, 64],
  'upper-byte': ['upper', 1, 255],
};

/** "1:mx,2:fx" -> [{ port, type }]; without a hub, exactly one device on port 0. */
function parseDevices(text, hub) {
  const out = [];
  for (const part of String(text).split(',').map((s) => s.trim()).filter(Boolean)) {
    const [p, type, extra] = part.split(':');
    if (extra != null || !type) throw new UsageError(`--devices ${part}: expected PORT:TYPE`);
    const port = parseNumber('device port', p, hub ? 1 : 0, hub ? 10 : 0);
    if (!['mx', 'fx', 'dc'].includes(type)) throw new UsageError(`--devices ${part}: TYPE must be mx, fx or dc`);
    if (out.some((d) => d.port === port)) throw new UsageError(`--devices: port ${port} is listed twice`);
    out.push({ port, type });
  }
  if (!out.length) throw new UsageError('--devices needs at least one PORT:TYPE');
  if (!hub && out.length !== 1) throw new UsageError('--no-hub takes exactly one device, on port 0');
  return out;
}

/** "PORT:MODE[:ARG]" -> { port, mode, opts }; the upper-byte argument may be hex (0x..). */
function parseFault(text, modes) {
  const [p, mode, arg, extra] = String(text).split(':');
  if (!modes.includes(mode) || extra != null) {
    throw new UsageError(`--fault ${text}: expected PORT:MODE[:ARG], MODE one of ${modes.join(', ')}`);
  }
  const port = parseNumber('--fault port', p, 0, 10);
  const hex = (a) => (mode === 'upper-byte' && /^0x/i.test(a) ? String(parseInt(a, 16)) : a);
  return { port, mode, opts: faultOptions(FAULT_ARG, text, mode, arg, hex) };
}

function describeCommand(e, hex) {
  const a = `0x${e.address.toString(16).padStart(4, '0').toUpperCase()}`;
  let what;
  switch (e.typeName) {
    case 'read': what = `read ${a}`; break;
    case 'write': what = `write ${a} = 0x${e.value.toString(16).padStart(4, '0').toUpperCase()}`; break;
    case 'status': what = `status page 0x${e.address.toString(16).padStart(2, '0').toUpperCase()}`; break;
    case 'log': what = `log day ${e.value}`; break;
    default: what = `${e.typeName} ${a} 0x${e.value.toString(16).padStart(4, '0')}`;
  }
  const who = `port ${e.port}${e.device ? ` ${e.device}` : ''}`;
  let result;
  if (e.outcome === 'reply') result = `-> ${hex(e.reply)}${e.delayMs ? ` (after ${e.delayMs} ms)` : ''}`;
  else if (e.outcome === 'no-device') result = '(no device: no reply)';
  else result = '(no reply)';
  const fault = e.fault ? ` [fault ${e.fault}]` : '';
  const note = e.note ? ` (${e.note})` : '';
  return `${who} ${what} ${result}${fault}${note}`;
}

function create(values) {
  const { MateSimulator, FAULT_MODES, PRESETS } = require('../../sim/mate');
  const hub = !values['no-hub'];
  const devices = values.devices != null ? parseDevices(values.devices, hub) : undefined;
  if (values.preset != null && !PRESETS[values.preset]) {
    throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
  }
  const seed = numberFlag(values, 'seed', undefined, 0, 0xffffffff);
  const silenceMs = numberFlag(values, 'silence', undefined, 0, 60000, false);
  const faults = (values.fault || []).map((f) => parseFault(f, FAULT_MODES));

  const sim = new MateSimulator({ hub, devices, preset: values.preset, seed, silenceMs });
  for (const f of faults) {
    if (!sim.device(f.port)) {
      sim.close();
      throw new UsageError(`--fault: there is no device on port ${f.port}`);
    }
    sim.setFault(f.port, f.mode, f.opts);
  }
  return sim;
}

async function serve(sim, values, out, servers) {
  const { servePty } = require('../../sim/mate');
  const link = ptyLink(values.pty);
  const srv = await servePty(sim, { link });
  servers.push(srv);
  out.write(`fieldlink MATE bus simulator${values.preset ? ` (preset ${values.preset})` : ''}\n`);
  for (const d of sim.devices()) {
    const fault = d.fault ? `  fault ${d.fault.mode}` : '';
    out.write(`  port ${d.port}  ${d.type}${fault}\n`);
  }
  out.write(`pty ${srv.slavePath}${link ? ` (link ${link})` : ''}\n`);
}

function log(sim, line) {
  const { hex } = require('../../sim/mate');
  sim.on('command', (e) => line(describeCommand(e, hex)));
  sim.on('discard', (d) => line(`discarded ${d.bytes.length} byte(s) (${d.reason}): ${hex(d.bytes)}`));
}

/** Logged even with --quiet: a device that failed to answer is a simulator bug. */
function warn(sim, line) {
  const { hex } = require('../../sim/mate');
  sim.on('deviceError', (e) => line(`${hex(e.command)}: no reply: ${e.error.message}`));
}

module.exports = {
  summary: 'Outback MATE bus: hub, MX, FX, FLEXnet DC (pty)',
  usage,
  options,
  create,
  serve,
  log,
  warn,
  parseDevices,
  parseFault,
  describeCommand,
};
