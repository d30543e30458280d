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

module.exports = { integer, number, oneOf, optional, plainObject, fail, abortSignal, abortReason, throwIfAborted, abortable };
