'use strict';
// The gateway's YAML config: parsed with `yaml` (eemeli/yaml), checked against the schema below
// on the document's nodes so every error names the key path and the line, unknown keys are
// refused with a "did you mean" suggestion, and secrets never come from the file itself:
// mqtt.passwordEnv names an environment variable, mqtt.passwordFile a file (systemd's
// LoadCredential= puts one in $CREDENTIALS_DIRECTORY).

const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const { closest } = require('../validate'); // the same "did you mean" as every API option
const defaults = require('../defaults');
const { profiles } = require('../modbus/profiles');
const { PARITY_MODES } = require('../mate/bus');
const { PARITIES } = require('../modbus/bus');

class ConfigError extends Error {
  constructor(problems, file) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.code = 'ECONFIG';
    this.problems = problems;
  }
}

// Schema: { type, required, default, min, max, values, keys, items, secret, help }
const str = (extra = {}) => ({ type: 'string', ...extra });
const int = (min, max, extra = {}) => ({ type: 'integer', min, max, ...extra });
const numb = (min, max, extra = {}) => ({ type: 'number', min, max, ...extra });
const bool = (extra = {}) => ({ type: 'boolean', ...extra });
const id = (extra = {}) => ({ type: 'string', pattern: /^[A-Za-z0-9_-]{1,64}$/, patternText: '1..64 characters of A-Z a-z 0-9 _ -', ...extra });
const secret = { type: 'secret' };

const INTERVAL = numb(0.1, 86400, { default: 10 });

const SCHEMA = {
  type: 'object',
  keys: {
    gateway: {
      type: 'object',
      required: true,
      keys: {
        id: id({ required: true }),
        logLevel: str({ values: ['debug', 'info', 'warn', 'error'], default: 'info' }),
      },
    },
    mqtt: {
      type: 'object',
      required: true,
      keys: {
        url: str({ required: true, pattern: /^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, patternText: 'mqtt://host:port or mqtts://host:port' }),
        clientId: str(),
        username: str(),
        password: secret,
        passwordEnv: str({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternText: 'an environment variable name' }),
        passwordFile: str(),
        ca: str(),
        cert: str(),
        key: str(),
        rejectUnauthorized: bool({ default: true }),
        baseTopic: str({ default: 'fieldlink' }),
        discoveryPrefix: str({ default: 'homeassistant' }),
        qos: int(0, 2, { default: 1 }),
        keepalive: int(5, 3600, { default: 30 }),
        readingTopics: bool({ default: true }),
        replay: int(0, 1000, { default: 0 }),
      },
    },
    modbus: {
      type: 'array',
      items: {
        type: 'object',
        keys: {
          port: str({ required: true }),
          baudRate: int(1200, 230400),
          parity: str({ values: PARITIES }),
          dataBits: int(7, 8),
          stopBits: int(1, 2),
          timeout: int(10, 60000),
          retries: int(0, 10),
          interval: INTERVAL,
          sensors: {
            type: 'array',
            required: true,
            items: {
              type: 'object',
              keys: {
                id: id({ required: true }),
                name: str(),
                unit: int(1, 247, { required: true }),
                profile: str({ values: Object.keys(profiles), default: defaults.modbus.profile }),
                interval: numb(0.1, 86400),
              },
            },
          },
        },
      },
    },
    m307: {
      type: 'array',
      items: {
        type: 'object',
        keys: {
          id: id({ required: true }),
          name: str(),
          host: str({ required: true }),
          port: int(1, 65535, { default: defaults.m307.port }),
          timeout: int(100, 60000, { default: defaults.m307.timeout }),
          interval: numb(0.2, 86400, { default: 30 }),
          commands: bool({ default: true }),
        },
      },
    },
    mate: {
      type: 'array',
      items: {
        type: 'object',
        keys: {
          port: str({ required: true }),
          timeout: int(10, 10000),
          retries: int(0, 10),
          parityMode: str({ values: PARITY_MODES }),
          interval: INTERVAL,
          allowControl: bool({ default: defaults.mate.allowControl }),
          devices: {
            type: 'array',
            required: true,
            items: {
              type: 'object',
              keys: {
                id: id({ required: true }),
                type: str({ required: true, values: ['mx', 'fx', 'dc'] }),
                name: str(),
                hubPort: { type: 'hubPort', default: 'auto' },
                interval: numb(0.1, 86400),
                controls: bool({ default: false }),
                iUnderstandThisCanCutPower: bool({ default: false }),
              },
            },
          },
        },
      },
    },
  },
};

/**
 * parseConfig(text, { file, env, readFile }) -> the config with defaults filled in and the
 * secret resolved (mqtt.password). Throws ConfigError listing every problem with its line.
 */
function parseConfig(text, { file = 'gateway.yaml', env = process.env, readFile = (p) => fs.readFileSync(p, 'utf8') } = {}) {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const problems = [];
  const where = (node) => {
    if (!node || !node.range) return `${file}`;
    const p = lineCounter.linePos(node.range[0]);
    return `${file}:${p.line}:${p.col}`;
  };
  for (const e of doc.errors) {
    const p = e.linePos && e.linePos[0];
    problems.push(`${file}${p ? `:${p.line}:${p.col}` : ''}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  if (problems.length) throw new ConfigError(problems, file);

  function check(node, schema, keyPath) {
    const label = keyPath || '(top level)';
    const value = node == null ? undefined : (YAML.isScalar(node) ? node.value : node);
    const bad = (msg) => {
      problems.push(`${where(node)}: ${label}: ${msg}`);
      return undefined;
    };
    switch (schema.type) {
      case 'object': {
        if (!YAML.isMap(node)) return bad('must be a mapping (key: value lines)');
        const out = {};
        const seen = new Set();
        for (const pair of node.items) {
          const k = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
          const sub = keyPath ? `${keyPath}.${k}` : k;
          const known = Object.keys(schema.keys);
          if (!Object.prototype.hasOwnProperty.call(schema.keys, k)) {
            const hint = closest(k, known);
            problems.push(`${where(pair.key)}: ${sub}: unknown key${hint ? `; did you mean "${hint}"?` : ` (known: ${known.join(', ')})`}`);
            continue;
          }
          seen.add(k);
          const v = check(pair.value, schema.keys[k], sub);
          if (v !== undefined) out[k] = v;
        }
        for (const [k, s] of Object.entries(schema.keys)) {
          if (seen.has(k)) continue;
          if (s.required) problems.push(`${where(node)}: ${keyPath ? `${keyPath}.${k}` : k}: required`);
          else if (s.default !== undefined) out[k] = s.default;
        }
        return out;
      }
      case 'array': {
        if (!YAML.isSeq(node)) return bad('must be a list (lines starting with "- ")');
        if (node.items.length === 0) return bad('must not be empty');
        return node.items.map((item, i) => check(item, schema.items, `${keyPath}[${i}]`));
      }
      case 'secret':
        return bad('secrets are not read from the config file: use passwordEnv (an environment variable) or passwordFile');
      case 'string':
        if (typeof value !== 'string' || value === '') return bad(`must be a non-empty string (got ${JSON.stringify(value ?? null)})`);
        if (schema.values && !schema.values.includes(value)) {
          const hint = closest(value, schema.values);
          return bad(`must be one of ${schema.values.join(', ')} (got "${value}")${hint ? `; did you mean "${hint}"?` : ''}`);
        }
        if (schema.pattern && !schema.pattern.test(value)) return bad(`must be ${schema.patternText} (got "${value}")`);
        return value;
      case 'integer':
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value) || (schema.type === 'integer' && !Number.isInteger(value))) {
          return bad(`must be ${schema.type === 'integer' ? 'an integer' : 'a number'} in ${schema.min}..${schema.max} (got ${JSON.stringify(value ?? null)})`);
        }
        if (value < schema.min || value > schema.max) return bad(`must be in ${schema.min}..${schema.max} (got ${value})`);
        return value;
      case 'boolean':
        if (typeof value !== 'boolean') return bad(`must be true or false (got ${JSON.stringify(value ?? null)})`);
        return value;
      case 'hubPort':
        if (value === 'auto') return value;
        if (Number.isInteger(value) && value >= 0 && value <= 10) return value;
        return bad(`must be auto or an integer in 0..10 (got ${JSON.stringify(value ?? null)})`);
      default:
        throw new Error(`schema type ${schema.type}`);
    }
  }

  const root = doc.contents;
  const cfg = root ? check(root, SCHEMA, '') : (problems.push(`${file}: the file is empty`), undefined);
  if (cfg) crossChecks(cfg, doc, problems, where, env, readFile, file);
  if (problems.length) throw new ConfigError(problems, file);
  return cfg;
}

function crossChecks(cfg, doc, problems, where, env, readFile, file) {
  const nodeAt = (...p) => doc.getIn(p, true);
  if (!cfg.modbus && !cfg.m307 && !cfg.mate) problems.push(`${file}: no devices: add a modbus, m307 or mate section`);
  // Device ids are topic names and HA unique ids: unique across the whole file.
  const ids = new Map();
  const addId = (deviceId, at) => {
    if (deviceId === 'gateway') problems.push(`${where(at)}: device id "gateway" is reserved`);
    else if (ids.has(deviceId)) problems.push(`${where(at)}: device id "${deviceId}" is used twice (also at ${ids.get(deviceId)})`);
    else ids.set(deviceId, where(at).replace(`${file}:`, 'line '));
  };
  (cfg.modbus || []).forEach((b, i) => (b && b.sensors ? b.sensors : []).forEach((s, j) => s && s.id && addId(s.id, nodeAt('modbus', i, 'sensors', j, 'id'))));
  (cfg.m307 || []).forEach((m, i) => m && m.id && addId(m.id, nodeAt('m307', i, 'id')));
  (cfg.mate || []).forEach((b, i) => (b && b.devices ? b.devices : []).forEach((d, j) => {
    if (!d) return;
    if (d.id) addId(d.id, nodeAt('mate', i, 'devices', j, 'id'));
    if (d.controls && d.type !== 'fx') problems.push(`${where(nodeAt('mate', i, 'devices', j, 'controls'))}: mate[${i}].devices[${j}].controls: only an fx has controls`);
    if (d.controls && !(b.allowControl && d.iUnderstandThisCanCutPower)) {
      problems.push(`${where(nodeAt('mate', i, 'devices', j, 'controls'))}: mate[${i}].devices[${j}].controls: needs both mate[${i}].allowControl: true and iUnderstandThisCanCutPower: true (turning the inverter off or dropping AC input cuts power)`);
    }
  }));
  const m = cfg.mqtt;
  if (!m) return;
  if (m.passwordEnv && m.passwordFile) problems.push(`${where(nodeAt('mqtt', 'passwordFile'))}: mqtt: give passwordEnv or passwordFile, not both`);
  if (m.passwordEnv) {
    if (env[m.passwordEnv] === undefined) problems.push(`${where(nodeAt('mqtt', 'passwordEnv'))}: mqtt.passwordEnv: the environment variable ${m.passwordEnv} is not set`);
    else m.password = env[m.passwordEnv];
  }
  const base = path.dirname(path.resolve(file));
  const readAt = (key, trim) => {
    if (!m[key]) return;
    const p = path.resolve(base, m[key].replace(/^\$CREDENTIALS_DIRECTORY(?=\/)/, env.CREDENTIALS_DIRECTORY || '$CREDENTIALS_DIRECTORY'));
    try {
      const text = readFile(p);
      return trim ? text.replace(/\r?\n$/, '') : text;
    } catch (err) {
      problems.push(`${where(nodeAt('mqtt', key))}: mqtt.${key}: cannot read ${p} (${err.code || err.message})`);
    }
  };
  if (m.passwordFile) m.password = readAt('passwordFile', true);
  for (const k of ['ca', 'cert', 'key']) if (m[k]) m[`${k}Data`] = readAt(k, false);
  if ((m.cert && !m.key) || (m.key && !m.cert)) problems.push(`${where(nodeAt('mqtt'))}: mqtt: cert and key go together`);
}

function loadConfig(file, opts = {}) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${file} (${err.code || err.message})`], file);
  }
  return parseConfig(text, { ...opts, file });
}

module.exports = { parseConfig, loadConfig, ConfigError, SCHEMA };
