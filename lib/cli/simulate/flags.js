'use strict';
// Helpers the three simulator commands share: number flags, FAULT[:ARG] specs, log times.
const { UsageError } = require('../common');

/** text as a number in lo..hi (an integer unless integer is false), else a UsageError naming it. */
function parseNumber(name, text, lo, hi, integer = true) {
  const v = Number(text);
  if (text === '' || text == null || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < lo || v > hi) {
    throw new UsageError(`${name} must be ${integer ? 'an integer' : 'a number'} in ${lo}..${hi} (got "${text}")`);
  }
  return v;
}

/** values[name] as a number (see parseNumber), or def when the flag is absent. */
function numberFlag(values, name, def, lo, hi, integer = true) {
  return values[name] != null ? parseNumber(`--${name}`, values[name], lo, hi, integer) : def;
}

/**
 * The argument of a fault mode: { [key]: number } from args[key] = [key, lo, hi], {} when arg is
 * empty; a UsageError when the mode takes none. convert(arg) may rewrite the text first.
 */
function faultOptions(spec, text, mode, arg, convert = (a) => a) {
  const opts = {};
  if (arg == null || arg === '') return opts;
  const s = spec[mode];
  if (!s) throw new UsageError(`--fault ${text}: mode ${mode} takes no argument`);
  opts[s[0]] = parseNumber(`--fault ${mode} argument`, convert(arg), s[1], s[2]);
  return opts;
}

/** HH:MM:SS.mmm, local time: the prefix of every request log line. */
function timestamp() {
  const d = new Date();
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** "--pty LINK": undefined for no link ('auto', empty or absent), else the path. */
function ptyLink(text) {
  return text == null || text === 'auto' || text === '' ? undefined : text;
}

module.exports = { parseNumber, numberFlag, faultOptions, timestamp, ptyLink };
