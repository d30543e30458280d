'use strict';
// Modbus RTU wiring and settings diagnostics: what is wrong between this computer and an
// RS485 temperature/humidity sensor, decided from the bytes that came back.
//
//   diagnose(path, options)          -> the verdict: one result
//   runFullDiagnostic(path, options) -> every step's result, in order
//
// A result is { code, ok, step, message, suggestion, rawData, timestamp, details }
// (lib/diagnostics/result.js). Steps: port -> open -> listen -> request -> address 1 ->
// baud-probe -> parity-probe -> address-probe; the first step that finds the trouble ends
// the run. A request step that met only silence is kept in the list with
// details.intermediate = true: the probes give the verdict.
//
// EVIDENCE RULES. Every verdict names the bytes it rests on; nothing is guessed from silence
// alone except NO_SENSOR_RESPONSE, which is what silence is.
//
//  port    the path does not exist                    -> PORT_NOT_FOUND (with the ports that do
//                                                        exist, /dev/serial/by-id names first)
//          ... and no USB or RS485 serial adapter     -> NO_RS485_CONVERTER
//  open    EACCES                                      -> PERMISSION_DENIED, naming the device's
//                                                        group (e.g. dialout) and whether this
//                                                        session has it
//          EBUSY (another flock on the port)           -> PORT_BUSY, naming the process: the lock
//                                                        owner from /proc/locks, other openers
//                                                        from /proc/*/fd, name from /proc/PID/comm
//          anything else                               -> PORT_ERROR (the OS error)
//  listen  nothing is sent; rawExchange(null) for listenMs. A unit must not talk unasked:
//          printable text (digits, '.', ',', '%', CR LF, a ℃ sign in UTF-8 E2 84 83 or
//          GB2312 A1 E6)                                -> ASCII_AUTOREPORT, quoting the text
//                                                        (an XY-MD02 left in the auto-report
//                                                        mode of its ASCII protocol, docs/protocols/modbus.md §8)
//          CRC-valid frames                            -> INVALID_RESPONSE, not fatal: another
//                                                        master is polling the bus
//          other bytes                                 -> INVALID_RESPONSE, not fatal: noise
//  request the profile's read (XY-MD02: 01 04 00 01 00 02 20 0B) sent `tries` times with
//          rawExchange; each burst of reply bytes is classified (frames.js):
//          a valid reply from our unit                 -> OK, with the decoded values (and
//                                                        the loss rate if some tries were silent)
//          ... but values out of the profile's range   -> INVALID_RESPONSE: another register map
//                                                        or scale; the plausible ones are named
//          XOR 0xFF of the bytes is a CRC-valid frame
//          from our unit                               -> AB_LINES_SWAPPED (confirmed: an RS485
//                                                        receiver with A/B reversed inverts bits)
//          only 0xFF bytes                             -> GROUND_NOT_CONNECTED (floating input:
//                                                        no common ground, no bias)
//          only 0x00 bytes                             -> GROUND_NOT_CONNECTED, worded as the
//                                                        original Python sensor module does: A/B shorted (details.symptom
//                                                        'all-0x00' tells the two apart)
//          our address and function, the reply's
//          length, a failing CRC (in k of N tries), or
//          good replies mixed with corrupted ones      -> CRC_ERROR with the error rate
//          text                                        -> ASCII_AUTOREPORT
//          a Modbus exception from our unit            -> INVALID_RESPONSE: it is there and
//                                                        wired right, but the register map is
//                                                        another; the profiles that do answer
//                                                        plausibly are named (probeProfile)
//          anything else                               -> INVALID_RESPONSE (A/B swap, baud or
//                                                        parity named as possibilities only)
//          nothing in two tries                        -> the probes (any probe burst that is
//          text or an inverted frame ends them with ASCII_AUTOREPORT / AB_LINES_SWAPPED):
//  address-probe first address 1, the factory default, at our settings: a valid reply
//                                                      -> WRONG_SLAVE_ADDRESS (so that a reply at
//                                                        address 1 below is owed to the settings)
//  baud-probe    our address (and 1) at 2400 ... 115200 baud (14400 is
//          tried only where the OS can set it; Linux termios cannot): a valid reply
//                                                      -> BAUDRATE_MISMATCH naming the rate
//  parity-probe  the same at our baud with the other parities: a valid reply
//                                                      -> BAUDRATE_MISMATCH naming the
//                                                        line settings (e.g. 9600 8E1)
//  address-probe the read at every other address 2..247 at our settings, short timeouts:
//          a valid reply (or exception) from unit N    -> WRONG_SLAVE_ADDRESS naming N
//  none of it                                          -> NO_SENSOR_RESPONSE with the original Python sensor module's
//                                                        causes (power, A/B, GND, address,
//                                                        baud) and what was tried
//
// Why a real A/B swap often shows as NO_SENSOR_RESPONSE: the sensor receives the inverted
// request and cannot decode it, so it stays silent. AB_LINES_SWAPPED is reported only when an
// inverted reply proves it (e.g. a converter whose receive side is swapped, or a half-swapped
// bus); the NO_SENSOR_RESPONSE suggestion names the swap among the causes.

const { ModbusBus, PARITIES } = require('../modbus/bus');
const { resolveProfile, decimalsFor } = require('../modbus/profiles');
const v = require('../validate');
const { CODES, SUGGESTIONS, result } = require('./result');
const F = require('./frames');
const defaults = require('../defaults').modbus;
const { checkPort, openErrorResult, isPseudoTerminal, isTcp } = require('./port');

const PROBE_BAUD_RATES = Object.freeze([2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200]);
const PARITY_LETTER = { none: 'N', even: 'E', odd: 'O' };

const lineText = (s) => (s.tcp ? 'over TCP' : `${s.baudRate} ${s.dataBits}${PARITY_LETTER[s.parity]}${s.stopBits}`);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

const { throwIfAborted } = v;

function checkOptions(target, options) {
  const o = v.knownKeys('options', v.plainObject('options', options), ['address', 'baudRate', 'dataBits', 'listPorts', 'listenMs',
    'onProgress', 'open', 'parity', 'probe', 'probeAddresses', 'probeBaudRates', 'probeParities', 'probeTimeout', 'profile',
    'quietMs', 'serialDriver', 'signal', 'stopBits', 'sweepAll', 'timeout', 'tries']);
  const tcp = isTcp(target);
  const pty = !tcp && isPseudoTerminal(target);
  const out = {
    address: o.address ?? 1,
    baudRate: o.baudRate ?? defaults.baudRate,
    parity: o.parity ?? defaults.parity,
    dataBits: o.dataBits ?? defaults.dataBits,
    stopBits: o.stopBits ?? defaults.stopBits,
    profile: resolveProfile(o.profile),
    timeout: o.timeout ?? defaults.timeout,
    tries: o.tries ?? 5,
    listenMs: o.listenMs ?? 1100,
    quietMs: o.quietMs ?? (pty ? 10 : 30),
    probe: o.probe ?? true,
    probeTimeout: o.probeTimeout ?? (pty ? 30 : tcp ? 300 : 100),
    probeAddresses: o.probeAddresses ?? range(1, 247),
    probeBaudRates: o.probeBaudRates ?? PROBE_BAUD_RATES,
    probeParities: o.probeParities ?? PARITIES,
    sweepAll: o.sweepAll ?? false,
    serialDriver: o.serialDriver ?? defaults.serialDriver,
    signal: v.abortSignal('signal', o.signal),
    onProgress: o.onProgress ?? null,
    listPorts: o.listPorts ?? null,
    open: o.open ?? ((p, opts) => ModbusBus.open(p, opts)),
    tcp,
    pty,
  };
  v.integer('address', out.address, 1, 247);
  v.integer('baudRate', out.baudRate, 300, 4000000);
  v.oneOf('parity', out.parity, PARITIES);
  v.oneOf('dataBits', out.dataBits, [7, 8]);
  v.oneOf('stopBits', out.stopBits, [1, 2]);
  v.integer('timeout', out.timeout, 10, 60000);
  v.integer('tries', out.tries, 1, 100);
  v.integer('listenMs', out.listenMs, 0, 60000);
  v.integer('quietMs', out.quietMs, 0, 10000);
  v.integer('probeTimeout', out.probeTimeout, 1, 60000);
  if (typeof out.probe !== 'boolean') v.fail('probe', 'true or false', out.probe, 'EINVAL');
  if (!Array.isArray(out.probeAddresses)) v.fail('probeAddresses', 'an array of unit addresses 1..247', out.probeAddresses, 'EINVAL');
  out.probeAddresses.forEach((a, i) => v.integer(`probeAddresses[${i}]`, a, 1, 247));
  if (!Array.isArray(out.probeBaudRates)) v.fail('probeBaudRates', 'an array of baud rates', out.probeBaudRates, 'EINVAL');
  out.probeBaudRates.forEach((b, i) => v.integer(`probeBaudRates[${i}]`, b, 300, 4000000));
  if (!Array.isArray(out.probeParities)) v.fail('probeParities', "an array of 'none', 'even', 'odd'", out.probeParities, 'EINVAL');
  out.probeParities.forEach((p, i) => v.oneOf(`probeParities[${i}]`, p, PARITIES));
  if (out.onProgress !== null && typeof out.onProgress !== 'function') v.fail('onProgress', 'a function', out.onProgress, 'EINVAL');
  if (out.listPorts !== null && typeof out.listPorts !== 'function') v.fail('listPorts', 'a function', out.listPorts, 'EINVAL');
  if (typeof out.open !== 'function') v.fail('open', 'a function', out.open, 'EINVAL');
  return out;
}

/**
 * The port as the diagnosis uses it: one bus at a time, reopened with other line settings
 * for the probes, closed at once when the signal aborts (which ends a pending exchange).
 */
class Line {
  constructor(target, o) {
    this.target = target;
    this.o = o;
    this.bus = null;
    this.settings = null;
    this._onAbort = () => {
      if (this.bus) this.bus.close().catch(() => {});
    };
    if (o.signal) o.signal.addEventListener('abort', this._onAbort, { once: true });
  }

  async open(settings) {
    await this.close();
    throwIfAborted(this.o.signal);
    const s = { baudRate: this.o.baudRate, parity: this.o.parity, dataBits: this.o.dataBits, stopBits: this.o.stopBits, ...settings };
    const opts = {
      parity: s.parity,
      dataBits: s.dataBits,
      stopBits: s.stopBits,
      timeout: this.o.timeout,
      retries: 0,
      offlineAfter: 0,
      serialDriver: this.o.serialDriver,
    };
    if (this.o.tcp) s.tcp = true;
    else opts.baudRate = s.baudRate;
    this.bus = await this.o.open(this.target, opts);
    this.settings = s;
    if (this.o.signal && this.o.signal.aborted) {
      await this.close();
      throwIfAborted(this.o.signal);
    }
    return this.bus;
  }

  async exchange(request, timeoutMs, quietMs) {
    throwIfAborted(this.o.signal);
    try {
      return await this.bus.rawExchange(request, { timeoutMs, quietMs });
    } catch (err) {
      throwIfAborted(this.o.signal);
      throw err;
    }
  }

  async close() {
    const b = this.bus;
    this.bus = null;
    if (b) await b.close().catch(() => {});
  }

  async dispose() {
    if (this.o.signal) this.o.signal.removeEventListener('abort', this._onAbort);
    await this.close();
  }
}

function decodeValues(profile, registers, first) {
  const out = {};
  let valid = true;
  for (const k of ['temperature', 'humidity']) {
    const ch = profile[k];
    if (!ch) continue;
    const raw = registers[ch.register - first];
    const n = ch.signed && raw >= 0x8000 ? raw - 0x10000 : raw;
    out[k] = Number((n / ch.scale).toFixed(decimalsFor(ch.scale)));
    const r = profile.range && profile.range[k];
    if (r && (out[k] < r[0] || out[k] > r[1])) valid = false;
  }
  return { values: out, valid };
}

const valuesText = (vals) => [
  vals.temperature !== undefined ? `${vals.temperature} °C` : null,
  vals.humidity !== undefined ? `${vals.humidity} %RH` : null,
].filter(Boolean).join(', ');

function asciiResult(step, bytes, where) {
  const t = F.asText(bytes);
  const readings = t.lines.map(F.parseReportLine).filter(Boolean);
  const first = t.lines[0] || t.text.trim();
  return result(CODES.ASCII_AUTOREPORT, {
    step,
    message: `the sensor sends text without being asked${where ? ` ${where}` : ''}: "${first}"${t.lines.length > 1 ? ` (${t.lines.length} lines)` : ''}. ` +
      'It is in the auto-report mode of its ASCII "ordinary protocol" and does not answer Modbus.',
    suggestion: 'Send the ASCII command STOP (e.g. printf STOP > PORT at 9600 8N1) to end the auto-report; ' +
      'how the board switches back to Modbus is not documented: power-cycle it after STOP, and if it still talks ASCII, ' +
      "use the vendor's tool or hardware reset (bridge RST to GND while powering up, ~20 s).",
    rawData: F.hex(bytes),
    details: { text: t.text, lines: t.lines, encoding: t.encoding, readings },
  });
}

// One request at the current settings; `address` overrides the requested one.
function requestFor(o, address = o.address) {
  const r = F.profileRead(o.profile);
  return { ...r, address, bytes: F.readRequest(address, r.functionCode, r.register, r.count) };
}

async function listenStep(line, o, steps) {
  if (o.listenMs <= 0) return null;
  const bytes = await line.exchange(null, o.listenMs, 50);
  const rq = requestFor(o);
  if (bytes.length === 0) {
    steps.push(result(CODES.OK, { step: 'listen', message: `the bus was quiet for ${o.listenMs} ms before any request (as it should be with one master)` }));
    return null;
  }
  if (F.asText(bytes)) {
    const r = asciiResult('listen', bytes, `(heard in ${o.listenMs} ms of listening, before any request)`);
    steps.push(r);
    return r;
  }
  const c = F.classify(bytes, { address: o.address, fc: rq.functionCode, count: rq.count });
  if (c.kind === 'all-ff') {
    steps.push(result(CODES.GROUND_NOT_CONNECTED, {
      step: 'listen',
      message: `${bytes.length} bytes of 0xFF arrived without a request: the receiver's input is floating`,
      suggestion: SUGGESTIONS.GROUND_NOT_CONNECTED_FLOATING,
      rawData: F.hex(bytes),
      details: { symptom: 'all-0xff', unsolicited: true, nonFatal: true },
    }));
    return null;
  }
  const master = F.containsCrcFrame(bytes);
  steps.push(result(CODES.INVALID_RESPONSE, {
    step: 'listen',
    message: master
      ? `${bytes.length} bytes of Modbus traffic arrived without a request: another master is polling this bus`
      : `${bytes.length} bytes arrived without a request (noise, or a device talking unasked)`,
    suggestion: master
      ? 'Only one master per RS485 bus: stop the other program or device that polls (a PLC, a data logger, another Node-RED).'
      : 'Look for interference (shielded twisted pair, 120 Ω termination at both ends) and for a device that talks unasked.',
    rawData: F.hex(bytes),
    details: { unsolicited: true, anotherMaster: master, nonFatal: true },
  }));
  return null;
}

// The request step: `tries` reads, each burst classified; returns the verdict or null
// (silence: go on with the probes).
async function requestStep(line, o, steps, progress) {
  const rq = requestFor(o);
  const want = { address: o.address, fc: rq.functionCode, count: rq.count };
  const samples = [];
  const tally = {};
  for (let t = 0; t < o.tries; t++) {
    const bytes = await line.exchange(rq.bytes, o.timeout, o.quietMs);
    const c = F.classify(bytes, want);
    samples.push({ kind: c.kind, bytes, c });
    tally[c.kind] = (tally[c.kind] || 0) + 1;
    progress('request', t + 1, o.tries);
    if (c.kind === 'text') break;
    if (t === 1 && tally.none === 2) break; // two silent tries: go and probe
  }
  const n = samples.length;
  const first = (kind) => samples.find((s) => s.kind === kind);
  const where = `unit ${o.address} at ${lineText(line.settings)}`;
  const base = { step: 'request', details: { request: F.hex(rq.bytes), tries: n, tally, settings: { ...line.settings, address: o.address } } };
  const done = (r) => {
    steps.push(r);
    return r;
  };

  if (tally.text) {
    const s = first('text');
    return done(asciiResult('request', s.bytes, 'in answer to a Modbus request'));
  }
  if (tally.inverted) {
    const s = first('inverted');
    const { values } = decodeValues(o.profile, s.c.registers || [], rq.register);
    return done(result(CODES.AB_LINES_SWAPPED, {
      ...base,
      message: `the reply from ${where} arrives bit-inverted: with every byte inverted it is a valid frame (CRC correct)` +
        `${s.c.registers ? ` reading ${valuesText(values)}` : ''}. A and B are swapped (${tally.inverted} of ${n} replies).`,
      suggestion: SUGGESTIONS.AB_LINES_SWAPPED,
      rawData: F.hex(s.bytes),
      details: { ...base.details, confirmed: true, inverted: F.hex(F.invert(s.bytes)), valuesIfInverted: s.c.registers ? values : null },
    }));
  }
  const answered = samples.filter((s) => s.kind !== 'none');
  if (answered.length && answered.every((s) => s.kind === 'all-ff')) {
    const s = answered[0];
    return done(result(CODES.GROUND_NOT_CONNECTED, {
      ...base,
      message: `${where}: every reply is all 0xFF (${s.bytes.length} bytes where a ${5 + 2 * rq.count}-byte reply belongs, ${answered.length} of ${n} tries): ` +
        'the receiver sees a line that floats high — GND is not connected between converter and sensor (or the bus has no bias).',
      suggestion: SUGGESTIONS.GROUND_NOT_CONNECTED_FLOATING,
      rawData: F.hex(s.bytes),
      details: { ...base.details, symptom: 'all-0xff' },
    }));
  }
  if (answered.length && answered.every((s) => s.kind === 'all-00')) {
    const s = answered[0];
    return done(result(CODES.GROUND_NOT_CONNECTED, {
      ...base,
      message: `${where}: every reply is all 0x00 (${s.bytes.length} bytes, ${answered.length} of ${n} tries): ` +
        'A and B are shorted together (or a damaged cable holds the line low).',
      suggestion: SUGGESTIONS.GROUND_NOT_CONNECTED_SHORTED,
      rawData: F.hex(s.bytes),
      details: { ...base.details, symptom: 'all-0x00' },
    }));
  }
  const good = samples.filter((s) => s.kind === 'reply');
  const corrupted = samples.filter((s) => ['bad-crc', 'garbage', 'other-unit', 'all-ff', 'all-00'].includes(s.kind));
  if (tally['bad-crc'] || (good.length && corrupted.length)) {
    const s = first('bad-crc') || corrupted[0];
    const rate = corrupted.length / n;
    return done(result(CODES.CRC_ERROR, {
      ...base,
      message: `${where} answers, but ${corrupted.length} of ${n} replies were corrupted (${tally['bad-crc'] || 0} with a wrong CRC; error rate ${Math.round(rate * 100)}%)`,
      suggestion: SUGGESTIONS.CRC_ERROR,
      rawData: F.hex(s.bytes),
      details: { ...base.details, errorRate: rate, corrupted: corrupted.length, good: good.length },
    }));
  }
  // The unit is there and wired right; which register maps read plausible values from it?
  const otherMaps = async () => {
    const { probeProfile } = require('./scan');
    let plausible = [];
    try {
      plausible = (await probeProfile(line.bus, o.address, { signal: o.signal })).filter((p) => p.profile !== o.profile.name);
    } catch (err) {
      if (o.signal && o.signal.aborted) throw err;
    }
    const ambiguous = plausible.filter((p) => p.ambiguous);
    let suggestion;
    if (ambiguous.length > 1) {
      suggestion = `Use one of the profiles ${ambiguous.map((p) => `"${p.profile}" (reads ${valuesText(p.values)})`).join(' or ')}: ` +
        'they read the same registers differently and the bytes cannot tell which is right; compare with a thermometer.';
    } else if (plausible.length) {
      suggestion = `Use the profile "${plausible[0].profile}" (it reads ${valuesText(plausible[0].values)}).`;
    } else {
      suggestion = 'None of the built-in profiles reads plausible values: describe its registers as a custom profile.';
    }
    return { plausible, suggestion };
  };

  if (good.length) {
    const s = good[good.length - 1];
    const { values, valid } = decodeValues(o.profile, s.c.registers, rq.register);
    const lost = n - good.length;
    if (!valid) {
      const { plausible, suggestion } = await otherMaps();
      return done(result(CODES.INVALID_RESPONSE, {
        ...base,
        message: `${where} answers, but read with profile "${o.profile.name}" its values are out of range (${valuesText(values)}): ` +
          'its register map or scale is another',
        suggestion,
        rawData: F.hex(s.bytes),
        details: { ...base.details, values, valid, profile: o.profile.name, plausibleProfiles: plausible },
      }));
    }
    return done(result(CODES.OK, {
      ...base,
      message: `${where} answered ${good.length} of ${n} requests: ${valuesText(values)}`,
      suggestion: lost ? `${lost} of ${n} requests got no reply: ${SUGGESTIONS.CRC_ERROR}` : null,
      rawData: F.hex(s.bytes),
      details: { ...base.details, values, valid, lossRate: lost / n, profile: o.profile.name },
    }));
  }
  if (tally.exception) {
    const s = first('exception');
    const { plausible, suggestion } = await otherMaps();
    return done(result(CODES.INVALID_RESPONSE, {
      ...base,
      message: `${where} is there and wired right, but refuses the read of profile "${o.profile.name}" with Modbus exception ` +
        `${s.c.exception} (${EXCEPTION_NAMES[s.c.exception] || 'unknown'}): its register map is another`,
      suggestion,
      rawData: F.hex(s.bytes),
      details: { ...base.details, exception: s.c.exception, plausibleProfiles: plausible },
    }));
  }
  if (answered.length) {
    const s = answered[0];
    const other = first('other-unit');
    return done(result(CODES.INVALID_RESPONSE, {
      ...base,
      message: other
        ? `a valid reply came from unit ${other.c.address} although unit ${o.address} was asked: two units may share a line with a wrong address byte, or the unit is misconfigured`
        : `${where}: ${s.bytes.length} bytes came back that are not a Modbus reply`,
      suggestion: SUGGESTIONS.INVALID_RESPONSE,
      rawData: F.hex(s.bytes),
      details: { ...base.details, samples: answered.map((x) => ({ kind: x.kind, bytes: F.hex(x.bytes) })) },
    }));
  }
  steps.push(result(CODES.NO_SENSOR_RESPONSE, {
    ...base,
    message: `no reply from ${where} in ${n} tries of ${o.timeout} ms; probing other settings`,
    suggestion: null,
    // Not a verdict: the probes that follow decide (details.intermediate).
    details: { ...base.details, intermediate: true, probing: o.probe },
  }));
  return null;
}

const EXCEPTION_NAMES = { 1: 'ILLEGAL_FUNCTION', 2: 'ILLEGAL_DATA_ADDRESS', 3: 'ILLEGAL_DATA_VALUE', 4: 'SERVER_DEVICE_FAILURE' };

// One probe read: { found, c, bytes }. Found = a valid reply or exception from `address`.
async function probeOnce(line, o, address, evidence, label) {
  const rq = requestFor(o, address);
  const bytes = await line.exchange(rq.bytes, o.probeTimeout, o.quietMs);
  const c = F.classify(bytes, { address, fc: rq.functionCode, count: rq.count });
  if (c.kind !== 'none' && c.kind !== 'reply' && c.kind !== 'exception') {
    evidence.push({ probe: label, address, kind: c.kind, bytes: F.hex(bytes), c, raw: bytes, settings: { ...line.settings } });
  }
  return { found: c.kind === 'reply' || c.kind === 'exception', c, bytes };
}

// A probe found something decisive that is not a plain reply (text, an inverted frame).
function decisiveEvidence(evidence, o) {
  const t = evidence.find((e) => e.kind === 'text');
  if (t) return asciiResult(t.probe, t.raw, `(heard while probing unit ${t.address} at ${lineText(t.settings)})`);
  const inv = evidence.find((e) => e.kind === 'inverted');
  if (inv) {
    return result(CODES.AB_LINES_SWAPPED, {
      step: inv.probe,
      message: `while probing, unit ${inv.address} answered bit-inverted at ${lineText(inv.settings)} (every byte inverted is a valid frame): A and B are swapped` +
        `${inv.address !== o.address ? `, and the unit's address is ${inv.address}, not ${o.address}` : ''}`,
      suggestion: SUGGESTIONS.AB_LINES_SWAPPED,
      rawData: inv.bytes,
      details: { confirmed: true, address: inv.address, settings: inv.settings },
    });
  }
  return null;
}

async function probes(line, o, steps, progress) {
  const evidence = [];
  const tried = { baudRates: [], skippedBaudRates: [], parities: [], addresses: 0 };
  const base = line.settings;
  const addrs = o.address === 1 ? [1] : [o.address, 1];
  const foundResult = (step, code, settings, address, probe, extra) => {
    const values = probe.c.registers ? decodeValues(o.profile, probe.c.registers, requestFor(o).register).values : null;
    return result(code, {
      step,
      ...extra(values),
      rawData: F.hex(probe.bytes),
      details: { found: { ...settings, address }, values, exception: probe.c.exception ?? null, tried },
    });
  };

  const wrongAddress = (found) => {
    const { address: a, probe: p } = found[0];
    const r = foundResult('address-probe', CODES.WRONG_SLAVE_ADDRESS, { ...base }, a, p, (values) => ({
      message: `no reply at address ${o.address}, but a unit answers at address ${a} (${lineText(base)})` +
        `${found.length > 1 ? `; units also at ${found.slice(1).map((f) => f.address).join(', ')}` : ''}${values ? `: ${valuesText(values)}` : ''}`,
      suggestion: `Use address ${a} (--address ${a}), or give the sensor address ${o.address} ` +
        '(holding register 0x0101 on the XY-MD02; it applies after a power cycle).',
    }));
    r.details.allFound = found.map((f) => f.address);
    steps.push(r);
    return r;
  };

  // The factory default address first, at our settings: then a reply at address 1 in the
  // baud and parity probes below is owed to the line settings, not to the address.
  if (o.address !== 1 && o.probeAddresses.includes(1)) {
    progress('address-probe', 0, 1, 'address 1');
    const p = await probeOnce(line, o, 1, evidence, 'address-probe');
    tried.addresses += 1;
    if (p.found) return wrongAddress([{ address: 1, probe: p }]);
    const d = decisiveEvidence(evidence, o);
    if (d) {
      steps.push(d);
      return d;
    }
  }

  // Other baud rates (and 14400 only where it can be set), at our address and at 1.
  if (!o.tcp) {
    const rates = o.probeBaudRates.filter((b) => b !== base.baudRate);
    let i = 0;
    for (const rate of rates) {
      progress('baud-probe', i++, rates.length, `${rate} baud`);
      try {
        await line.open({ baudRate: rate });
      } catch (err) {
        if (err && (err.name === 'ValidationError' || err.code === 'ENOTSUPPORTED')) {
          tried.skippedBaudRates.push({ baudRate: rate, reason: err.message });
          continue;
        }
        throw err;
      }
      tried.baudRates.push(rate);
      for (const a of addrs) {
        const p = await probeOnce(line, o, a, evidence, 'baud-probe');
        if (p.found) {
          const settings = { ...line.settings };
          const r = foundResult('baud-probe', CODES.BAUDRATE_MISMATCH, settings, a, p, (values) => ({
            message: `no reply at ${lineText(base)}, but unit ${a} answers at ${rate} baud${a !== o.address ? ` (at address ${a}, the factory default, not ${o.address})` : ''}` +
              `${values ? `: ${valuesText(values)}` : ''}`,
            suggestion: `Use ${rate} baud (--baud ${rate})${a !== o.address ? ` and address ${a}` : ''}, or set the sensor to ${base.baudRate} baud` +
              ' (holding register 0x0102 on the XY-MD02; it applies after a power cycle).',
          }));
          steps.push(r);
          return r;
        }
      }
      const d = decisiveEvidence(evidence, o);
      if (d) {
        steps.push(d);
        return d;
      }
    }
    progress('baud-probe', rates.length, rates.length);

    // Other parities at our baud rate.
    const parities = o.probeParities.filter((p) => p !== base.parity);
    for (const parity of parities) {
      await line.open({ baudRate: base.baudRate, parity });
      tried.parities.push(parity);
      for (const a of addrs) {
        const p = await probeOnce(line, o, a, evidence, 'parity-probe');
        if (p.found) {
          const settings = { ...line.settings };
          const r = foundResult('parity-probe', CODES.BAUDRATE_MISMATCH, settings, a, p, (values) => ({
            message: `no reply at ${lineText(base)}, but unit ${a} answers at ${lineText(settings)} (parity ${parity})${values ? `: ${valuesText(values)}` : ''}`,
            suggestion: `Use parity ${parity} (--parity ${parity})${a !== o.address ? ` and address ${a}` : ''}.`,
          }));
          steps.push(r);
          return r;
        }
      }
    }
    await line.open(base);
  }

  // Every other address at our settings (1 was tried above).
  const others = o.probeAddresses.filter((a) => a !== o.address && a !== 1);
  const found = [];
  for (let i = 0; i < others.length; i++) {
    const a = others[i];
    progress('address-probe', i, others.length, `address ${a}`);
    const p = await probeOnce(line, o, a, evidence, 'address-probe');
    tried.addresses += 1;
    if (p.found) {
      found.push({ address: a, probe: p });
      if (!o.sweepAll) break;
    }
    const d = decisiveEvidence(evidence, o);
    if (d) {
      steps.push(d);
      return d;
    }
  }
  progress('address-probe', others.length, others.length);
  if (found.length) return wrongAddress(found);

  const unexplained = evidence.map(({ probe, address, kind, bytes }) => ({ probe, address, kind, bytes }));
  const what = [
    `${o.tries > 1 ? 'repeated requests' : 'a request'} to unit ${o.address} at ${lineText(base)}`,
    tried.addresses ? `${tried.addresses} other addresses in ${Math.min(...o.probeAddresses)}..${Math.max(...o.probeAddresses)} at ${lineText(base)}` : null,
    tried.baudRates.length ? `address ${addrs.join(' and ')} at ${tried.baudRates.join(', ')} baud` : null,
    tried.parities.length ? `parity ${tried.parities.join(', ')}` : null,
  ].filter(Boolean).join('; ');
  const r = result(CODES.NO_SENSOR_RESPONSE, {
    step: 'address-probe',
    message: `no unit answered (tried: ${what})${unexplained.length ? `; ${unexplained.length} bursts of unexplained bytes arrived (see details)` : ''}`,
    suggestion: SUGGESTIONS.NO_SENSOR_RESPONSE + (tried.skippedBaudRates.length ? ` Not tried: ${tried.skippedBaudRates.map((s) => s.baudRate).join(', ')} baud (this system cannot set it).` : ''),
    rawData: unexplained.length ? unexplained[0].bytes : null,
    details: { tried, unexplained },
  });
  steps.push(r);
  return r;
}

async function examine(target, options) {
  const o = checkOptions(target, options);
  throwIfAborted(o.signal);
  const steps = [];
  const progress = (step, done, total, detail) => {
    if (o.onProgress) o.onProgress({ step, done, total, detail: detail || null });
  };
  const finish = (verdict) => ({ steps, verdict });

  progress('port', 0, 1);
  const portResults = await checkPort(target, { listPorts: o.listPorts });
  steps.push(...portResults);
  const portBad = portResults.filter((r) => !r.ok);
  if (portBad.length) return finish(portBad.find((r) => r.code === CODES.NO_RS485_CONVERTER) || portBad[0]);
  throwIfAborted(o.signal);

  const line = new Line(target, o);
  try {
    progress('open', 0, 1);
    try {
      await line.open({});
    } catch (err) {
      throwIfAborted(o.signal);
      const r = openErrorResult(target, err, 'open');
      if (!r) throw err;
      steps.push(r);
      return finish(r);
    }
    steps.push(result(CODES.OK, { step: 'open', message: `opened ${target}${o.tcp ? '' : ` at ${lineText(line.settings)}`}`, details: { settings: { ...line.settings } } }));

    try {
      progress('listen', 0, 1);
      const heard = await listenStep(line, o, steps);
      if (heard) return finish(heard);
      const verdict = await requestStep(line, o, steps, progress);
      if (verdict) return finish(verdict);
      if (!o.probe) {
        const r = result(CODES.NO_SENSOR_RESPONSE, {
          step: 'request',
          message: `no reply from unit ${o.address} at ${lineText(line.settings)} (other settings not probed)`,
          suggestion: SUGGESTIONS.NO_SENSOR_RESPONSE,
        });
        steps.push(r);
        return finish(r);
      }
      return finish(await probes(line, o, steps, progress));
    } catch (err) {
      throwIfAborted(o.signal);
      // The link went away in the middle (adapter unplugged): a port problem, said as one.
      if (err && err.name === 'ConnectionError') {
        const r = openErrorResult(target, err, 'request') || result(CODES.PORT_ERROR, { step: 'request', message: err.message });
        steps.push(r);
        return finish(r);
      }
      throw err;
    }
  } finally {
    await line.dispose();
  }
}

/**
 * Diagnoses the link to one Modbus sensor and returns the verdict: the result of the step
 * that found the trouble, or the OK of the read (with the values).
 * @param {string} path  serial port, /dev/serial/by-id/... or tcp://host:port
 * @param {object} [options] { address = 1, baudRate = 9600, parity = 'none', profile = 'xy-md02',
 *   timeout = 500, tries = 5, listenMs = 1100, probe = true, probeTimeout, probeAddresses,
 *   probeBaudRates, probeParities, sweepAll, signal, onProgress({ step, done, total }) }
 */
async function diagnose(path, options) {
  return (await examine(path, options)).verdict;
}

/** Like diagnose(), but every step's result, in order (the verdict is the last one). */
async function runFullDiagnostic(path, options) {
  const { steps, verdict } = await examine(path, options);
  if (steps[steps.length - 1] !== verdict) steps.push(verdict);
  return steps;
}

module.exports = {
  diagnose,
  runFullDiagnostic,
  examine,
  PROBE_BAUD_RATES,
};
