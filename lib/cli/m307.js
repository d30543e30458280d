'use strict';
// "fieldlink m307 status|info|log|set-clock --host H": an M307 Temperature Guard from the shell.
const { progressBar, table, wholeFlag, UsageError, actionCommand, exportFormat, writeExport } = require('./common');
const DEFAULTS = require('../defaults');

const usage = `usage: fieldlink m307 <status|info|log|set-clock> --host HOST [options]

  status                  current readings, doors, power, battery, alarms
  info                    identification, names, limits, settings, clock and log size
  log                     download the on-board log (a progress bar on a terminal)
      --format csv|json   output format (default csv)
      --out FILE          write to FILE instead of standard output
      --no-reset          continue from the device's read pointer instead of the start
  set-clock               set the device clock to this computer's local time; the M307
                          stores whole minutes, so it waits for the next minute boundary
      --rate MIN          log interval in minutes, 1..60 (default: keep the current one)

options:
  --host HOST             the M307's address (required)
  --port PORT             TCP port, 1..65535 (default ${DEFAULTS.m307.port})
  --timeout MS            reply timeout, 10..120000 (default ${DEFAULTS.m307.timeout})
  --json                  status/info as JSON
`;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  format: { type: 'string' },
  out: { type: 'string' },
  'no-reset': { type: 'boolean' },
  rate: { type: 'string' },
};

const LOG_COLUMNS = ['datetime', 'temp1', 'temp2', 'internalTemp', 'internalHumidity', 'door1State', 'door2State', 'powerStatus', 'flags'];

// The API names the CLI's errors would otherwise show.
const FLAGS = { logRateMinutes: '--rate', timeout: '--timeout', port: '--port', host: '--host' };

// info as indented "key: value" lines: lists on one line, an empty name shown as (empty).
function textTree(obj, indent = '') {
  const val = (x) => {
    if (x === null || x === undefined) return '-';
    if (x === '') return '(empty)';
    if (x instanceof Date) return x.toLocaleString();
    if (Array.isArray(x)) return x.map(val).join(', ');
    return String(x);
  };
  const lines = [];
  for (const [k, x] of Object.entries(obj)) {
    if (x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Date)) {
      lines.push(`${indent}${k}:`, ...textTree(x, `${indent}  `));
    } else {
      lines.push(`${indent}${k}: ${val(x)}`);
    }
  }
  return lines;
}

function show(x) {
  if (x === null) return '-';
  if (x === Infinity) return 'open';
  if (x === -Infinity) return 'short';
  return x;
}

function run(args, io) {
  return actionCommand({ usage, options: OPTIONS, actions: ['status', 'info', 'log', 'set-clock'], flags: FLAGS }, async (action, values) => {
    if (!values.host) throw new UsageError('--host is required');
    const port = wholeFlag(values, 'port', DEFAULTS.m307.port, 1, 65535);
    const timeout = wholeFlag(values, 'timeout', DEFAULTS.m307.timeout, 10, 120000);
    const rateFlag = wholeFlag(values, 'rate', undefined, 1, 60);
    const { M307Client } = require('../..');
    const m = await M307Client.connect(values.host, { port, timeout });
    try {
      if (action === 'status') {
        const s = await m.readStatus();
        if (values.json) {
          io.stdout.write(`${JSON.stringify(s, (k, x) => (x === Infinity ? 'open' : x === -Infinity ? 'shorted' : x), 2)}\n`);
          return 0;
        }
        const u = s.temperatureUnit;
        const rows = [
          ['temperature 1', `${show(s.temperatureSensor1.reading)} ${u}`, s.temperatureSensor1],
          ['temperature 2', `${show(s.temperatureSensor2.reading)} ${u}`, s.temperatureSensor2],
          ['internal temperature', `${show(s.internalTemperature.reading)} ${u}`, s.internalTemperature],
          ['internal humidity', `${show(s.internalHumidity.reading)} %RH`, s.internalHumidity],
          ['door 1', s.door1.state, s.door1],
          ['door 2', s.door2.state, s.door2],
        ].map(([input, value, x]) => ({ input, value, minutes: x.timeOutOfLimits, alarm: x.inAlarm ? 'ALARM' : '' }));
        io.stdout.write(table(rows, ['input', 'value', 'minutes', 'alarm']));
        io.stdout.write(`main power ${s.mainPower ? 'on' : 'OFF'}, battery ${s.batteryVoltage.toFixed(2)} V, resolution ${s.temperatureResolution}°\n`);
        return 0;
      }
      if (action === 'info') {
        const info = {
          device: await m.getDeviceInfo(),
          temperatureSensorNames: await m.getTemperatureSensorNames(),
          doorSensorNames: await m.getDoorSensorNames(),
          internalSensorNames: await m.getInternalSensorNames(),
          limits: await m.getSensorLimits(),
          settings: await m.getDeviceSettings(),
          log: await m.getLogInfo(),
        };
        io.stdout.write(values.json ? `${JSON.stringify(info, null, 2)}\n` : `${textTree(info).join('\n')}\n`);
        return 0;
      }
      if (action === 'set-clock') {
        const current = await m.getLogInfo();
        const rate = rateFlag ?? (current.logRateMinutes || 5);
        // The store command has no seconds (the device starts the minute at :00): set it on
        // a minute boundary, or the device runs up to 59 s behind.
        const now = new Date();
        const wait = 60000 - (now.getSeconds() * 1000 + now.getMilliseconds());
        if (wait < 59900) {
          const at = new Date(now.getTime() + wait);
          io.stderr.write(`the M307 stores whole minutes: waiting ${Math.ceil(wait / 1000)} s to set it at ${at.toLocaleTimeString()}\n`);
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
        const c = await m.setLogDatetime(new Date(), rate);
        io.stdout.write(`clock set to ${c.datetime.toLocaleString()} on the minute boundary, log every ${c.logRateMinutes} min (verified)\n`);
        return 0;
      }
      // log
      exportFormat(values);
      const bar = progressBar(io.stderr, 'log');
      const recs = await m.readLog({ resetPointer: !values['no-reset'], onProgress: (p) => bar.update(p.received, p.total) });
      bar.end();
      writeExport(io, values, recs, LOG_COLUMNS, 'records');
      return 0;
    } finally {
      await m.close();
    }
  })(args, io);
}

module.exports = { summary: 'read an M307 Temperature Guard: status, info, log download, clock', usage, run, LOG_COLUMNS };
