'use strict';
// The CLI as a user runs it: a child process against the simulators over TCP / a pty.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { ModbusBus } = require('../..');
const { M307Simulator, serveTcp } = require('../../lib/sim/m307');
const { openPty } = require('../../lib/sim/pty');

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'fieldlink.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-cli-'));
let k = 0;
const newLink = () => path.join(tmp, `tty${++k}`);

function cli(args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function shell(script) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('CLI defects (issue 13)', function () {
  this.timeout(30000);
  let sim;
  let srv;
  before(async function () {
    sim = new M307Simulator({ logRecords: 4000, drift: false });
    srv = await serveTcp(sim, { port: 0 });
  });
  after(async function () {
    await srv.close();
    if (sim.close) sim.close();
  });

  for (const format of ['csv', 'json']) {
    it(`m307 log --format ${format} | head -3 ends quietly (no EPIPE crash)`, async function () {
      const r = await shell(`"${process.execPath}" "${BIN}" m307 log --host 127.0.0.1 --port ${srv.port} --format ${format} 2>"${tmp}/err-${format}" | head -3; echo "status=\${PIPESTATUS[0]}"`);
      const err = fs.readFileSync(`${tmp}/err-${format}`, 'utf8');
      assert.strictEqual(r.stdout.split('\n').length, 5, r.stdout); // 3 lines, the status line, ''
      assert.match(r.stdout, /status=0\n$/, `exit status and stderr: ${r.stdout} ${err}`);
      assert.doesNotMatch(err, /EPIPE|Unhandled|at /, err);
    });
  }

  it('m307 log CSV has the flags column', async function () {
    const r = await cli(['m307', 'log', '--host', '127.0.0.1', '--port', String(srv.port)]);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0], /,flags$/);
  });

  it('mate status where nothing answers exits 1 (text and --json)', async function () {
    const pty = openPty({ link: newLink() });
    pty.on('data', () => {});
    try {
      const r = await cli(['mate', 'status', '--port', pty.link, '--timeout', '20']);
      assert.strictEqual(r.code, 1, `${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, /no device answered/);
      const j = await cli(['mate', 'status', '--port', pty.link, '--timeout', '20', '--json']);
      assert.strictEqual(j.code, 1);
      assert.deepStrictEqual(JSON.parse(j.stdout), []);
    } finally {
      pty.close();
    }
  });

  it('simulate modbus --pty refuses a path a live simulator owns; the first keeps serving', async function () {
    const link = newLink();
    const first = spawn(process.execPath, [BIN, 'simulate', 'modbus', '--pty', link, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    first.stdout.on('data', (d) => { out += d; });
    const firstExit = new Promise((resolve) => first.on('exit', resolve));
    try {
      await new Promise((resolve) => { const on = () => { if (/press Ctrl-C/.test(out)) resolve(); else first.stdout.once('data', on); }; on(); });
      const second = await cli(['simulate', 'modbus', '--pty', link]);
      assert.notStrictEqual(second.code, 0);
      assert.match(second.stderr, /belongs to a running simulator/);
      const bus = await ModbusBus.open(link, { timeout: 500 });
      try {
        assert.strictEqual((await bus.readInputRegisters(1, 1, 2)).length, 2);
      } finally {
        await bus.close();
      }
    } finally {
      first.kill('SIGINT');
      await firstExit;
    }
  });

  it('m307 info text output: no blank first line, no bare [ or ] lines, empty names shown', async function () {
    const r = await cli(['m307', 'info', '--host', '127.0.0.1', '--port', String(srv.port)]);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.notStrictEqual(r.stdout[0], '\n');
    for (const line of r.stdout.split('\n')) assert.doesNotMatch(line, /^\s*[[\]]\s*$/, r.stdout);
    assert.match(r.stdout, /^temperatureSensorNames: .+/m);
  });

  it('errors name the flag: --rate 0, --timeout -1 (with a space), --port 0', async function () {
    let r = await cli(['m307', 'set-clock', '--host', '127.0.0.1', '--port', String(srv.port), '--rate', '0']);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /--rate must be 1\.\.60/);
    assert.doesNotMatch(r.stderr, /logRateMinutes/);
    r = await cli(['m307', 'status', '--host', '127.0.0.1', '--timeout', '-1']);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /--timeout must be 10\.\.120000, got -1/);
    assert.doesNotMatch(r.stderr, /ambiguous/);
    r = await cli(['mate', 'status', '--port', '/dev/null', '--timeout', '-1']);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /--timeout must be 10\.\.10000, got -1/);
  });

  it('ranges agree with the API: simulate modbus units 1..247, doctor --baud the API list', async function () {
    let r = await cli(['simulate', 'modbus', '--units', '248', '--tcp', '0']);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /1\.\.247/);
    r = await cli(['doctor', '--port', '/dev/null', '--baud', '1000']);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /--baud must be one of 1200, 2400, 4800, 9600/);
  });

  it('m307 set-clock sets the clock on a minute boundary: the device is not up to 59 s behind', async function () {
    this.timeout(90000);
    sim.setClock(new Date(2020, 0, 1, 0, 0, 0));
    const r = await cli(['m307', 'set-clock', '--host', '127.0.0.1', '--port', String(srv.port)]);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /on the minute boundary/);
    const n = new Date(); // the simulator keeps local wall-clock time as if it were UTC
    const wall = Date.UTC(n.getFullYear(), n.getMonth(), n.getDate(), n.getHours(), n.getMinutes(), n.getSeconds(), n.getMilliseconds());
    const behind = wall - sim.deviceTime();
    assert.ok(Math.abs(behind) < 3000, `the device clock is ${Math.round(behind / 1000)} s behind`);
  });

  it('a peer that accepts and closes at once: EBUSY worded as a likely cause, not a fact', async function () {
    const net = require('node:net');
    const server = net.createServer((sock) => sock.destroy());
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const r = await cli(['m307', 'status', '--host', '127.0.0.1', '--port', String(server.address().port), '--timeout', '500']);
      assert.strictEqual(r.code, 1, r.stderr);
      assert.match(r.stderr, /EBUSY/);
      assert.match(r.stderr, /Likely cause: another client/);
      assert.match(r.stderr, /firewall or proxy/);
    } finally {
      server.close();
    }
  });
});

// Issue 12: the three simulator commands follow one pattern (lib/cli/simulate/), the device
// commands share their action parsing and exports (lib/cli/common.js), defaults come from
// lib/defaults.js.
describe('CLI: one pattern for the simulators and the device commands (issue 12)', function () {
  this.timeout(30000);

  /** Starts `fieldlink simulate ...`, resolves with its banner once it is ready, then stops it with SIGINT. */
  function simulate(args) {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'simulate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let banner = null;
      child.stdout.on('data', (d) => {
        stdout += d;
        if (banner == null && stdout.includes('press Ctrl-C to stop')) {
          banner = stdout;
          child.kill('SIGINT');
        }
      });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, banner, stdout, stderr }));
    });
  }

  for (const family of ['modbus', 'm307', 'mate']) {
    it(`simulate ${family}: --help, an unknown flag and a stray argument are handled the same way`, async function () {
      const help = await cli(['simulate', family, '--help']);
      assert.strictEqual(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^usage: fieldlink simulate ${family} \\[options\\]`));
      assert.match(help.stdout, /-q, --quiet/);
      const bad = await cli(['simulate', family, '--no-such-flag']);
      assert.strictEqual(bad.code, 2);
      assert.match(bad.stderr, new RegExp(`^fieldlink simulate ${family}: .*no-such-flag`));
      const stray = await cli(['simulate', family, 'extra']);
      assert.strictEqual(stray.code, 2);
      assert.match(stray.stderr, new RegExp(`^fieldlink simulate ${family}: .*extra`));
    });
  }

  it('simulate modbus takes a negative --temperature, prints the unit and stops cleanly on SIGINT', async function () {
    const r = await simulate(['modbus', '--tcp', '0', '--temperature', '-5', '--no-drift']);
    assert.match(r.banner || '', /unit 1 {2}xy-md02 {2}-5\.0 C/, r.stdout + r.stderr);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopped \(SIGINT\)/);
  });

  it('simulate mate --fault PORT:upper-byte:0xNN takes a hex argument; a fault on a missing port is a usage error', async function () {
    const r = await simulate(['mate', '--fault', '1:upper-byte:0x80']);
    assert.match(r.banner || '', /port 1 {2}mx {2}fault upper-byte/, r.stdout + r.stderr);
    assert.strictEqual(r.code, 0, r.stderr);
    const none = await cli(['simulate', 'mate', '--fault', '7:silent']);
    assert.strictEqual(none.code, 2);
    assert.match(none.stderr, /there is no device on port 7/);
  });

  it('simulate m307: --fault refuse-second with --multi-client is refused; the banner names the faults', async function () {
    const clash = await cli(['simulate', 'm307', '--port', '0', '--multi-client', '--fault', 'refuse-second']);
    assert.strictEqual(clash.code, 2);
    assert.match(clash.stderr, /contradicts --multi-client/);
    const r = await simulate(['m307', '--port', '0', '--records', '10', '--fault', 'split:5']);
    assert.match(r.banner || '', /faults: .*split/, r.stdout + r.stderr);
    assert.strictEqual(r.code, 0, r.stderr);
  });

  describe('m307 and mate exports', function () {
    let sim;
    let srv;
    before(async function () {
      sim = new M307Simulator({ logRecords: 25, drift: false });
      srv = await serveTcp(sim, { port: 0 });
    });
    after(async function () {
      await srv.close();
      sim.close();
    });

    it('m307 log --format json --out FILE writes the records and says how many on stderr', async function () {
      const out = path.join(tmp, 'log.json');
      const r = await cli(['m307', 'log', '--host', '127.0.0.1', '--port', String(srv.port), '--format', 'json', '--out', out]);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(r.stdout, '');
      assert.match(r.stderr, new RegExp(`25 records written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      const recs = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.strictEqual(recs.length, 25);
      assert.ok('temp1' in recs[0]);
    });

    it('an unknown --format and an unknown action are usage errors (exit 2) with the command\'s usage', async function () {
      const fmt = await cli(['m307', 'log', '--host', '127.0.0.1', '--port', String(srv.port), '--format', 'xml']);
      assert.strictEqual(fmt.code, 2);
      assert.match(fmt.stderr, /--format must be csv or json\n\nusage: fieldlink m307/);
      for (const cmd of ['m307', 'mate', 'modbus']) {
        const r = await cli([cmd, 'bogus']);
        assert.strictEqual(r.code, 2, `${cmd}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^unknown or missing action "bogus"\\n\\nusage: fieldlink ${cmd}`));
      }
    });
  });

  it('the defaults the help texts state are those of lib/defaults.js', async function () {
    const DEFAULTS = require('../../lib/defaults');
    const m307 = await cli(['help', 'm307']);
    assert.match(m307.stdout, new RegExp(`--port PORT .*\\(default ${DEFAULTS.m307.port}\\)`));
    assert.match(m307.stdout, new RegExp(`--timeout MS .*\\(default ${DEFAULTS.m307.timeout}\\)`));
    const mate = await cli(['help', 'mate']);
    assert.match(mate.stdout, new RegExp(`--timeout MS .*\\(default ${DEFAULTS.mate.timeout}\\)`));
    assert.match(mate.stdout, new RegExp(`--parity-mode MODE .*\\(default ${DEFAULTS.mate.parityMode}\\)`));
    const doctor = await cli(['help', 'doctor']);
    assert.match(doctor.stdout, new RegExp(`--baud B .*\\(default ${DEFAULTS.modbus.baudRate}\\)`));
    assert.match(doctor.stdout, new RegExp(`--timeout MS .*\\(default ${DEFAULTS.modbus.timeout}\\)`));
    const sim = await cli(['simulate', 'm307', '--help']);
    assert.match(sim.stdout, new RegExp(`--port PORT .*\\(default ${DEFAULTS.m307.port};`));
  });
});
