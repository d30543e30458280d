'use strict';
// Argument checks with uniform messages: "<name> must be <rule>, got <value>".
const { ValidationError } = require('./errors');

function show(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function fail(name, rule, value, code = 'ERANGE') {
  throw new ValidationError(`${name} must be ${rule}, got ${show(value)}`, code, { argument: name });
}

function integer(name, value, min, max) {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(name, `an integer ${min}..${max}`, value, 'EINVAL');
  if (value < min || value > max) fail(name, `${min}..${max}`, value);
  return value;
}

function number(name, value, min, max) {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(name, `a number ${min}..${max}`, value, 'EINVAL');
  if (value < min || value > max) fail(name, `${min}..${max}`, value);
  return value;
}

function oneOf(name, value, allowed) {
  if (!allowed.includes(value)) fail(name, `one of ${allowed.map(show).join(', ')}`, value, 'EINVAL');
  return value;
}

function optional(value, check) {
  return value === undefined || value === null ? undefined : check(value);
}

function plainObject(name, value) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(name, 'an object', value, 'EINVAL');
  return value;
}

// Edit distance (insertions, deletions, substitutions; a swap of neighbours counts once),
// case-insensitive: "baudrate" is 0 from "baudRate", "timout" 1 from "timeout".
function distance(a, b) {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known name closest to `word`, if it is close enough to be a typo of it; else null. */
function closest(word, known) {
  let best = null;
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(word, k);
    if (dd < bestD) { best = k; bestD = dd; }
  }
  // Close: a changed case, or at most a third of the letters (at least 2) wrong.
  return best !== null && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : null;
}

/**
 * Rejects any key of `obj` that is not in `known` (a typo must not pass silently): a
 * ValidationError EINVAL naming the key, with the closest known one when there is one:
 *   options has no option "baudrate" (did you mean baudRate?); known: baudRate, parity, ...
 * `what` names the object ("options", "info"); `noun` the kind of key ("option", "field").
 */
function knownKeys(what, obj, known, noun = 'option') {
  if (obj === undefined || obj === null) return obj;
  for (const k of Object.keys(obj)) {
    if (known.includes(k)) continue;
    const near = closest(k, known);
    const head = noun === 'option' && what === 'options' ? `unknown option "${k}"` : `${what} has no ${noun} "${k}"`;
    throw new ValidationError(`${head}${near ? ` (did you mean ${near}?)` : ''}; known: ${known.join(', ')}`,
      'EINVAL', { argument: k, suggestion: near || undefined });
  }
  return obj;
}

// AbortSignal helpers, for every call that takes one (opens, log downloads, scans).
// undefined and null mean no signal; anything else must look like an AbortSignal.
function abortSignal(name, value) {
  if (value === undefined || value === null) return null;
  if (!(typeof value.aborted === 'boolean' && typeof value.addEventListener === 'function')) {
    fail(name, 'an AbortSignal', value, 'EINVAL');
  }
  return value;
}

function abortReason(signal) {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('This operation was aborted');
  e.name = 'AbortError';
  return e;
}

function throwIfAborted(signal) {
  if (signal && signal.aborted) throw abortReason(signal);
}

/**
 * Runs work() (an open) so that `signal` can cut it short: an abort calls close(), which
 * makes the pending native call fail, and the open then rejects with the signal's reason (an
 * AbortError unless the caller gave another), as Node's own APIs do.
 */
async function abortable(signal, close, work) {
  if (!signal) return work();
  if (signal.aborted) {
    await close();
    throw abortReason(signal);
  }
  const onAbort = () => {
    Promise.resolve(close()).catch(() => {});
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work();
  } catch (err) {
    throwIfAborted(signal);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

// The options every link has, checked one way for all three families.
const SERIAL_DRIVERS = Object.freeze(['auto', 'libserialport', 'termios']);

/** reconnectMinDelay 10 ms..10 min, reconnectMaxDelay from the minimum to 1 h. */
function reconnectDelays(opts) {
  integer('reconnectMinDelay', opts.reconnectMinDelay, 10, 600000);
  integer('reconnectMaxDelay', opts.reconnectMaxDelay, opts.reconnectMinDelay, 3600000);
}

module.exports = { SERIAL_DRIVERS, reconnectDelays, integer, number, oneOf, optional, plainObject, knownKeys, closest, fail, abortSignal, abortReason, throwIfAborted, abortable };
