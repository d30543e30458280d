'use strict';
// The one mapping from fieldlink devices to MQTT and Home Assistant, shared by the headless
// gateway (lib/gateway) and the Node-RED node "fieldlink to Home Assistant" (nodes/ha.js).
// Pure functions: readings in, { topic, payload, retain } messages out; nothing here touches
// a socket.
//
// Topics (base = 'fieldlink' by default; <id> = the device id the user chose):
//   <base>/<id>/state          retained JSON: every reading of the device, plus seq and ts
//   <base>/<id>/<reading>      retained: each reading alone (a number, a string or ON/OFF)
//   <base>/<id>/availability   retained: online | offline (the device, from offline detection)
//   <base>/gateway/<gw>/availability   retained online | offline: the gateway (MQTT last will)
//   <base>/<id>/set/<command>  commands (M307 clock and log; FX controls only with the double opt-in)
//   <base>/<id>/result/<command>  the outcome of each command (JSON { ok, ... }, not retained)
//   <base>/<id>/log            M307 log records (JSON, not retained), published on command
//   <prefix>/device/<id>/config  Home Assistant device-based discovery (retained; '' removes)
//
// Home Assistant: one HA device per physical device; the discovery payload uses the
// abbreviations of HA's documentation for the shared keys (dev, o, cmps, p) and full names in
// the components. Availability of every entity = gateway AND device (availability_mode all).

const KINDS = ['m307', 'mx', 'fx', 'dc', 'modbus'];
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const RESERVED_IDS = new Set(['gateway']);

function version() {
  try {
    return require('../../package.json').version;
  } catch {
    return '0.0.0';
  }
}

const ORIGIN = Object.freeze({ name: 'fieldlink', sw: version() });

const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const onOff = (b) => (b === true ? 'ON' : b === false ? 'OFF' : null);

// A sensor component. key: field of the state JSON; unit, device_class, state_class,
// precision: what HA needs to chart it; extra: more component options.
function sensor(key, name, unit, deviceClass, stateClass, precision, extra = {}) {
  return { key, name, platform: 'sensor', unit, deviceClass, stateClass, precision, ...extra };
}
function binary(key, name, deviceClass, extra = {}) {
  return { key, name, platform: 'binary_sensor', deviceClass, ...extra };
}
function text(key, name, extra = {}) {
  return { key, name, platform: 'sensor', ...extra };
}

const M307_PROBES = [
  ['temperature1', 'temperatureSensor1', 'Probe 1'],
  ['temperature2', 'temperatureSensor2', 'Probe 2'],
  ['internalTemperature', 'internalTemperature', 'Internal temperature'],
];
const M307_ALARM_INPUTS = [
  ['temperature1', 'temperatureSensor1', 'Probe 1 alarm'],
  ['temperature2', 'temperatureSensor2', 'Probe 2 alarm'],
  ['internalTemperature', 'internalTemperature', 'Internal temperature alarm'],
  ['humidity', 'internalHumidity', 'Humidity alarm'],
  ['door1', 'door1', 'Door 1 alarm'],
  ['door2', 'door2', 'Door 2 alarm'],
];

/** The components of each kind. temperatureUnit: 'C' | 'F' (M307 only). */
function componentsOf(kind, { temperatureUnit = 'C', controls = false } = {}) {
  const degrees = temperatureUnit === 'F' ? '°F' : '°C';
  switch (kind) {
    case 'modbus':
      return [
        sensor('temperature', 'Temperature', '°C', 'temperature', 'measurement', 1),
        sensor('humidity', 'Humidity', '%', 'humidity', 'measurement', 1),
      ];
    case 'm307':
      return [
        ...M307_PROBES.map(([key, , name]) => sensor(key, name, degrees, 'temperature', 'measurement', 1)),
        sensor('humidity', 'Humidity', '%', 'humidity', 'measurement', 0),
        sensor('batteryVoltage', 'Backup battery', 'V', 'voltage', 'measurement', 2, { entityCategory: 'diagnostic' }),
        binary('mainPower', 'Mains power', 'power'),
        binary('door1Open', 'Door 1', 'door'),
        binary('door2Open', 'Door 2', 'door'),
        ...M307_ALARM_INPUTS.map(([key, , name]) => binary(`${key}Alarm`, name, 'problem')),
        { key: 'setClock', name: 'Set clock', platform: 'button', command: 'clock', entityCategory: 'config' },
        { key: 'downloadLog', name: 'Download log', platform: 'button', command: 'log', entityCategory: 'diagnostic' },
      ];
    case 'mx':
      return [
        sensor('pvVoltage', 'PV voltage', 'V', 'voltage', 'measurement', 0),
        sensor('pvCurrent', 'PV current', 'A', 'current', 'measurement', 0),
        sensor('pvPower', 'PV power', 'W', 'power', 'measurement', 0),
        sensor('batteryVoltage', 'Battery voltage', 'V', 'voltage', 'measurement', 1),
        sensor('batteryCurrent', 'Charge current', 'A', 'current', 'measurement', 1),
        sensor('chargerPower', 'Charge power', 'W', 'power', 'measurement', 0),
        // The MX counts today's energy and resets it at night: total_increasing reads a drop
        // as a new cycle, which is what HA's Energy dashboard needs.
        sensor('kilowattHours', 'Energy today', 'kWh', 'energy', 'total_increasing', 1),
        sensor('ampHours', 'Charge today', 'Ah', null, 'total_increasing', 0),
        text('chargerMode', 'Charger mode'),
        binary('auxOn', 'AUX output', null),
        binary('problem', 'Error', 'problem'),
      ];
    case 'fx': {
      const list = [
        sensor('acOutputVoltage', 'AC output voltage', 'V', 'voltage', 'measurement', 0),
        sensor('acInputVoltage', 'AC input voltage', 'V', 'voltage', 'measurement', 0),
        sensor('inverterCurrent', 'Inverter current', 'A', 'current', 'measurement', 1),
        sensor('chargerCurrent', 'Charger current', 'A', 'current', 'measurement', 1),
        sensor('buyCurrent', 'Buy current', 'A', 'current', 'measurement', 1),
        sensor('sellCurrent', 'Sell current', 'A', 'current', 'measurement', 1),
        sensor('batteryVoltage', 'Battery voltage', 'V', 'voltage', 'measurement', 1),
        text('operationalMode', 'Mode'),
        text('acMode', 'AC input'),
        binary('auxOn', 'AUX output', null),
        binary('problem', 'Error or warning', 'problem'),
      ];
      if (controls) {
        for (const [control, values] of Object.entries(FX_CONTROL_VALUES)) {
          list.push({
            key: `control_${control}`, name: `Control ${control}`, platform: 'select', command: `control/${control}`,
            options: values, entityCategory: 'config', stateKey: `controls.${control}`,
          });
        }
      }
      return list;
    }
    case 'dc':
      return [
        sensor('stateOfCharge', 'State of charge', '%', 'battery', 'measurement', 0),
        sensor('batteryVoltage', 'Battery voltage', 'V', 'voltage', 'measurement', 1),
        sensor('batteryCurrent', 'Battery current', 'A', 'current', 'measurement', 1),
        sensor('batteryPower', 'Battery power', 'kW', 'power', 'measurement', 2),
        sensor('inCurrent', 'In current', 'A', 'current', 'measurement', 1),
        sensor('outCurrent', 'Out current', 'A', 'current', 'measurement', 1),
        sensor('inPower', 'In power', 'kW', 'power', 'measurement', 2),
        sensor('outPower', 'Out power', 'kW', 'power', 'measurement', 2),
        // Daily counters (reset at midnight by the DC): total_increasing, for the Energy dashboard.
        sensor('todayInKwh', 'Energy in today', 'kWh', 'energy', 'total_increasing', 2),
        sensor('todayOutKwh', 'Energy out today', 'kWh', 'energy', 'total_increasing', 2),
        sensor('todayInAh', 'Charge in today', 'Ah', null, 'total_increasing', 0),
        sensor('todayOutAh', 'Charge out today', 'Ah', null, 'total_increasing', 0),
        sensor('minSocToday', 'Lowest SOC today', '%', 'battery', 'measurement', 0),
        sensor('daysSinceFull', 'Days since full', 'd', 'duration', 'measurement', 1),
      ];
    default:
      throw new TypeError(`unknown device kind ${JSON.stringify(kind)} (one of ${KINDS.join(', ')})`);
  }
}

// The FX controls as HA options (kept in step with lib/mate/bus.js FX_CONTROLS by a test).
const FX_CONTROL_VALUES = {
  inverter: ['off', 'search', 'on'],
  acIn: ['drop', 'use'],
  charger: ['off', 'auto', 'on'],
  aux: ['off', 'auto', 'on'],
  eq: ['off', 'auto', 'on'],
};

const MODELS = { m307: 'M307 Temperature Guard', mx: 'MX/FLEXmax charge controller', fx: 'FX inverter/charger', dc: 'FLEXnet DC', modbus: 'RS485 T/H sensor' };
const MAKERS = { m307: 'M307', mx: 'OutBack Power', fx: 'OutBack Power', dc: 'OutBack Power', modbus: 'Modbus RTU' };

/**
 * A device's readings as the flat JSON of its state topic. Accepts what the library's
 * getStatus()/readStatus()/read() return and what the Node-RED device nodes send as
 * msg.payload (the same fields, made JSON-safe).
 */
function normalize(kind, s) {
  if (!s || typeof s !== 'object') throw new TypeError(`a ${kind} reading must be an object`);
  switch (kind) {
    case 'modbus':
      return { temperature: num(s.temperature), humidity: num(s.humidity), valid: s.valid !== false };
    case 'm307': {
      const out = {};
      const reading = (x) => (x && x.readingStatus === 'value' ? num(x.reading) : null);
      for (const [key, src] of M307_PROBES) {
        out[key] = reading(s[src]);
        out[`${key}Status`] = s[src] ? s[src].readingStatus : null;
      }
      out.humidity = reading(s.internalHumidity);
      out.batteryVoltage = num(s.batteryVoltage);
      out.mainPower = onOff(s.mainPower);
      for (const d of ['door1', 'door2']) {
        out[d] = s[d] ? s[d].state : null;
        out[`${d}Open`] = s[d] ? onOff(s[d].state === 'open') : null;
      }
      const alarms = [];
      for (const [key, src] of M307_ALARM_INPUTS) {
        const a = !!(s[src] && s[src].inAlarm);
        out[`${key}Alarm`] = onOff(a);
        if (a) alarms.push(key);
      }
      out.alarms = alarms;
      out.temperatureUnit = s.temperatureUnit === 'F' ? 'F' : 'C';
      return out;
    }
    case 'mx': {
      const pvPower = num(s.pvPower) ?? (num(s.pvVoltage) !== null && num(s.pvCurrent) !== null ? Math.round(s.pvVoltage * s.pvCurrent) : null);
      const chargerPower = num(s.chargerPower) ?? (num(s.batteryVoltage) !== null && num(s.batteryCurrent) !== null ? Math.round(s.batteryVoltage * s.batteryCurrent) : null);
      return {
        pvVoltage: num(s.pvVoltage), pvCurrent: num(s.pvCurrent), pvPower,
        batteryVoltage: num(s.batteryVoltage), batteryCurrent: num(s.batteryCurrent), chargerPower,
        kilowattHours: num(s.kilowattHours), ampHours: num(s.ampHours),
        chargerMode: typeof s.chargerMode === 'string' ? s.chargerMode : null,
        auxOn: onOff(s.auxOn), errors: Array.isArray(s.errors) ? s.errors : [],
        problem: onOff(Array.isArray(s.errors) && s.errors.length > 0),
      };
    }
    case 'fx': {
      const errors = Array.isArray(s.errors) ? s.errors : [];
      const warnings = Array.isArray(s.warnings) ? s.warnings : [];
      const out = {
        acOutputVoltage: num(s.acOutputVoltage), acInputVoltage: num(s.acInputVoltage),
        inverterCurrent: num(s.inverterCurrent), chargerCurrent: num(s.chargerCurrent),
        buyCurrent: num(s.buyCurrent), sellCurrent: num(s.sellCurrent), batteryVoltage: num(s.batteryVoltage),
        operationalMode: typeof s.operationalMode === 'string' ? s.operationalMode : null,
        acMode: typeof s.acMode === 'string' ? s.acMode : null,
        auxOn: onOff(s.auxOn), errors, warnings, problem: onOff(errors.length + warnings.length > 0),
      };
      if (s.controls && typeof s.controls === 'object') out.controls = { ...s.controls };
      return out;
    }
    case 'dc': {
      const out = {};
      for (const k of ['stateOfCharge', 'batteryVoltage', 'batteryCurrent', 'batteryPower', 'inCurrent', 'outCurrent', 'inPower',
        'outPower', 'todayInKwh', 'todayOutKwh', 'todayBatteryKwh', 'todayInAh', 'todayOutAh', 'todayBatteryAh', 'minSocToday',
        'daysSinceFull', 'netAh', 'netKwh']) out[k] = num(s[k]);
      for (const sh of ['shuntA', 'shuntB', 'shuntC']) {
        if (s[sh]) out[sh] = { current: num(s[sh].current), power: num(s[sh].power), kilowattHoursToday: num(s[sh].kilowattHoursToday) };
      }
      return out;
    }
    default:
      throw new TypeError(`unknown device kind ${JSON.stringify(kind)} (one of ${KINDS.join(', ')})`);
  }
}

/** Guesses the kind of a Node-RED device node's payload (null when it cannot tell). */
function guessKind(p) {
  if (!p || typeof p !== 'object') return null;
  if (p.temperatureSensor1 && p.door1) return 'm307';
  if ('chargerMode' in p && 'pvVoltage' in p) return 'mx';
  if ('operationalMode' in p && 'acOutputVoltage' in p) return 'fx';
  if ('stateOfCharge' in p && 'todayInKwh' in p) return 'dc';
  if ('temperature' in p && 'humidity' in p) return 'modbus';
  return null;
}

function checkId(what, id) {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw new RangeError(`${what} must be 1..64 characters of A-Z a-z 0-9 _ - (got ${JSON.stringify(id)})`);
  }
  if (what === 'device id' && RESERVED_IDS.has(id)) throw new RangeError(`device id "${id}" is reserved`);
  return id;
}

function checkTopic(what, t) {
  if (typeof t !== 'string' || t === '' || /[#+\0]/.test(t) || t.startsWith('/') || t.endsWith('/')) {
    throw new RangeError(`${what} must be a topic without wildcards or a leading/trailing '/' (got ${JSON.stringify(t)})`);
  }
  return t;
}

/**
 * createMapping({ baseTopic, discoveryPrefix, gatewayId, origin }) -> mapping
 * The topics and payloads of one gateway (or one Node-RED flow: gatewayId then names it).
 */
function createMapping(opts = {}) {
  const base = checkTopic('baseTopic', opts.baseTopic ?? 'fieldlink');
  const prefix = checkTopic('discoveryPrefix', opts.discoveryPrefix ?? 'homeassistant');
  const gatewayId = opts.gatewayId == null ? null : checkId('gateway id', opts.gatewayId);
  const origin = { ...ORIGIN, ...(opts.origin || {}) };
  const gatewayAvailabilityTopic = opts.gatewayAvailabilityTopic !== undefined
    ? opts.gatewayAvailabilityTopic
    : (gatewayId ? `${base}/gateway/${gatewayId}/availability` : null);

  /**
   * device({ id, kind, name, model, serialNumber, controls, commands }) -> the device's mapping.
   * controls: FX controls as HA selects (the caller checks the double opt-in first);
   * commands: false leaves out the M307 buttons (where nothing listens to them).
   */
  function device(d) {
    const id = checkId('device id', d.id);
    if (!KINDS.includes(d.kind)) throw new RangeError(`device kind must be one of ${KINDS.join(', ')} (got ${JSON.stringify(d.kind)})`);
    const kind = d.kind;
    const root = `${base}/${id}`;
    const topics = {
      state: `${root}/state`,
      availability: `${root}/availability`,
      log: `${root}/log`,
      command: (name) => `${root}/set/${name}`,
      result: (name) => `${root}/result/${name}`,
      commandFilter: `${root}/set/#`,
      reading: (key) => `${root}/${key}`,
      discovery: `${prefix}/device/${id}/config`,
    };
    let seq = 0;
    let temperatureUnit = 'C';

    const components = () => componentsOf(kind, { temperatureUnit, controls: !!d.controls })
      .filter((c) => !(c.command && c.platform === 'button' && d.commands === false));

    /** The discovery message (retained JSON on <prefix>/device/<id>/config). */
    function discovery() {
      const cmps = {};
      for (const c of components()) {
        const cfg = { p: c.platform, name: c.name, unique_id: `fieldlink_${id}_${c.key}` };
        if (c.platform === 'button') {
          cfg.command_topic = topics.command(c.command);
          cfg.payload_press = 'PRESS';
        } else {
          const path = (c.stateKey || c.key).split('.').map((k) => `[${JSON.stringify(k).replace(/"/g, "'")}]`).join('');
          // state_topic per component, not shared: a button has none (HA's example shares it
          // only among sensors).
          cfg.state_topic = topics.state;
          cfg.value_template = `{{ value_json${path} }}`;
          if (c.platform === 'select') {
            cfg.command_topic = topics.command(c.command);
            cfg.options = c.options;
          }
        }
        if (c.deviceClass) cfg.device_class = c.deviceClass;
        if (c.stateClass) cfg.state_class = c.stateClass;
        if (c.unit) cfg.unit_of_measurement = c.unit;
        if (c.precision != null) cfg.suggested_display_precision = c.precision;
        if (c.entityCategory) cfg.entity_category = c.entityCategory;
        cmps[c.key] = cfg;
      }
      const dev = {
        ids: [`fieldlink_${id}`],
        name: d.name || id,
        mf: d.manufacturer || MAKERS[kind],
        mdl: d.model || MODELS[kind],
      };
      if (d.serialNumber) dev.sn = String(d.serialNumber);
      if (d.swVersion) dev.sw = String(d.swVersion);
      const availability = [{ topic: topics.availability }];
      if (gatewayAvailabilityTopic) availability.unshift({ topic: gatewayAvailabilityTopic });
      const payload = {
        dev,
        o: origin,
        cmps,
        availability,
        availability_mode: 'all',
        qos: opts.qos ?? 1,
      };
      return { topic: topics.discovery, payload: JSON.stringify(payload), retain: true };
    }

    return {
      id,
      kind,
      topics,
      components,
      discovery,
      /** The message that removes the device from Home Assistant. */
      removal: () => ({ topic: topics.discovery, payload: '', retain: true }),
      /** online: boolean -> the retained availability message. */
      availability: (online) => ({ topic: topics.availability, payload: online ? 'online' : 'offline', retain: true }),
      /**
       * A reading -> { values, messages, rediscover }: the retained JSON state and, unless
       * readingTopics is false, one retained message per reading. at: when the device replied
       * (epoch ms, fractional allowed). rediscover is true when the discovery must be sent
       * again (the M307 changed its temperature unit).
       */
      state(reading, { at = Date.now(), readingTopics = true } = {}) {
        const values = normalize(kind, reading);
        let rediscover = false;
        if (kind === 'm307' && values.temperatureUnit !== temperatureUnit) {
          temperatureUnit = values.temperatureUnit;
          rediscover = true;
        }
        seq += 1;
        const body = { ...values, seq, ts: new Date(at).toISOString(), t: at };
        const messages = [{ topic: topics.state, payload: JSON.stringify(body), retain: true }];
        if (readingTopics) {
          for (const c of components()) {
            if (c.platform === 'button' || c.platform === 'select') continue;
            const v = values[c.key];
            if (v === undefined) continue;
            messages.push({ topic: topics.reading(c.key), payload: v === null ? '' : String(v), retain: true });
          }
        }
        return { values: body, messages, rediscover };
      },
    };
  }

  return {
    baseTopic: base,
    discoveryPrefix: prefix,
    gatewayId,
    origin,
    gatewayAvailabilityTopic,
    /** Home Assistant's birth/last-will topic (payload 'online' means: announce again). */
    haStatusTopic: `${prefix}/status`,
    gatewayAvailability: (online) => ({ topic: gatewayAvailabilityTopic, payload: online ? 'online' : 'offline', retain: true }),
    device,
  };
}

module.exports = { createMapping, normalize, componentsOf, guessKind, checkId, KINDS, ORIGIN, FX_CONTROL_VALUES };
