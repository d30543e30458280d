'use strict';
// "fieldlink doctor": what is wrong between this computer and the devices, with suggestions.
const { parse, progressBar, table, guarded, wholeFlag, UsageError } = require('./common');
const DEFAULTS = require('../defaults');
const { profiles } = require('../modbus/profiles');

const usage = `usage: fieldlink doctor [--port PATH] [--m307 HOST] [--mate PATH] [options]

Checks the link to each device named and prints every finding with a suggestion. With no
device named, lists the serial ports and says which look like RS485 adapters.
Exit status: 0 when nothing is wrong, 1 when something is, 2 for a usage error.

Modbus sensor on RS485 (XY-MD02 and relatives):
  --port PATH             the converter's port (/dev/ttyUSB0, /dev/serial/by-id/..., tcp://host:port)
  --address N             the sensor's unit address, 1..247 (default 1)
  --baud B                baud rate (default ${DEFAULTS.modbus.baudRate})
  --parity P              none, even, odd (default ${DEFAULTS.modbus.parity})
  --profile NAME          register map (default ${DEFAULTS.modbus.profile}): ${Object.keys(profiles).join(', ')}
  --timeout MS            reply timeout (default ${DEFAULTS.modbus.timeout})
  --listen MS             listen for unsolicited text before the first request (default 1100; 0: skip)
  --quick                 when the sensor is silent, do not probe other addresses and baud rates
M307 Temperature Guard:
  --m307 HOST             test the connection and read the identity
  --m307-port N           its TCP port (default ${DEFAULTS.m307.port})
Outback MATE bus:
  --mate PATH             scan the hub ports and read firmware revisions

options:
  --json                  the results as JSON
  -h, --help              this text

Examples:
  fieldlink doctor --port /dev/ttyUSB0 --address 1
  fieldlink doctor --m307 192.168.1.100 --mate /dev/ttyUSB1
`;

const OPTIONS = {
  port: { type: 'string' },
  address: { type: 'string' },
  baud: { type: 'string' },
  parity: { type: 'string' },
  profile: { type: 'string' },
  timeout: { type: 'string' },
  listen: { type: 'string' },
  quick: { type: 'boolean' },
  m307: { type: 'string' },
  'm307-port': { type: 'string' },
  mate: { type: 'string' },
  json: { type: 'boolean' },
};

// An intermediate observation (details.intermediate) is shown but not counted: a later step
// of the same check gives the verdict.
const isProblem = (r) => !r.ok && !(r.details && r.details.intermediate);

function printResult(out, r) {
  out.write(`${r.ok ? '✓' : isProblem(r) ? '✗' : '·'} ${r.code.padEnd(20)} ${r.message}\n`);
  if (r.suggestion) out.write(`  → ${r.suggestion}\n`);
  if (r.rawData && !r.ok) out.write(`  bytes: ${r.rawData.length > 120 ? `${r.rawData.slice(0, 120)}...` : r.rawData}\n`);
}

// One progress bar per step, on a terminal only.
function stepBars(stream) {
  let current = null;
  let bar = null;
  return {
    update({ step, done, total }) {
      if (!total || total < 2) return;
      if (step !== current) {
        if (bar) bar.end();
        current = step;
        bar = progressBar(stream, step.padEnd(13));
      }
      bar.update(done, total);
    },
    end() {
      if (bar) bar.end();
      bar = null;
      current = null;
    },
  };
}

async function listAdapters(io, values) {
  const { listPorts } = require('../..');
  const { CODES, result } = require('../diagnostics/result');
  const ports = await listPorts();
  const adapters = ports.filter((p) => p.isRs485 || p.transport === 'usb');
  const findings = [];
  if (adapters.length === 0) {
    findings.push(result(CODES.NO_RS485_CONVERTER, {
      step: 'ports',
      message: `no USB serial or RS485 adapter is connected${ports.length ? ` (only: ${ports.map((p) => p.path).join(', ')})` : ''}`,
      suggestion: 'Connect a USB-RS485 converter (CH340, CP2102, FTDI ...) and look at "dmesg" for its driver.',
      details: { ports },
    }));
  } else {
    findings.push(result(CODES.OK, {
      step: 'ports',
      message: `${adapters.length} adapter${adapters.length === 1 ? '' : 's'} found; name a device to check: --port PATH, --m307 HOST, --mate PATH`,
      details: { ports },
    }));
  }
  if (values.json) {
    io.stdout.write(`${JSON.stringify([{ target: 'ports', results: findings }], null, 2)}\n`);
  } else {
    if (ports.length) {
      io.stdout.write(table(ports.map((p) => ({
        port: p.preferredPath,
        device: p.path,
        chip: p.chip || '',
        rs485: p.isRs485 ? 'yes' : '',
        description: p.description || p.product || '',
      })), ['port', 'device', 'chip', 'rs485', 'description']));
    }
    for (const r of findings) printResult(io.stdout, r);
  }
  return findings.every((r) => r.ok) ? 0 : 1;
}

// The rates ModbusBus.open takes, so doctor accepts exactly what the API does.
function baudFlag(values) {
  const { BAUD_RATES } = require('../modbus/bus');
  if (values.baud === undefined) return DEFAULTS.modbus.baudRate;
  const n = Number(values.baud);
  if (!BAUD_RATES.includes(n)) throw new UsageError(`--baud must be one of ${BAUD_RATES.join(', ')}, got "${values.baud}"`);
  return n;
}

async function run(args, io) {
  return guarded(io, usage, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values.help) {
      io.stdout.write(usage);
      return 0;
    }
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const modbusOnly = ['address', 'baud', 'parity', 'profile', 'listen', 'quick'].filter((k) => values[k] !== undefined);
    if (modbusOnly.length && !values.port) throw new UsageError(`--${modbusOnly[0]} needs --port`);
    if (values['m307-port'] !== undefined && !values.m307) throw new UsageError('--m307-port needs --m307');
    if (values.parity !== undefined && !require('../modbus/bus').PARITIES.includes(values.parity)) throw new UsageError('--parity must be none, even or odd');
    if (!values.port && !values.m307 && !values.mate) return listAdapters(io, values);

    const diag = require('../diagnostics');
    const controller = new AbortController();
    const signal = io.signal || controller.signal;
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    const sections = [];
    const bars = stepBars(io.stderr);
    try {
      if (values.port) {
        const results = await diag.runFullDiagnostic(values.port, {
          address: wholeFlag(values, 'address', 1, 1, 247),
          baudRate: baudFlag(values),
          parity: values.parity ?? DEFAULTS.modbus.parity,
          profile: values.profile,
          timeout: wholeFlag(values, 'timeout', DEFAULTS.modbus.timeout, 10, 60000),
          listenMs: wholeFlag(values, 'listen', 1100, 0, 60000),
          probe: !values.quick,
          signal,
          onProgress: (p) => bars.update(p),
        });
        bars.end();
        sections.push({ target: `Modbus sensor on ${values.port}`, results });
      }
      if (values.m307) {
        const results = await diag.testM307(values.m307, {
          port: wholeFlag(values, 'm307-port', DEFAULTS.m307.port, 1, 65535),
          timeout: values.timeout === undefined ? 3000 : wholeFlag(values, 'timeout', 3000, 10, 120000),
        });
        sections.push({ target: `M307 at ${values.m307}`, results });
      }
      if (values.mate) {
        const bar = progressBar(io.stderr, 'mate scan    ');
        const r = await diag.mateScanDiagnostic(values.mate, { signal, onProgress: (p) => bar.update(p.port, p.of) });
        bar.end();
        const steps = r.details.steps || [];
        sections.push({ target: `MATE bus on ${values.mate}`, results: [...steps, r] });
      }
    } catch (err) {
      bars.end();
      if (signal.aborted) {
        io.stderr.write('interrupted\n');
        return 130;
      }
      throw err;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }

    const problems = sections.reduce((n, s) => n + s.results.filter(isProblem).length, 0);
    if (values.json) {
      const plain = sections.map((s) => ({ target: s.target, results: s.results.map((r) => ({ ...r, details: { ...r.details, steps: undefined } })) }));
      io.stdout.write(`${JSON.stringify(plain, null, 2)}\n`);
    } else {
      for (const s of sections) {
        io.stdout.write(`${s.target}\n`);
        for (const r of s.results) printResult(io.stdout, r);
        io.stdout.write('\n');
      }
      io.stdout.write(problems ? `${problems} problem${problems === 1 ? '' : 's'} found\n` : 'no problems found\n');
    }
    return problems ? 1 : 0;
  });
}

module.exports = { summary: 'find what is wrong with a sensor, M307 or MATE link (wiring, settings, permissions), with suggestions', usage, run };
