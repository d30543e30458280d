'use strict';
// "fieldlink gateway --config gateway.yaml": the headless MQTT gateway (lib/gateway).

const { parse, UsageError } = require('./common');

const usage = `usage: fieldlink gateway --config FILE [--check] [--log-level LEVEL]
       fieldlink gateway --config FILE --remove ID[,ID...]

Polls the Modbus sensors, M307 units and MATE devices named in FILE (YAML) and publishes
their readings to an MQTT broker, with Home Assistant discovery. Logs are JSON lines on
stdout. SIGTERM or SIGINT: marks the gateway offline, disconnects, exits 0.

options:
  --config FILE       the YAML config (see README, "MQTT and Home Assistant")
  --check             validate the config (and read the secret) and exit
  --log-level LEVEL   debug | info | warn | error (overrides gateway.logLevel)
  --remove IDS        remove these devices from Home Assistant (an empty retained discovery
                      config) and clear their retained state and availability, then exit;
                      the ids need not be in FILE any more (only its mqtt section is used)
`;

async function run(args, io) {
  let opts;
  try {
    opts = parse(args, { config: { type: 'string', short: 'c' }, check: { type: 'boolean' }, 'log-level': { type: 'string' }, remove: { type: 'string' } });
    if (opts.values.help) {
      io.stdout.write(usage);
      return 0;
    }
    if (!opts.values.config) throw new UsageError('--config FILE is required');
    if (opts.values['log-level'] && !['debug', 'info', 'warn', 'error'].includes(opts.values['log-level'])) {
      throw new UsageError(`--log-level must be one of debug, info, warn, error (got "${opts.values['log-level']}")`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n\n${usage}`);
      return 2;
    }
    throw err;
  }
  const { loadConfig, ConfigError } = require('../gateway/config');
  let cfg;
  try {
    cfg = loadConfig(opts.values.config, { env: io.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.values.check) {
    const count = (cfg.modbus || []).reduce((n, b) => n + b.sensors.length, 0) + (cfg.m307 || []).length
      + (cfg.mate || []).reduce((n, b) => n + b.devices.length, 0);
    io.stdout.write(`${opts.values.config}: ok (${count} devices)\n`);
    return 0;
  }
  const { Gateway, jsonLogger, removeDevices } = require('../gateway');
  const log = jsonLogger(io.stdout, opts.values['log-level'] || cfg.gateway.logLevel);
  if (opts.values.remove !== undefined) {
    const ids = opts.values.remove.split(',').map((x) => x.trim()).filter(Boolean);
    const { checkId } = require('../mqtt/mapping');
    try {
      if (!ids.length) throw new RangeError('--remove needs at least one device id');
      for (const id of ids) checkId('device id', id);
    } catch (err) {
      io.stderr.write(`${err.message}\n`);
      return 2;
    }
    await removeDevices(cfg, ids, { log });
    return 0;
  }
  const gw = new Gateway(cfg, { log });
  await gw.start();
  await new Promise((resolve) => {
    const stop = (signal) => {
      process.removeListener('SIGTERM', onTerm);
      process.removeListener('SIGINT', onInt);
      log('info', 'signal', { signal });
      gw.stop().then(resolve, (err) => {
        log('error', 'stop-failed', { message: err.message });
        resolve();
      });
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  return 0;
}

module.exports = { summary: 'publish readings to MQTT with Home Assistant discovery (headless)', usage, run };
