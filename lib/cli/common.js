'use strict';
// Shared bits of the device commands: option parsing errors, a progress bar for terminals,
// tables, CSV.
const { parseArgs } = require('node:util');

class UsageError extends Error {}

function parse(args, options) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
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

// Runs a command body, mapping errors to exit codes: 2 for usage, 1 for device trouble.
async function guarded(io, usage, body) {
  try {
    return (await body()) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n\n${usage}`);
      return 2;
    }
    if (err && err.code) {
      io.stderr.write(`error ${err.code}: ${err.message}\n`);
      return err.name === 'ValidationError' ? 2 : 1;
    }
    throw err;
  }
}

module.exports = { UsageError, parse, progressBar, table, toCsv, guarded };
