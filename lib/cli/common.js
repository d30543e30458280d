'use strict';
// Shared bits of the device commands: option parsing errors, a progress bar for terminals,
// tables, CSV.
const { parseArgs } = require('node:util');

class UsageError extends Error {}

// "--timeout -1" means the value -1 (parseArgs would take "-1" for an option): join a
// string option with a following negative number, so the range check can name it.
function joinNegatives(args, options) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--([^=]+)$/.exec(args[i]);
    if (m && options[m[1]] && options[m[1]].type === 'string' && i + 1 < args.length && /^-[\d.]/.test(args[i + 1])) {
      out.push(`${args[i]}=${args[i + 1]}`);
      i += 1;
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

function parse(args, options) {
  try {
    return parseArgs({ args: joinNegatives(args, options), options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err.message);
  }
}

// A one-line progress bar on a terminal; nothing when the stream is not a TTY.
function progressBar(stream, label) {
  const tty = Boolean(stream.isTTY);
  let last = -1;
  return {
    update(done, total) {
      if (!tty) return;
      const pct = total ? Math.min(100, Math.floor((100 * done) / total)) : 0;
      if (pct === last) return;
      last = pct;
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      stream.write(`\r${label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${done}/${total ?? '?'}`);
    },
    end() {
      if (tty && last >= 0) stream.write('\n');
    },
  };
}

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals) => vals.map((x, i) => String(x ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => r[c])))].join('\n') + '\n';
}

function csvCell(x) {
  if (x === null || x === undefined) return '';
  if (x instanceof Date) return x.toISOString();
  const s = String(x);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(rows, columns) {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

/** A whole number flag in min..max (a UsageError naming the flag otherwise); def when absent. */
function wholeFlag(values, name, def, min, max) {
  if (values[name] === undefined) return def;
  const n = Number(values[name]);
  if (!Number.isInteger(n) || values[name].trim() === '') throw new UsageError(`--${name} must be a whole number ${min}..${max}, got "${values[name]}"`);
  if (n < min || n > max) throw new UsageError(`--${name} must be ${min}..${max}, got ${n}`);
  return n;
}

// Runs a command body, mapping errors to exit codes: 2 for usage, 1 for device trouble.
// `flags` maps an API argument name to the flag that set it, so errors name the flag.
async function guarded(io, usage, body, flags = {}) {
  try {
    return (await body()) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n\n${usage}`);
      return 2;
    }
    if (err && err.code) {
      let msg = err.message;
      const flag = err.argument && flags[err.argument];
      if (err.name === 'ValidationError' && flag) msg = msg.replace(new RegExp(`\\b${err.argument}\\b`, 'g'), flag);
      io.stderr.write(`error ${err.code}: ${msg}\n`);
      return err.name === 'ValidationError' ? 2 : 1;
    }
    throw err;
  }
}

/**
 * run(args, io) of a command whose first word is an action ("fieldlink m307 status ..."):
 * parses `options`, answers --help, refuses an action not in `actions`, then
 * body(action, values, positionals) inside guarded() (flags: see guarded).
 */
function actionCommand({ usage, options, actions, flags }, body) {
  return (args, io) => guarded(io, usage, async () => {
    const { values, positionals } = parse(args, options);
    if (values.help) {
      io.stdout.write(usage);
      return 0;
    }
    const action = positionals[0];
    if (!actions.includes(action)) throw new UsageError(`unknown or missing action "${action ?? ''}"`);
    return body(action, values, positionals);
  }, flags);
}

/** --format (csv or json, checked before any device work) of an export: 'csv' when absent. */
function exportFormat(values) {
  const format = values.format ?? 'csv';
  if (!['csv', 'json'].includes(format)) throw new UsageError('--format must be csv or json');
  return format;
}

/** Writes rows as CSV or JSON to --out (saying so on stderr, `what` names them) or stdout. */
function writeExport(io, values, rows, columns, what) {
  const text = exportFormat(values) === 'json' ? `${JSON.stringify(rows, null, 1)}\n` : toCsv(rows, columns);
  if (values.out) {
    require('node:fs').writeFileSync(values.out, text);
    io.stderr.write(`${rows.length} ${what} written to ${values.out}\n`);
  } else {
    io.stdout.write(text);
  }
}

module.exports = { UsageError, parse, progressBar, table, toCsv, guarded, wholeFlag, joinNegatives, actionCommand, exportFormat, writeExport };
