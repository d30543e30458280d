'use strict';
// "fieldlink mate scan|status|log --port P": an Outback MATE bus from the shell.
const { progressBar, table, wholeFlag, UsageError, actionCommand, exportFormat, writeExport } = require('./common');
const DEFAULTS = require('../defaults');

const usage = `usage: fieldlink mate <scan|status|log> --port PATH [options]

  scan                    list the devices (hub ports 1..10) with firmware revisions
  status                  status of every device found
  log                     MX daily log pages (a progress bar on a terminal)
      --days N            how many days back, 1..128 (default 30; day 0 is today so far)
      --format csv|json   output format (default csv)
      --out FILE          write to FILE instead of standard output

options:
  --port PATH             the serial port of the MATE-bus adapter (required)
  --parity-mode MODE      auto, mark-space, odd-even (default ${DEFAULTS.mate.parityMode})
  --pjon                  talk to uMATE's PJON serial bridge instead
  --timeout MS            reply timeout, 10..10000 (default ${DEFAULTS.mate.timeout})
  --json                  scan/status as JSON
`;

const OPTIONS = {
  port: { type: 'string' },
  'parity-mode': { type: 'string' },
  pjon: { type: 'boolean' },
  timeout: { type: 'string' },
  days: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
};

const LOG_COLUMNS = ['day', 'kilowattHours', 'ampHours', 'peakKilowatts', 'peakAmps', 'peakPvVoltage', 'batteryMax', 'batteryMin', 'absorbMinutes', 'floatMinutes'];

function run(args, io) {
  return actionCommand({ usage, options: OPTIONS, actions: ['scan', 'status', 'log'] }, async (action, values) => {
    if (!values.port) throw new UsageError('--port is required');
    const timeout = wholeFlag(values, 'timeout', DEFAULTS.mate.timeout, 10, 10000);
    const { MateBus } = require('../..');
    const bus = await MateBus.open(values.port, {
      parityMode: values['parity-mode'] ?? DEFAULTS.mate.parityMode,
      transport: values.pjon ? 'pjon' : DEFAULTS.mate.transport,
      timeout,
    });
    try {
      if (action === 'scan') {
        const found = await bus.scan({ firmware: true });
        if (values.json) io.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
        else if (found.length === 0) io.stdout.write('no device answered\n');
        else io.stdout.write(table(found, ['port', 'type', 'firmware']));
        return found.length ? 0 : 1;
      }
      if (action === 'status') {
        const found = await bus.scan();
        const out = [];
        for (const d of found) {
          if (d.type === 'hub') continue;
          const dev = bus.device(d.port, d.type);
          out.push({ port: d.port, type: d.type, status: await dev.getStatus() });
        }
        // Finding nothing is an error, as for scan: exit 1 (JSON still prints the empty list).
        if (out.length === 0) io.stderr.write(`no device answered on ${values.port}\n`);
        if (values.json) {
          io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return out.length ? 0 : 1;
        }
        if (out.length === 0) return 1;
        for (const { port, type, status } of out) {
          io.stdout.write(`${type.toUpperCase()} on port ${port}\n`);
          for (const k of Object.keys(status.units)) io.stdout.write(`  ${k.padEnd(18)} ${status.format(k)}\n`);
          for (const k of ['chargerMode', 'operationalMode', 'acMode']) if (status[k]) io.stdout.write(`  ${k.padEnd(18)} ${status[k]}\n`);
          if (status.errors && status.errors.length) io.stdout.write(`  errors             ${status.errors.join(', ')}\n`);
        }
        return 0;
      }
      // log
      const days = values.days === undefined ? 30 : Number(values.days);
      if (!Number.isInteger(days) || days < 1 || days > 128) throw new UsageError('--days must be 1..128');
      exportFormat(values);
      const mx = await bus.find('mx');
      const bar = progressBar(io.stderr, 'log pages');
      const pages = [];
      for (let d = 0; d < days; d++) {
        pages.push(await mx.getLogPage(-d));
        bar.update(d + 1, days);
      }
      bar.end();
      writeExport(io, values, pages, LOG_COLUMNS, 'log pages');
      return 0;
    } finally {
      await bus.close();
    }
  })(args, io);
}

module.exports = { summary: 'read an Outback MATE bus: scan, status, MX log pages', usage, run };
