'use strict';

// "fieldlink simulate mate": the MATE-bus simulator on a pseudo-terminal until Ctrl-C.
// Called by lib/cli/simulate.js, which passes its UsageError / parseNumber / timestamp helpers.

const { parseArgs } = require('node:util');

const MATE_USAGE = `usage: fieldlink simulate mate [options]

Simulates the device side of an Outback MATE bus (hub, MX/FLEXmax, FX, FLEXnet DC) on a
pseudo-terminal that a client opens like a USB adapter. Commands are framed by length and
checksum (a pty carries no parity/9th bit).

transport:
  --pty LINKPATH          symlink to create for the pty ("auto" or omitted: no link)

bus:
  --no-hub                no hub: a single device on port 0 (--devices 0:fx picks which)
  --devices LIST          PORT:TYPE list, TYPE mx, fx or dc (default 1:mx,2:fx,3:dc)
  --preset capture        the values of the real capture (protocols.md 2.12): status,
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

const FAULT_ARG = {
  slow: ['delayMs', 0, 600000],
  'leading-garbage': ['count', 1, 64],
  'upper-byte': ['upper', 1, 255],
};

function parseDevices(text, hub, UsageError, parseNumber) {
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

function parseFault(text, FAULT_MODES, UsageError, parseNumber) {
  const [p, mode, arg, extra] = String(text).split(':');
  if (!FAULT_MODES.includes(mode) || extra != null) {
    throw new UsageError(`--fault ${text}: expected PORT:MODE[:ARG], MODE one of ${FAULT_MODES.join(', ')}`);
  }
  const port = parseNumber('--fault port', p, 0, 10);
  const opts = {};
  if (arg != null && arg !== '') {
    const spec = FAULT_ARG[mode];
    if (!spec) throw new UsageError(`--fault ${text}: mode ${mode} takes no argument`);
    const t = mode === 'upper-byte' && /^0x/i.test(arg) ? String(parseInt(arg, 16)) : arg;
    opts[spec[0]] = parseNumber(`--fault ${mode} argument`, t, spec[1], spec[2]);
  }
  return { port, mode, opts };
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

async function runMate(args, io, { UsageError, parseNumber, timestamp }) {
  const { MateSimulator, FAULT_MODES, PRESETS, servePty, hex } = require('./index');
  let values;
  try {
    ({ values } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        pty: { type: 'string' },
        'no-hub': { type: 'boolean' },
        devices: { type: 'string' },
        preset: { type: 'string' },
        seed: { type: 'string' },
        fault: { type: 'string', multiple: true },
        silence: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) {
    io.stdout.write(MATE_USAGE);
    return 0;
  }
  const hub = !values['no-hub'];
  const devices = values.devices != null ? parseDevices(values.devices, hub, UsageError, parseNumber) : undefined;
  if (values.preset != null && !PRESETS[values.preset]) {
    throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
  }
  const seed = values.seed != null ? parseNumber('--seed', values.seed, 0, 0xffffffff) : undefined;
  const silenceMs = values.silence != null ? parseNumber('--silence', values.silence, 0, 60000, false) : undefined;
  const faults = (values.fault || []).map((f) => parseFault(f, FAULT_MODES, UsageError, parseNumber));

  const sim = new MateSimulator({ hub, devices, preset: values.preset, seed, silenceMs });
  for (const f of faults) {
    if (!sim.device(f.port)) throw new UsageError(`--fault: there is no device on port ${f.port}`);
    sim.setFault(f.port, f.mode, f.opts);
  }

  const out = io.stdout;
  const link = values.pty == null || values.pty === 'auto' || values.pty === '' ? undefined : values.pty;
  let srv;
  try {
    srv = await servePty(sim, { link });
  } catch (err) {
    sim.close();
    throw err;
  }
  out.write(`fieldlink MATE bus simulator${values.preset ? ` (preset ${values.preset})` : ''}\n`);
  for (const d of sim.devices()) {
    const fault = d.fault ? `  fault ${d.fault.mode}` : '';
    out.write(`  port ${d.port}  ${d.type}${fault}\n`);
  }
  out.write(`pty ${srv.slavePath}${link ? ` (link ${link})` : ''}\n`);

  if (!values.quiet) {
    sim.on('command', (e) => out.write(`${timestamp()} ${describeCommand(e, hex)}\n`));
    sim.on('discard', (d) => out.write(`${timestamp()} discarded ${d.bytes.length} byte(s) (${d.reason}): ${hex(d.bytes)}\n`));
  }
  sim.on('deviceError', (e) => io.stderr.write(`${timestamp()} ${hex(e.command)}: no reply: ${e.error.message}\n`));
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

module.exports = { MATE_USAGE, runMate, parseDevices, parseFault, describeCommand };
