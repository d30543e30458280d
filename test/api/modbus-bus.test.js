'use strict';
// The public Modbus API against the JS simulator, over a real pseudo-terminal and over
// TCP (RTU over TCP). Every fault mode, validation with zero bytes on the wire, close
// during a pending request, reconnect, and the libuv pool staying free.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');

const fieldlink = require('../..');
const { ModbusBus, errors } = fieldlink;
const { ModbusSimulator, serveTcp, servePty } = require('../../lib/sim/modbus');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-api-'));
let linkCounter = 0;
const newLink = () => path.join(tmp, `tty${++linkCounter}`);

function makeSim() {
  return new ModbusSimulator({
    units: [
      { address: 1, temperature: 30.5, humidity: 54.6, drift: false },
      { address: 2, temperature: -20.5, humidity: 10.0, drift: false },
    ],
  });
}

async function rejects(promise, Cls, code) {
  const err = await promise.then(
    () => assert.fail(`expected ${Cls.name} ${code}, but it resolved`),
    (e) => e,
  );
  assert.ok(err instanceof Cls, `expected ${Cls.name}, got ${err && err.name}: ${err && err.message}`);
  assert.ok(err instanceof errors.FieldlinkError);
  assert.strictEqual(err.code, code, err.message);
  return err;
}

const transports = {
  pty: async (sim) => {
    const served = await servePty(sim, { link: newLink() });
    return { target: served.link || served.path, close: () => served.close(), served };
  },
  tcp: async (sim) => {
    const served = await serveTcp(sim, { port: 0 });
    return { target: served.url, close: () => served.close(), served };
  },
};

for (const [name, serve] of Object.entries(transports)) {
  describe(`ModbusBus over ${name}`, function () {
    let sim;
    let srv;
    let bus;

    beforeEach(async function () {
      sim = makeSim();
      srv = await serve(sim);
      bus = await ModbusBus.open(srv.target, { timeout: 200, offlineAfter: 0 });
    });

    afterEach(async function () {
      if (bus) await bus.close();
      await srv.close();
      sim.close();
    });

    it('reads input registers (the example of the original Python sensor module: 01 04 00 01 00 02)', async function () {
      assert.deepStrictEqual(await bus.readInputRegisters(1, 0x0001, 2), [305, 546]);
      assert.strictEqual(sim.stats.framesReceived, 1);
    });

    it('sensor.read() gives named, scaled, signed values with a timestamp', async function () {
      const before = Date.now();
      const r = await bus.sensor(1, { profile: 'xy-md02' }).read();
      assert.strictEqual(r.temperature, 30.5);
      assert.strictEqual(r.humidity, 54.6);
      assert.strictEqual(r.valid, true);
      assert.strictEqual(r.address, 1);
      assert.ok(r.timestamp instanceof Date && r.timestamp.getTime() >= before);
      assert.deepStrictEqual(r.units, { temperature: '°C', humidity: '%RH' });
      const neg = await bus.sensor(2).read();
      assert.strictEqual(neg.temperature, -20.5);
      assert.strictEqual(neg.raw.temperature, 0xff33);
    });

    it('readConfig, corrections (verified), and raw holding-register writes', async function () {
      const s = bus.sensor(1);
      assert.deepStrictEqual(
        (({ address, baudRate, temperatureCorrection, humidityCorrection }) => ({ address, baudRate, temperatureCorrection, humidityCorrection }))(await s.readConfig()),
        { address: 1, baudRate: 9600, temperatureCorrection: 0, humidityCorrection: 0 },
      );
      assert.strictEqual(await s.setTemperatureCorrection(-2.0), -2);
      assert.strictEqual(await s.setHumidityCorrection(1.5), 1.5);
      const cfg = await s.readConfig();
      assert.strictEqual(cfg.temperatureCorrection, -2);
      assert.strictEqual(cfg.humidityCorrection, 1.5);
      assert.deepStrictEqual(await bus.readHoldingRegisters(1, 0x0103, 2), [0xffec, 15]);
      const r = await s.read();
      assert.strictEqual(r.temperature, 28.5);
      assert.strictEqual(r.humidity, 56.1);
      await bus.writeRegisters(1, 0x0103, [0, 0]);
      assert.deepStrictEqual(await bus.readHoldingRegisters(1, 0x0103, 2), [0, 0]);
      await bus.writeRegister(1, 0x0103, 0xffec);
      assert.deepStrictEqual(await bus.readHoldingRegisters(1, 0x0103, 1), [0xffec]);
    });

    it('setAddress stores the address; the unit answers there after a power cycle', async function () {
      const s = bus.sensor(1);
      const res = await s.setAddress(5);
      assert.strictEqual(res.previous, 1);
      assert.strictEqual(res.address, 5);
      assert.strictEqual(res.active, false);
      assert.strictEqual(s.address, 1);
      sim.powerCycle(1);
      assert.strictEqual((await bus.sensor(5).read()).temperature, 30.5);
      await rejects(bus.readInputRegisters(1, 1, 1), errors.TimeoutError, 'ETIMEDOUT');
    });

    it('setBaudRate writes in the convention the device uses (raw or code)', async function () {
      const res = await bus.sensor(1).setBaudRate(19200);
      assert.strictEqual(res.convention, 'raw');
      assert.deepStrictEqual(await bus.readHoldingRegisters(1, 0x0102, 1), [19200]);
      sim.addUnit({ address: 9, baudConvention: 'code', drift: false });
      const res2 = await bus.sensor(9).setBaudRate(14400);
      assert.strictEqual(res2.convention, 'code');
      assert.deepStrictEqual(await bus.readHoldingRegisters(9, 0x0102, 1), [1]);
      assert.strictEqual((await bus.sensor(9).readConfig()).baudRate, 14400);
      await rejects(bus.sensor(1).setBaudRate(4800), errors.ValidationError, 'EINVAL');
    });

    it('a broadcast write (unit 0) reaches every unit and resolves without a reply', async function () {
      await bus.writeRegister(0, 0x0103, 10);
      assert.deepStrictEqual(await bus.readHoldingRegisters(1, 0x0103, 1), [10]);
      assert.deepStrictEqual(await bus.readHoldingRegisters(2, 0x0103, 1), [10]);
    });

    describe('fault modes', function () {
      it('silent unit: TimeoutError ETIMEDOUT', async function () {
        sim.setFault(1, 'silent');
        await rejects(bus.readInputRegisters(1, 1, 2), errors.TimeoutError, 'ETIMEDOUT');
      });
      it('bad CRC: ProtocolError ECHECKSUM with the raw bytes', async function () {
        sim.setFault(1, 'bad-crc');
        const e = await rejects(bus.readInputRegisters(1, 1, 2), errors.ProtocolError, 'ECHECKSUM');
        assert.match(e.rawData, /^01 04 04 01 31 02 22/);
      });
      it('garbage: ProtocolError', async function () {
        sim.setFault(1, 'garbage');
        const e = await bus.readInputRegisters(1, 1, 2).then(() => null, (x) => x);
        assert.ok(e instanceof errors.ProtocolError || e instanceof errors.TimeoutError, String(e));
        if (e instanceof errors.ProtocolError) assert.ok(['EFRAME', 'ECHECKSUM', 'EMISMATCH'].includes(e.code), e.code);
      });
      it('slow reply past the timeout: ETIMEDOUT; within it: success', async function () {
        sim.setFault(1, 'slow', { delayMs: 350 });
        await rejects(bus.readInputRegisters(1, 1, 2), errors.TimeoutError, 'ETIMEDOUT');
        sim.setFault(1, 'slow', { delayMs: 60 });
        await new Promise((r) => setTimeout(r, 400)); // let the late reply of the first request pass
        assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
      });
      it('exception: DeviceError EREJECTED with the code and its name', async function () {
        sim.setFault(1, 'exception', { code: 4 });
        const e = await rejects(bus.readInputRegisters(1, 1, 2), errors.DeviceError, 'EREJECTED');
        assert.strictEqual(e.exceptionCode, 4);
        assert.strictEqual(e.exceptionName, 'SERVER_DEVICE_FAILURE');
      });
      it('real exceptions: unmapped register is exception 2', async function () {
        const e = await rejects(bus.readInputRegisters(1, 0x0400, 1), errors.DeviceError, 'EREJECTED');
        assert.strictEqual(e.exceptionCode, 2);
      });
      it('another unit answers: ProtocolError EMISMATCH', async function () {
        sim.setFault(1, 'wrong-unit', { unit: 7 });
        const e = await rejects(bus.readInputRegisters(1, 1, 2), errors.ProtocolError, 'EMISMATCH');
        assert.match(e.message, /unit 7/);
      });
      it('short reply: ProtocolError EFRAME at the deadline', async function () {
        sim.setFault(1, 'short');
        await rejects(bus.readInputRegisters(1, 1, 2), errors.ProtocolError, 'EFRAME');
      });
      it('leading garbage before a good reply is skipped', async function () {
        sim.setFault(1, 'leading-garbage', { bytes: [0xff, 0x00, 0x13] });
        assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
      });
      it('retries recover a transient fault', async function () {
        await bus.close();
        bus = await ModbusBus.open(srv.target, { timeout: 150, retries: 2 });
        sim.setFault(1, 'bad-crc', { times: 2 });
        assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
        assert.strictEqual(sim.unit(1).stats.requests, 3);
        const st = await bus.stats();
        assert.strictEqual(st.retries, 2);
        assert.strictEqual(st.units['1'].retries, 2);
        assert.strictEqual(st.units['1'].requests, 3, 'every attempt on the wire is a request');
        assert.strictEqual(st.units['1'].replies, 1);
      });
    });

    it('bad arguments are rejected before anything reaches the wire', async function () {
      const cases = [
        [() => bus.readInputRegisters(0, 1, 1), 'unit', /1\.\.247/],
        [() => bus.readInputRegisters(248, 1, 1), 'unit', /0\.\.247|1\.\.247/],
        [() => bus.readInputRegisters(1.5, 1, 1), 'unit', /integer/],
        [() => bus.readInputRegisters(1, -1, 1), 'address', /0\.\.65535/],
        [() => bus.readInputRegisters(1, 1, 0), 'count', /1\.\.125/],
        [() => bus.readHoldingRegisters(1, 1, 126), 'count', /1\.\.125/],
        [() => bus.readHoldingRegisters(1, 65535, 2), 'count', /65535/],
        [() => bus.writeRegister(1, 0x0103, 65536), 'value', /0\.\.65535/],
        [() => bus.writeRegister(1, 0x0103, -1), 'value', /0\.\.65535/],
        [() => bus.writeRegisters(1, 0x0103, []), 'count', /1\.\.123/],
        [() => bus.writeRegisters(1, 0, new Array(124).fill(0)), 'count', /1\.\.123/],
        [() => bus.writeRegisters(1, 0, [1, 'x']), 'values[1]', /integer/],
        [() => bus.sensor(1).setTemperatureCorrection(10.5), 'temperatureCorrection', /-10\.\.10/],
        [() => bus.sensor(1).setHumidityCorrection(NaN), 'humidityCorrection', /number/],
        [() => bus.sensor(1).setAddress(0), 'newAddress', /1\.\.247/],
        [() => bus.sensor(1).setBaudRate(115200), 'baudRate', /9600/],
        [() => bus.sensor(300), 'address', /1\.\.247/],
        [() => bus.sensor(1, { profile: 'nope' }), 'profile', /xy-md02/],
      ];
      for (const [call, arg, range] of cases) {
        let err;
        try {
          await call();
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof errors.ValidationError, `${arg}: expected ValidationError, got ${err}`);
        assert.strictEqual(err.argument, arg, err.message);
        assert.ok(err.message.includes(arg), err.message);
        assert.match(err.message, range);
      }
      assert.strictEqual(sim.stats.bytesReceived, 0, 'the simulator must not have seen a single byte');
    });

    it('close() during a pending request rejects it with ECLOSED, quickly', async function () {
      sim.setFault(1, 'silent');
      const settle = (p) => p.then(() => assert.fail('expected a rejection'), (e) => e);
      const pending = settle(bus.readInputRegisters(1, 1, 2));
      const queued = settle(bus.readInputRegisters(2, 1, 2));
      const t0 = Date.now();
      await bus.close();
      for (const e of [await pending, await queued]) {
        assert.ok(e instanceof errors.ConnectionError, String(e));
        assert.strictEqual(e.code, 'ECLOSED');
      }
      assert.ok(Date.now() - t0 < 150, 'close took too long');
      await rejects(bus.readInputRegisters(1, 1, 2), errors.ConnectionError, 'ECLOSED');
      bus = null;
    });

    it('a silent unit does not stall a healthy one', async function () {
      await bus.close();
      bus = await ModbusBus.open(srv.target, { timeout: 100, offlineAfter: 2, offlineProbeInterval: 2000 });
      sim.setFault(2, 'silent');
      const healthy = [];
      const silentCodes = [];
      for (let i = 0; i < 8; i++) {
        const t0 = Date.now();
        const [a, b] = await Promise.allSettled([bus.readInputRegisters(1, 1, 2), bus.readInputRegisters(2, 1, 2)]);
        assert.strictEqual(a.status, 'fulfilled', String(a.reason));
        healthy.push(Date.now() - t0);
        silentCodes.push(b.reason.code);
      }
      assert.deepStrictEqual(silentCodes.slice(0, 2), ['ETIMEDOUT', 'ETIMEDOUT']);
      assert.deepStrictEqual(silentCodes.slice(2), new Array(6).fill('EOFFLINE'));
      // Once the silent unit is skipped, a poll of both costs no timeout.
      assert.ok(Math.max(...healthy.slice(3)) < 60, `healthy latencies ${healthy}`);
      const st = await bus.stats();
      assert.strictEqual(st.units['2'].offline, true);
      assert.strictEqual(st.units['1'].replies, 8);
    });

    it('stats() counts requests, replies, timeouts and latency', async function () {
      await bus.readInputRegisters(1, 1, 2);
      sim.setFault(1, 'silent');
      await bus.readInputRegisters(1, 1, 2).catch(() => {});
      const st = await bus.stats();
      assert.strictEqual(st.requests, 2);
      assert.strictEqual(st.replies, 1);
      assert.strictEqual(st.timeouts, 1);
      assert.strictEqual(st.state, 'open');
      assert.strictEqual(st.latency.samples, 1);
      assert.strictEqual(st.lastRequestHex, '01 04 00 01 00 02 20 0B');
    });
  });
}

describe('ModbusBus: opening, reconnecting, process behaviour', function () {
  it('rejects a missing port with ConnectionError ENOENT naming the port', async function () {
    const e = await rejects(ModbusBus.open('/dev/ttyFIELDLINK-NOPE'), errors.ConnectionError, 'ENOENT');
    assert.match(e.message, /ttyFIELDLINK-NOPE/);
  });

  it('rejects a refused TCP connection with ECONNREFUSED', async function () {
    const srv = await serveTcp(makeSim(), { port: 0 });
    const url = srv.url;
    await srv.close();
    await rejects(ModbusBus.open(url, { connectTimeout: 500 }), errors.ConnectionError, 'ECONNREFUSED');
  });

  it('rejects bad open options with ValidationError', async function () {
    await rejects(ModbusBus.open('/dev/ttyUSB0', { baudRate: 1234 }), errors.ValidationError, 'EINVAL');
    await rejects(ModbusBus.open('/dev/ttyUSB0', { parity: 'mark' }), errors.ValidationError, 'EINVAL');
    await rejects(ModbusBus.open('/dev/ttyUSB0', { timeout: 0 }), errors.ValidationError, 'ERANGE');
    await rejects(ModbusBus.open('http://x'), errors.ValidationError, 'EINVAL');
    await rejects(ModbusBus.open(42), errors.ValidationError, 'EINVAL');
  });

  it('a second bus on the same port is refused with EBUSY', async function () {
    const sim = makeSim();
    const served = await servePty(sim, { link: newLink() });
    const a = await ModbusBus.open(served.link);
    try {
      await rejects(ModbusBus.open(served.link), errors.ConnectionError, 'EBUSY');
    } finally {
      await a.close();
      await served.close();
    }
  });

  it('unplug and replug: requests fail fast while away, then it reconnects by itself', async function () {
    const link = newLink();
    const sim = makeSim();
    let served = await servePty(sim, { link });
    const bus = await ModbusBus.open(link, { timeout: 200, reconnectMinDelay: 50, reconnectMaxDelay: 200 });
    const states = [];
    bus.on('state', (s) => states.push(s.state));
    try {
      assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
      await served.close(); // the adapter disappears
      await new Promise((r) => setTimeout(r, 100));
      const e = await bus.readInputRegisters(1, 1, 2).then(() => null, (x) => x);
      assert.ok(e instanceof errors.ConnectionError, String(e));
      assert.ok(['ENOTCONNECTED', 'ECONNLOST'].includes(e.code), e.code);
      assert.strictEqual(bus.state, 'reconnecting');
      served = await servePty(sim, { link }); // plugged in again (a new /dev/pts/N)
      const t0 = Date.now();
      while (bus.state !== 'open' && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
      assert.strictEqual(bus.state, 'open');
      assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
      assert.ok(states.includes('reconnecting') && states.includes('open'), states.join(','));
      assert.ok((await bus.stats()).reconnects >= 1);
    } finally {
      await bus.close();
      await served.close();
    }
  });

  it('libserialport opens the pty too (under the test shim)', async function () {
    if (!process.env.FIELDLINK_PTYSHIM) this.skip();
    const sim = makeSim();
    const served = await servePty(sim, { link: newLink() });
    const bus = await ModbusBus.open(served.link, { serialDriver: 'libserialport' });
    try {
      assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
    } finally {
      await bus.close();
      await served.close();
    }
  });

  it('device waits never occupy the libuv pool: fs work finishes while 16 requests wait on 4 buses', async function () {
    // libuv's pool has 4 threads. If a device wait held one, 4 buses with silent units would
    // hold all of them and the file reads below would queue behind the first 1.5 s timeout.
    // The check is an order, not a time: every read is done before any device wait ends.
    const TIMEOUT_MS = 1500;
    const sim = new ModbusSimulator({ units: [1, 2, 3, 4].map((a) => ({ address: a, drift: false })) });
    for (const a of [1, 2, 3, 4]) sim.setFault(a, 'silent');
    const buses = [];
    const servers = [];
    for (let i = 0; i < 4; i++) {
      const s = await servePty(sim, { link: newLink() });
      servers.push(s);
      buses.push(await ModbusBus.open(s.link, { timeout: TIMEOUT_MS, offlineAfter: 0 }));
    }
    try {
      let settled = 0;
      const waits = [];
      for (const b of buses) {
        for (let u = 1; u <= 4; u++) waits.push(b.readInputRegisters(u, 1, 1).catch((e) => e.code).finally(() => { settled++; }));
      }
      await new Promise((r) => setImmediate(r));
      await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(() => fs.promises.readFile(__filename)));
      assert.strictEqual(settled, 0, `${settled} device waits ended before 8 file reads did: the pool was busy`);
      const codes = await Promise.all(waits);
      assert.ok(codes.every((c) => c === 'ETIMEDOUT'), codes.join(','));
    } finally {
      for (const b of buses) await b.close();
      for (const s of servers) await s.close();
    }
  });

  it('an idle open bus does not keep the process alive; a pending request does', async function () {
    const sim = makeSim();
    const served = await serveTcp(sim, { port: 0 });
    const script = `
      const { ModbusBus } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
      ModbusBus.open(${JSON.stringify(served.url)}, { timeout: 300 }).then(async (bus) => {
        const r = await bus.readInputRegisters(1, 1, 2);
        console.log(JSON.stringify(r));
      });`;
    const t0 = Date.now();
    const out = await new Promise((resolve, reject) => {
      execFile(process.execPath, ['-e', script], { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    assert.strictEqual(out.trim(), '[305,546]');
    assert.ok(Date.now() - t0 < 4000);
    await served.close();
  });
});

describe('listPorts()', function () {
  it('returns the documented shape for each port', async function () {
    const ports = await fieldlink.listPorts();
    assert.ok(Array.isArray(ports));
    for (const p of ports) {
      for (const k of ['path', 'byIdPath', 'manufacturer', 'vendorId', 'productId', 'serialNumber', 'isRs485']) {
        assert.ok(k in p, `missing ${k}`);
      }
      assert.strictEqual(typeof p.isRs485, 'boolean');
      assert.ok(p.path.startsWith('/dev/'));
    }
  });

  it('flags RS485 adapter chips and prefers the by-id path', function () {
    const { describePort } = require('../../lib/ports');
    const ids = new Map([['/dev/ttyUSB0', '/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0']]);
    const p = describePort({ path: '/dev/ttyUSB0', description: 'USB Serial', transport: 'usb', manufacturer: '', product: '', serialNumber: '', vendorId: 0x1a86, productId: 0x7523 }, ids);
    assert.strictEqual(p.isRs485, true);
    assert.strictEqual(p.chip, 'CH340');
    assert.strictEqual(p.vendorId, '1a86');
    assert.strictEqual(p.preferredPath, '/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0');
    const q = describePort({ path: '/dev/ttyS0', description: 'ttyS0', transport: 'native', manufacturer: '', product: '', serialNumber: '', vendorId: null, productId: null }, new Map());
    assert.strictEqual(q.isRs485, false);
    assert.strictEqual(q.byIdPath, null);
  });
});

describe('shared bus registry', function () {
  it('one link per port; the last release closes it', async function () {
    const { acquireModbusBus, openBusCount } = require('../../lib/registry');
    const sim = makeSim();
    const served = await servePty(sim, { link: newLink() });
    const a = acquireModbusBus(served.link, { baudRate: 9600 });
    const b = acquireModbusBus(served.path, { baudRate: 19200 }); // same port by its real name
    assert.strictEqual(await a.bus, await b.bus);
    assert.match(b.conflict, /baudRate=9600/);
    assert.strictEqual(openBusCount(), 1);
    const bus = await a.bus;
    assert.deepStrictEqual(await bus.readInputRegisters(1, 1, 2), [305, 546]);
    await a.release();
    assert.strictEqual(bus.state, 'open');
    await b.release();
    assert.strictEqual(openBusCount(), 0);
    await rejects(bus.readInputRegisters(1, 1, 2), errors.ConnectionError, 'ECLOSED');
    await served.close();
  });

  it('a failed open is forgotten: its users see the error, the next acquire opens afresh', async function () {
    const { acquireModbusBus, openBusCount } = require('../../lib/registry');
    const link = newLink();
    const a = acquireModbusBus(link, {});
    await rejects(a.bus, errors.ConnectionError, 'ENOENT');
    assert.strictEqual(openBusCount(), 0, 'the failed link left the pool');
    const sim = makeSim();
    const served = await servePty(sim, { link });
    const b = acquireModbusBus(link, {});
    assert.deepStrictEqual(await (await b.bus).readInputRegisters(1, 1, 2), [305, 546]);
    await a.release(); // the failed share's release does not touch the new link
    assert.strictEqual(openBusCount(), 1);
    assert.deepStrictEqual(await (await b.bus).readInputRegisters(1, 1, 2), [305, 546]);
    await b.release();
    assert.strictEqual(openBusCount(), 0);
    await served.close();
  });
});

describe('ModbusBus.open with an AbortSignal', function () {
  // A listener that never accepts, with its backlog full: a connect to it hangs.
  function stuckListener() {
    const { spawn } = require('node:child_process');
    const py = spawn('python3', ['-c', [
      'import socket, sys, time',
      's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
      'port = s.getsockname()[1]',
      'fill = [socket.create_connection(("127.0.0.1", port)) for _ in range(1)]',
      'print(port, flush=True)',
      'time.sleep(30)',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      py.on('error', reject);
      py.stdout.once('data', (d) => resolve({ port: Number(String(d).trim()), kill: () => py.kill() }));
    });
  }

  it('an abort during a hanging TCP connect rejects the open at once with the signal\'s reason', async function () {
    let l;
    try {
      l = await stuckListener();
    } catch {
      this.skip();
    }
    try {
      // Fill the backlog further from here, then the next SYN is dropped.
      const net = require('node:net');
      const fillers = [1, 2].map(() => net.connect(l.port, '127.0.0.1').on('error', () => {}));
      await new Promise((r) => setTimeout(r, 100));
      const ac = new AbortController();
      const t0 = Date.now();
      const p = ModbusBus.open(`tcp://127.0.0.1:${l.port}`, { connectTimeout: 10000, signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      const e = await p.then(() => assert.fail('open resolved'), (x) => x);
      assert.strictEqual(e.name, 'AbortError', String(e));
      assert.strictEqual(e, ac.signal.reason);
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
      // A reason of the caller's own is what open rejects with.
      const ac2 = new AbortController();
      const mine = new Error('deploy stopped');
      const p2 = ModbusBus.open(`tcp://127.0.0.1:${l.port}`, { connectTimeout: 10000, signal: ac2.signal });
      setTimeout(() => ac2.abort(mine), 50);
      assert.strictEqual(await p2.then(() => null, (x) => x), mine);
      const ac3 = new AbortController();
      ac3.abort();
      assert.strictEqual(await ModbusBus.open(`tcp://127.0.0.1:${l.port}`, { signal: ac3.signal }).then(() => null, (x) => x).then((x) => x && x.name), 'AbortError');
      await rejects(ModbusBus.open(`tcp://127.0.0.1:${l.port}`, { signal: {} }), errors.ValidationError, 'EINVAL');
      fillers.forEach((s) => s.destroy());
    } finally {
      l.kill();
    }
  });

  it('the registry gives up a pending open when its last user releases it', async function () {
    const { acquireModbusBus, openBusCount } = require('../../lib/registry');
    let l;
    try {
      l = await stuckListener();
    } catch {
      this.skip();
    }
    try {
      const net = require('node:net');
      const fillers = [1, 2].map(() => net.connect(l.port, '127.0.0.1').on('error', () => {}));
      await new Promise((r) => setTimeout(r, 100));
      const share = acquireModbusBus(`tcp://127.0.0.1:${l.port}`, { connectTimeout: 10000 });
      share.bus.catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      await share.release();
      assert.ok(Date.now() - t0 < 500, `release took ${Date.now() - t0} ms`);
      assert.strictEqual(openBusCount(), 0);
      assert.strictEqual(await share.bus.then(() => null, (x) => x.name), 'AbortError');
      fillers.forEach((s) => s.destroy());
    } finally {
      l.kill();
    }
  });
});
