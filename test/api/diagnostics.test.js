'use strict';
// Diagnostics from real bytes: every code of diagnose()/runFullDiagnostic() produced by a
// simulated wiring or settings fault on a pseudo-terminal (PERMISSION_DENIED also by a stub
// opener, said so in its name), the M307 connection test over TCP, the MATE scan step, the
// byte classifier on the original Python sensor module's frames, and "fieldlink doctor".
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');

const fieldlink = require('../..');
const { ModbusBus, errors } = fieldlink;
const diag = require('../../lib/diagnostics');
const F = require('../../lib/diagnostics/frames');
const { ModbusSimulator, servePty, WIRING_FAULT_MODES, FAULT_MODES, autoReportLine } = require('../../lib/sim/modbus');
const { M307Simulator, serveTcp: serveM307 } = require('../../lib/sim/m307');
const { MateSimulator, servePty: serveMate } = require('../../lib/sim/mate');
const { main } = require('../../bin/fieldlink');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-diag-'));
let linkCounter = 0;
const newLink = () => path.join(tmp, `tty${++linkCounter}`);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// Short waits: a pty answers at once.
const FAST = { timeout: 100, listenMs: 200, probeTimeout: 25, probeAddresses: range(1, 24) };
const UNIT1 = { address: 1, temperature: 21.5, humidity: 45.0, drift: false };
// The clean reply to 01 04 00 01 00 02 for 21.5 °C / 45.0 %RH (0x00D7, 0x01C2).
const CLEAN = F.withCrc([0x01, 0x04, 0x04, 0x00, 0xd7, 0x01, 0xc2]);

async function bench(units, { fault, seed = 11 } = {}) {
  const sim = new ModbusSimulator({ units, seed });
  if (fault) sim.setFault(fault[0], fault[1], fault[2] || {});
  const served = await servePty(sim, { link: newLink() });
  return {
    sim,
    link: served.link,
    async close() {
      await served.close();
      sim.close();
    },
  };
}

function checkShape(r) {
  assert.strictEqual(typeof r.code, 'string');
  assert.strictEqual(r.ok, r.code === 'OK');
  assert.strictEqual(typeof r.message, 'string');
  assert.ok(r.message.length > 0);
  assert.ok(r.timestamp instanceof Date);
  assert.ok(r.rawData === null || /^[0-9A-F]{2}( [0-9A-F]{2})*$/.test(r.rawData), r.rawData);
  assert.ok(r.suggestion === null || typeof r.suggestion === 'string');
  assert.strictEqual(typeof r.details, 'object');
}

function capture(extra = {}) {
  const out = [];
  const err = [];
  return {
    io: { stdout: { write: (s) => out.push(s) }, stderr: { write: (s) => err.push(s) }, env: {}, ...extra },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('diagnostics', function () {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('the byte classifier (frames.js) on the original Python sensor module\'s frames', function () {
    const want = { address: 1, fc: 4, count: 2 };

    it('builds the request of the original Python sensor module: 01 04 00 01 00 02 20 0B and reads its reply', function () {
      assert.strictEqual(F.hex(F.readRequest(1, 4, 1, 2)), '01 04 00 01 00 02 20 0B');
      const c = F.classify(Buffer.from('010404013102222ACE', 'hex'), want);
      assert.strictEqual(c.kind, 'reply');
      assert.deepStrictEqual(c.registers, [0x0131, 0x0222]);
    });

    it('finds the original Python sensor module\'s humidity example (01 04 02 02 22 D1 BA) to carry a wrong CRC (38 49 is right)', function () {
      const one = { address: 1, fc: 4, count: 1 };
      assert.strictEqual(F.classify(Buffer.from('0104020222D1BA', 'hex'), one).kind, 'bad-crc');
      assert.strictEqual(F.classify(Buffer.from('01040202223849', 'hex'), one).kind, 'reply');
    });

    it('tells inverted, all-0xFF, all-0x00, text, another unit, an exception and garbage apart', function () {
      assert.strictEqual(F.classify(F.invert(CLEAN), want).kind, 'inverted');
      assert.strictEqual(F.classify(Buffer.alloc(9, 0xff), want).kind, 'all-ff');
      assert.strictEqual(F.classify(Buffer.alloc(9, 0x00), want).kind, 'all-00');
      assert.strictEqual(F.classify(autoReportLine(27.4, 67.7), want).kind, 'text');
      assert.strictEqual(F.classify(F.withCrc([0x02, 0x04, 0x04, 0, 1, 0, 2]), want).kind, 'other-unit');
      assert.strictEqual(F.classify(Buffer.from('018402C2C1', 'hex'), want).kind, 'exception');
      assert.strictEqual(F.classify(Buffer.from('5A13C7', 'hex'), want).kind, 'garbage');
      assert.strictEqual(F.classify(Buffer.alloc(0), want).kind, 'none');
    });

    it('reads the ASCII report line in UTF-8 and in GB2312 (the two encodings of ℃ the simulator offers)', function () {
      assert.strictEqual(F.hex(autoReportLine(27.4, 67.7)), '32 37 2E 34 E2 84 83 2C 36 37 2E 37 25 0D 0A');
      assert.strictEqual(F.hex(autoReportLine(27.4, 67.7, 'gb2312')), '32 37 2E 34 A1 E6 2C 36 37 2E 37 25 0D 0A');
      for (const enc of ['utf-8', 'gb2312']) {
        const t = F.asText(autoReportLine(-3.5, 67.7, enc));
        assert.strictEqual(t.encoding, enc);
        assert.deepStrictEqual(t.lines, ['-3.5℃,67.7%']);
        assert.deepStrictEqual(F.parseReportLine(t.lines[0]), { temperature: -3.5, humidity: 67.7 });
      }
    });
  });

  describe('the simulator\'s wiring faults', function () {
    it('are listed apart from the protocol faults and set with setFault()', function () {
      assert.deepStrictEqual([...WIRING_FAULT_MODES].sort(), ['ascii-autoreport', 'floating-ground', 'noise', 'shorted-ab', 'swapped-ab']);
      for (const m of WIRING_FAULT_MODES) assert.ok(!FAULT_MODES.includes(m));
      const sim = new ModbusSimulator({ units: [UNIT1] });
      assert.throws(() => sim.setFault(1, 'noise', { rate: 2 }), RangeError);
      assert.throws(() => sim.setFault(1, 'ascii-autoreport', { encoding: 'latin1' }), RangeError);
      sim.setFault(1, 'ascii-autoreport', { intervalMs: 50 });
      sim.clearFaults();
      sim.close();
    });
  });

  describe('diagnose() over a pseudo-terminal', function () {
    let b;
    afterEach(async () => {
      if (b) await b.close();
      b = null;
    });

    it('OK: a healthy sensor, with its values; runFullDiagnostic lists port, open, listen, request', async function () {
      b = await bench([UNIT1]);
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'OK');
      assert.strictEqual(r.ok, true);
      assert.deepStrictEqual(r.details.values, { temperature: 21.5, humidity: 45 });
      assert.strictEqual(r.rawData, F.hex(CLEAN));
      assert.match(r.message, /21\.5 °C, 45 %RH/);
      const steps = await diag.runFullDiagnostic(b.link, FAST);
      steps.forEach(checkShape);
      assert.deepStrictEqual(steps.map((s) => [s.step, s.code]), [['port', 'OK'], ['open', 'OK'], ['listen', 'OK'], ['request', 'OK']]);
    });

    it('AB_LINES_SWAPPED: the reply arrives with every byte inverted; inverting it gives a valid frame', async function () {
      b = await bench([UNIT1], { fault: [1, 'swapped-ab'] });
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'AB_LINES_SWAPPED');
      assert.strictEqual(r.rawData, F.hex(F.invert(CLEAN)));
      assert.strictEqual(r.details.confirmed, true);
      assert.strictEqual(r.details.inverted, F.hex(CLEAN));
      assert.deepStrictEqual(r.details.valuesIfInverted, { temperature: 21.5, humidity: 45 });
      assert.match(r.suggestion, /Swap the A\+ and B- wires/);
    });

    it('GROUND_NOT_CONNECTED: all 0xFF (floating ground)', async function () {
      b = await bench([UNIT1], { fault: [1, 'floating-ground'] });
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'GROUND_NOT_CONNECTED');
      assert.strictEqual(r.details.symptom, 'all-0xff');
      assert.strictEqual(r.rawData, Array(9).fill('FF').join(' '));
      assert.match(r.message, /GND is not connected/);
      assert.match(r.suggestion, /Connect GND/);
    });

    it('GROUND_NOT_CONNECTED: all 0x00, worded as A/B shorted', async function () {
      b = await bench([UNIT1], { fault: [1, 'shorted-ab'] });
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'GROUND_NOT_CONNECTED');
      assert.strictEqual(r.details.symptom, 'all-0x00');
      assert.strictEqual(r.rawData, Array(9).fill('00').join(' '));
      assert.match(r.message, /A and B are shorted/);
      assert.match(r.suggestion, /short between A and B/);
    });

    it('CRC_ERROR: noise on every reply, error rate 100%', async function () {
      b = await bench([UNIT1], { fault: [1, 'noise'] });
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'CRC_ERROR');
      assert.strictEqual(r.details.errorRate, 1);
      assert.strictEqual(r.details.tries, 5);
      assert.ok(r.rawData.startsWith('01 04'), r.rawData);
      assert.match(r.suggestion, /120 Ω/);
    });

    it('CRC_ERROR: intermittent noise gives a partial error rate over the tries', async function () {
      b = await bench([UNIT1], { fault: [1, 'noise', { rate: 0.5 }], seed: 3 });
      const r = await diag.diagnose(b.link, { ...FAST, tries: 12 });
      assert.strictEqual(r.code, 'CRC_ERROR');
      assert.ok(r.details.errorRate > 0 && r.details.errorRate < 1, String(r.details.errorRate));
      assert.ok(r.details.good > 0);
      assert.strictEqual(r.details.tries, 12);
    });

    it('INVALID_RESPONSE: random bytes; A/B swap named only as a possibility', async function () {
      b = await bench([UNIT1], { fault: [1, 'garbage'] });
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'INVALID_RESPONSE');
      assert.match(r.suggestion, /A and B may be swapped/);
      assert.strictEqual(r.details.samples.length, 5);
    });

    it('INVALID_RESPONSE: the unit refuses the register map with an exception; the profiles that answer are named', async function () {
      b = await bench([{ address: 1, profile: 'wb-generic', temperature: 21.5, humidity: 45, drift: false }]);
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'INVALID_RESPONSE');
      assert.strictEqual(r.details.exception, 2);
      assert.strictEqual(r.rawData, '01 84 02 C2 C1');
      const names = r.details.plausibleProfiles.map((p) => p.profile).sort();
      assert.deepStrictEqual(names, ['sht3x-asia', 'wb-generic']);
      // Same registers, temperature and humidity the other way round: the bytes cannot decide.
      assert.ok(r.details.plausibleProfiles.every((p) => p.ambiguous));
      assert.match(r.suggestion, /compare with a thermometer/);
    });

    it('INVALID_RESPONSE: a valid reply whose values are out of range for the profile (÷100 firmware read as ÷10)', async function () {
      b = await bench([{ ...UNIT1, profile: 'xy-md02-x100' }]);
      const r = await diag.diagnose(b.link, FAST);
      assert.strictEqual(r.code, 'INVALID_RESPONSE');
      assert.deepStrictEqual(r.details.values, { temperature: 215, humidity: 450 });
      assert.strictEqual(r.details.plausibleProfiles[0].profile, 'xy-md02-x100');
      assert.match(r.suggestion, /"xy-md02-x100" \(it reads 21\.5 °C, 45 %RH\)/);
      const ok = await diag.diagnose(b.link, { ...FAST, profile: 'xy-md02-x100' });
      assert.strictEqual(ok.code, 'OK');
    });

    it('WRONG_SLAVE_ADDRESS: silence at address 1, a reply at address 17', async function () {
      b = await bench([{ ...UNIT1, address: 17 }]);
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'WRONG_SLAVE_ADDRESS');
      assert.strictEqual(r.details.found.address, 17);
      assert.strictEqual(r.details.found.baudRate, 9600);
      assert.ok(r.rawData.startsWith('11 04 04'), r.rawData);
      assert.match(r.suggestion, /--address 17/);
      const steps = await diag.runFullDiagnostic(b.link, FAST);
      assert.deepStrictEqual(steps.map((s) => s.code), ['OK', 'OK', 'OK', 'NO_SENSOR_RESPONSE', 'WRONG_SLAVE_ADDRESS']);
      assert.strictEqual(steps[3].details.intermediate, true);
    });

    it('WRONG_SLAVE_ADDRESS: the factory default address 1 answers when unit 9 was asked', async function () {
      b = await bench([UNIT1]);
      const r = await diag.diagnose(b.link, { ...FAST, address: 9 });
      assert.strictEqual(r.code, 'WRONG_SLAVE_ADDRESS');
      assert.strictEqual(r.details.found.address, 1);
    });

    it('BAUDRATE_MISMATCH: silence at 9600, a reply at 19200 (14400 is skipped: termios cannot set it)', async function () {
      b = await bench([{ ...UNIT1, baudRate: 19200 }]);
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'BAUDRATE_MISMATCH');
      assert.strictEqual(r.details.found.baudRate, 19200);
      assert.strictEqual(r.details.found.address, 1);
      assert.strictEqual(r.rawData, F.hex(CLEAN));
      assert.deepStrictEqual(r.details.tried.skippedBaudRates.map((s) => s.baudRate), [14400]);
      assert.match(r.suggestion, /--baud 19200/);
    });

    it('NO_SENSOR_RESPONSE: nothing answers anywhere; the original Python sensor module\'s causes and what was tried', async function () {
      b = await bench([]);
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'NO_SENSOR_RESPONSE');
      assert.strictEqual(r.rawData, null);
      assert.deepStrictEqual(r.details.tried.baudRates, [2400, 4800, 19200, 38400, 57600, 115200]);
      assert.deepStrictEqual(r.details.tried.parities, ['even', 'odd']);
      assert.strictEqual(r.details.tried.addresses, 23);
      for (const cause of [/powered/, /A\+ and B-/, /swapped/, /GND/, /address and the baud rate/]) assert.match(r.suggestion, cause);
    });

    it('ASCII_AUTOREPORT: text sprayed unasked while listening (℃ in UTF-8)', async function () {
      b = await bench([UNIT1], { fault: [1, 'ascii-autoreport', { intervalMs: 60 }] });
      const r = await diag.diagnose(b.link, FAST);
      checkShape(r);
      assert.strictEqual(r.code, 'ASCII_AUTOREPORT');
      assert.strictEqual(r.step, 'listen');
      assert.strictEqual(r.details.encoding, 'utf-8');
      assert.deepStrictEqual(r.details.lines, ['21.5℃,45.0%']);
      assert.deepStrictEqual(r.details.readings, [{ temperature: 21.5, humidity: 45 }]);
      assert.ok(r.rawData.includes('E2 84 83'), r.rawData);
      assert.match(r.message, /"21\.5℃,45\.0%"/);
      assert.match(r.suggestion, /STOP/);
    });

    it('ASCII_AUTOREPORT: GB2312 ℃, and seen in the reply window when listening is skipped', async function () {
      b = await bench([UNIT1], { fault: [1, 'ascii-autoreport', { intervalMs: 40, encoding: 'gb2312' }] });
      const r = await diag.diagnose(b.link, { ...FAST, listenMs: 0 });
      assert.strictEqual(r.code, 'ASCII_AUTOREPORT');
      assert.strictEqual(r.step, 'request');
      assert.strictEqual(r.details.encoding, 'gb2312');
      assert.ok(r.rawData.includes('A1 E6'), r.rawData);
    });

    it('ASCII_AUTOREPORT reaches only clients at the unit\'s baud rate', async function () {
      b = await bench([{ ...UNIT1, baudRate: 19200 }], { fault: [1, 'ascii-autoreport', { intervalMs: 30 }] });
      const bus = await ModbusBus.open(b.link, { baudRate: 9600 });
      assert.strictEqual((await bus.rawExchange(null, { timeoutMs: 150, quietMs: 20 })).length, 0);
      await bus.close();
      const bus2 = await ModbusBus.open(b.link, { baudRate: 19200 });
      assert.match((await bus2.rawExchange(null, { timeoutMs: 150, quietMs: 20 })).toString('utf8'), /℃/);
      await bus2.close();
    });

    it('PORT_BUSY: the port is held by another bus; the holder is named from /proc (this node process)', async function () {
      b = await bench([UNIT1]);
      const holder = await ModbusBus.open(b.link, {});
      try {
        const r = await diag.diagnose(b.link, FAST);
        checkShape(r);
        assert.strictEqual(r.code, 'PORT_BUSY');
        const me = r.details.holders.find((h) => h.pid === process.pid);
        assert.ok(me, JSON.stringify(r.details.holders));
        assert.strictEqual(me.lock, true);
        assert.strictEqual(me.self, true);
        assert.strictEqual(me.comm, fs.readFileSync('/proc/self/comm', 'utf8').trim());
        assert.match(r.message, new RegExp(`PID ${process.pid}`));
      } finally {
        await holder.close();
      }
    });

    it('PERMISSION_DENIED (stub opener throwing a real ConnectionError EACCES; the one stubbed case): names the device\'s group', async function () {
      b = await bench([UNIT1]);
      const open = async () => {
        throw new errors.ConnectionError(`permission denied opening ${b.link}`, 'EACCES');
      };
      const r = await diag.diagnose(b.link, { ...FAST, open });
      checkShape(r);
      assert.strictEqual(r.code, 'PERMISSION_DENIED');
      const gid = fs.statSync(fs.realpathSync(b.link)).gid;
      const group = fs.readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':')).find((f) => Number(f[2]) === gid)[0];
      assert.strictEqual(r.details.group, group);
      assert.match(r.message, new RegExp(`group '${group}'`));
      assert.ok(r.suggestion.length > 0);
    });

    it('PERMISSION_DENIED for real: a process running as "nobody" opens a dialout device (root only)', async function () {
      if (typeof process.getuid !== 'function' || process.getuid() !== 0) this.skip();
      b = await bench([UNIT1]);
      const real = fs.realpathSync(b.link);
      const dialout = fs.readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === 'dialout');
      if (!dialout) this.skip();
      // Make our pty look like a USB adapter: root:dialout, mode 660.
      fs.chownSync(real, 0, Number(dialout[2]));
      fs.chmodSync(real, 0o660);
      const lib = path.resolve(__dirname, '../../lib/diagnostics');
      const code = `require(${JSON.stringify(lib)}).diagnose(${JSON.stringify(real)}, { listenMs: 0, probe: false })` +
        '.then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(3); })';
      const out = await new Promise((resolve, reject) => {
        execFile(process.execPath, ['-e', code], { uid: 65534, gid: 65534, timeout: 10000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout)));
      });
      const r = JSON.parse(out);
      assert.strictEqual(r.code, 'PERMISSION_DENIED');
      assert.strictEqual(r.details.group, 'dialout');
      assert.strictEqual(r.details.sessionHasGroup, false);
      assert.match(r.suggestion, /usermod -aG dialout nobody/);
    });

    it('PORT_NOT_FOUND: a missing port; the adapters present are offered by their by-id name', async function () {
      const listPorts = async () => [{
        path: '/dev/ttyUSB3', byIdPath: '/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0', preferredPath: '/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0',
        transport: 'usb', chip: 'CH340', isRs485: true, description: 'USB Serial',
      }];
      const r = await diag.diagnose(path.join(tmp, 'ttyUSB9'), { ...FAST, listPorts });
      checkShape(r);
      assert.strictEqual(r.code, 'PORT_NOT_FOUND');
      assert.deepStrictEqual(r.details.candidates.map((c) => c.path), ['/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0']);
      assert.match(r.suggestion, /by-id\/usb-1a86/);
    });

    it('PORT_NOT_FOUND: a by-id link whose adapter is gone (dangling link)', async function () {
      const link = path.join(tmp, 'usb-gone-if00-port0');
      fs.symlinkSync(path.join(tmp, 'no-such-device'), link);
      const r = await diag.diagnose(link, { ...FAST, listPorts: async () => [] });
      assert.strictEqual(r.code, 'NO_RS485_CONVERTER');
      const steps = await diag.runFullDiagnostic(link, { ...FAST, listPorts: async () => [] });
      assert.deepStrictEqual(steps.map((s) => s.code), ['PORT_NOT_FOUND', 'NO_RS485_CONVERTER']);
      assert.strictEqual(steps[0].details.dangling, true);
      assert.match(steps[0].message, /unplugged/);
    });

    it('NO_RS485_CONVERTER: a missing port and only built-in UARTs', async function () {
      const listPorts = async () => [{ path: '/dev/ttyS0', byIdPath: null, preferredPath: '/dev/ttyS0', transport: 'native', chip: null, isRs485: false }];
      const r = await diag.diagnose('/dev/ttyUSB97', { ...FAST, listPorts });
      checkShape(r);
      assert.strictEqual(r.code, 'NO_RS485_CONVERTER');
      assert.deepStrictEqual(r.details.ports, ['/dev/ttyS0']);
    });

    it('a missing port with the real listPorts(): PORT_NOT_FOUND, and NO_RS485_CONVERTER exactly when no adapter is plugged in', async function () {
      const ports = await fieldlink.listPorts();
      const adapters = ports.filter((p) => p.isRs485 || p.transport === 'usb' || p.byIdPath);
      const steps = await diag.runFullDiagnostic('/dev/ttyUSB98', FAST);
      assert.strictEqual(steps[0].code, 'PORT_NOT_FOUND');
      assert.strictEqual(steps.some((s) => s.code === 'NO_RS485_CONVERTER'), adapters.length === 0);
    });

    it('cancellation: an abort during the probes rejects with AbortError and frees the port at once', async function () {
      b = await bench([]);
      const ac = new AbortController();
      const t0 = Date.now();
      const p = diag.diagnose(b.link, {
        ...FAST,
        probeAddresses: range(1, 247),
        onProgress: (e) => {
          if (e.step === 'address-probe' && e.done === 5) ac.abort();
        },
        signal: ac.signal,
      });
      await assert.rejects(p, (err) => err.name === 'AbortError');
      assert.ok(Date.now() - t0 < 3000);
      const bus = await ModbusBus.open(b.link, {});
      await bus.close();
    });

    it('rejects bad options before touching the port', async function () {
      b = await bench([UNIT1]);
      await assert.rejects(diag.diagnose(b.link, { address: 0 }), (e) => e instanceof errors.ValidationError && e.code === 'ERANGE');
      await assert.rejects(diag.diagnose(b.link, { parity: 'mark' }), (e) => e instanceof errors.ValidationError);
      await assert.rejects(diag.diagnose(b.link, { signal: {} }), (e) => e instanceof errors.ValidationError);
      assert.strictEqual(b.sim.stats.bytesReceived, 0);
    });

    it('is exported from the package', function () {
      for (const k of ['diagnose', 'runFullDiagnostic', 'scanModbus', 'probeProfile', 'testM307']) assert.strictEqual(typeof fieldlink[k], 'function', k);
    });
  });

  describe('testM307() over TCP', function () {
    let sim;
    let srv;
    beforeEach(async () => {
      sim = new M307Simulator({ logRecords: 5, name: 'Cold Room 2', serial: 'M307004711', mac: '00:20:4A:3D:47:11' });
      srv = await serveM307(sim, { port: 0 });
    });
    afterEach(async () => {
      await srv.close();
      if (sim.close) sim.close();
    });

    it('reachable, speaks M307, and says who it is', async function () {
      const steps = await diag.testM307('127.0.0.1', { port: srv.port, timeout: 1000 });
      steps.forEach(checkShape);
      assert.deepStrictEqual(steps.map((s) => [s.step, s.code]), [['tcp', 'OK'], ['protocol', 'OK'], ['identity', 'OK']]);
      const id = steps[2].details;
      assert.strictEqual(id.deviceName, 'Cold Room 2');
      assert.strictEqual(id.serialNumber, 'M307004711');
      assert.strictEqual(id.macAddress, '00:20:4A:3D:47:11');
      assert.match(steps[2].message, /Cold Room 2.*M307004711.*00:20:4A:3D:47:11/);
    });

    it('DEVICE_BUSY: another client is connected', async function () {
      const other = await fieldlink.M307Client.connect('127.0.0.1', { port: srv.port, timeout: 1000 });
      try {
        const steps = await diag.testM307('127.0.0.1', { port: srv.port, timeout: 1000 });
        const last = steps[steps.length - 1];
        checkShape(last);
        assert.strictEqual(last.code, 'DEVICE_BUSY');
        assert.match(last.message, /one TCP client at a time/);
      } finally {
        await other.close();
      }
    });

    it('CONNECTION_REFUSED: nothing listens on the port', async function () {
      const s = net.createServer();
      await new Promise((r) => s.listen(0, '127.0.0.1', r));
      const { port } = s.address();
      await new Promise((r) => s.close(r));
      const steps = await diag.testM307('127.0.0.1', { port, timeout: 1000 });
      assert.deepStrictEqual(steps.map((x) => x.code), ['CONNECTION_REFUSED']);
      assert.match(steps[0].suggestion, /10001/);
    });

    it('NO_DEVICE_RESPONSE: the port accepts connections but nothing answers like an M307', async function () {
      const silent = net.createServer(() => {});
      await new Promise((r) => silent.listen(0, '127.0.0.1', r));
      try {
        const steps = await diag.testM307('127.0.0.1', { port: silent.address().port, timeout: 300 });
        assert.deepStrictEqual(steps.map((x) => x.code), ['OK', 'NO_DEVICE_RESPONSE']);
      } finally {
        silent.close();
      }
    });

    it('HOST_NOT_FOUND: the name does not resolve', async function () {
      const steps = await diag.testM307('no-such-host.invalid', { timeout: 1000 });
      assert.deepStrictEqual(steps.map((x) => x.code), ['HOST_NOT_FOUND']);
    });
  });

  describe('mateScanDiagnostic() over a pseudo-terminal', function () {
    it('OK: the hub ports with device types and firmware revisions', async function () {
      const sim = new MateSimulator({ preset: 'capture' });
      const served = await serveMate(sim, { link: newLink() });
      try {
        const seen = [];
        const r = await diag.mateScanDiagnostic(served.link, { timeout: 100, onProgress: (p) => seen.push(p.port) });
        checkShape(r);
        assert.strictEqual(r.code, 'OK');
        assert.deepStrictEqual(r.details.devices.map((d) => [d.port, d.type, d.firmware]),
          [[0, 'hub', undefined], [1, 'mx', '1.9.8'], [2, 'fx', '61'], [3, 'dc', '1.1.71']]);
        assert.match(r.message, /MX\/FM charge controller on port 1 \(firmware 1\.9\.8\)/);
        assert.deepStrictEqual(r.details.steps.map((s) => s.code), ['OK']);
        assert.deepStrictEqual(seen, range(0, 10));
      } finally {
        await served.close();
        sim.close();
      }
    });

    it('NO_DEVICE_RESPONSE: nothing answers on port 0', async function () {
      const sim = new MateSimulator({});
      sim.setFault(0, 'silent');
      const served = await serveMate(sim, { link: newLink() });
      try {
        const r = await diag.mateScanDiagnostic(served.link, { timeout: 50, retries: 0 });
        assert.strictEqual(r.code, 'NO_DEVICE_RESPONSE');
        assert.deepStrictEqual(r.details.devices, []);
      } finally {
        await served.close();
        sim.close();
      }
    });

    it('PORT_NOT_FOUND for a missing MATE port', async function () {
      const r = await diag.mateScanDiagnostic(path.join(tmp, 'no-mate'), { listPorts: async () => [{ path: '/dev/ttyUSB0', transport: 'usb', preferredPath: '/dev/ttyUSB0' }] });
      assert.strictEqual(r.code, 'PORT_NOT_FOUND');
    });
  });

  describe('fieldlink doctor', function () {
    let b;
    afterEach(async () => {
      if (b) await b.close();
      b = null;
    });

    it('a healthy sensor: every step ✓, exit 0', async function () {
      b = await bench([UNIT1]);
      const c = capture();
      const code = await main(['doctor', '--port', b.link, '--listen', '100', '--timeout', '100'], c.io);
      assert.strictEqual(code, 0, c.out() + c.err());
      assert.match(c.out(), /✓ OK\s+.*21\.5 °C, 45 %RH/);
      assert.match(c.out(), /no problems found/);
    });

    it('swapped lines: the finding with its suggestion and the bytes, exit 1', async function () {
      b = await bench([UNIT1], { fault: [1, 'swapped-ab'] });
      const c = capture();
      const code = await main(['doctor', '--port', b.link, '--listen', '100', '--timeout', '100'], c.io);
      assert.strictEqual(code, 1);
      assert.match(c.out(), /✗ AB_LINES_SWAPPED/);
      assert.match(c.out(), /→ Swap the A\+ and B- wires/);
      assert.match(c.out(), /bytes: FE FB FB FF/);
      assert.match(c.out(), /1 problem found/);
    });

    it('--json, a wrong address (the intermediate silence is not counted), and --m307 in one run', async function () {
      b = await bench([{ ...UNIT1, address: 5 }]);
      const sim = new M307Simulator({ logRecords: 5 });
      const srv = await serveM307(sim, { port: 0 });
      try {
        const c = capture();
        const code = await main(['doctor', '--port', b.link, '--listen', '0', '--timeout', '100', '--m307', '127.0.0.1', '--m307-port', String(srv.port), '--json'], c.io);
        assert.strictEqual(code, 1);
        const out = JSON.parse(c.out());
        assert.strictEqual(out.length, 2);
        assert.strictEqual(out[0].results[out[0].results.length - 1].code, 'WRONG_SLAVE_ADDRESS');
        assert.strictEqual(out[0].results[out[0].results.length - 1].details.found.address, 5);
        assert.deepStrictEqual(out[1].results.map((r) => r.code), ['OK', 'OK', 'OK']);
        const text = capture();
        await main(['doctor', '--port', b.link, '--listen', '0', '--timeout', '100'], text.io);
        assert.match(text.out(), /· NO_SENSOR_RESPONSE/);
        assert.match(text.out(), /1 problem found/);
      } finally {
        await srv.close();
        sim.close();
      }
    });

    it('a missing port: PORT_NOT_FOUND, exit 1; usage errors exit 2', async function () {
      const c = capture();
      assert.strictEqual(await main(['doctor', '--port', path.join(tmp, 'nope')], c.io), 1);
      assert.match(c.out(), /✗ PORT_NOT_FOUND/);
      const u = capture();
      assert.strictEqual(await main(['doctor', '--address', '3'], u.io), 2);
      assert.match(u.err(), /--address needs --port/);
      assert.strictEqual(await main(['doctor', '--port', 'x', '--parity', 'mark'], capture().io), 2);
    });
  });
});
