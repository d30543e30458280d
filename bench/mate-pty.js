'use strict';
// MATE MX status polls over a pseudo-terminal: fieldlink's MateBus against a raw loop, both
// talking to the same independent emulator (bench/mate_emulator.py, Python standard library
// only, written from the protocol facts rather than from our codecs or lib/sim).
//
//   node bench/mate-pty.js [--polls 3000] [--rounds 3] [--gap auto|<ms>] [--turnaround <µs>]
//
// Prints the raw loop's rate, fieldlink's rate and their ratio (best of --rounds each, so a
// moment of load from another process on the machine does not decide the result).
// --turnaround makes the emulator wait that long before each reply (default 0: it answers
// as fast as Python can, which makes the ratio a measure of fieldlink's own overhead).
const { spawn, execFileSync } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

const polls = Number(arg('polls', 3000));
const rounds = Number(arg('rounds', 3));
const gapArg = arg('gap', 'auto');
const gap = gapArg === 'auto' ? 'auto' : Number(gapArg);
const turnaround = Number(arg('turnaround', 0));
const emulator = path.join(__dirname, 'mate_emulator.py');

function startEmulator() {
  const child = spawn('python3', [emulator, String(turnaround)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`emulator exited (${code}) before it was ready`)));
    readline.createInterface({ input: child.stdout }).once('line', (line) => resolve({ child, path: line.trim() }));
  });
}

function rawRate(ptyPath) {
  const out = execFileSync('python3', [emulator, 'raw', ptyPath, String(polls)], { encoding: 'utf8' });
  const m = /rate ([\d.]+)/.exec(out);
  if (!m) throw new Error(`raw loop printed ${JSON.stringify(out)}`);
  return Number(m[1]);
}

async function fieldlinkRate(ptyPath) {
  const { MateBus } = require('..');
  const bus = await MateBus.open(ptyPath, { interFrameDelay: gap });
  try {
    const mx = bus.mx(0);
    const first = await mx.getStatus();
    if (first.batteryVoltage !== 26.8 || first.pvVoltage !== 95.3) throw new Error(`unexpected status ${JSON.stringify(first)}`);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < polls; i++) await mx.getStatus();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    return polls / s;
  } finally {
    await bus.close();
  }
}

async function main() {
  const emu = await startEmulator();
  try {
    let raw = 0;
    let fl = 0;
    for (let r = 0; r < rounds; r++) {
      raw = Math.max(raw, rawRate(emu.path));
      fl = Math.max(fl, await fieldlinkRate(emu.path));
    }
    console.log(`MATE MX status over a pty, ${polls} polls, best of ${rounds}; interFrameDelay ${JSON.stringify(gap)}; `
      + `emulator turnaround ${turnaround} µs`);
    console.log(`  raw loop (Python):      ${raw.toFixed(0)} polls/s`);
    console.log(`  fieldlink MateBus:      ${fl.toFixed(0)} polls/s`);
    console.log(`  ratio fieldlink / raw:  ${(fl / raw).toFixed(2)}`);
  } finally {
    emu.child.removeAllListeners('exit');
    emu.child.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
