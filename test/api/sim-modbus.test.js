'use strict';

// The Modbus RTU slave simulator, checked over real TCP sockets with raw bytes.
// Expected frames are literals: from docs/protocols/modbus.md §9, or computed with a separate
// bit-by-bit CRC (not the simulator's table) and written here by hand.

const assert = require('node:assert');
const net = require('node:net');
const path = require('node:path');
const { EventEmitter } = require('node:events');
const { spawn } = require('node:child_process');

const {
  ModbusSimulator, serveTcp, crc16, withCrc, crcOk, FAULT_MODES, PROFILES,
} = require('../../lib/sim/modbus');
const { attachPty } = require('../../lib/sim/transport');

const ROOT = path.join(__dirname, '..', '..');

function bytes(h) {
  return Buffer.from(h.replace(/\s+/g, ''), 'hex');
}
function hex(buf) {
  return Buffer.from(buf).toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A raw TCP client that collects every byte it receives. */
class RawClient {
  constructor(socket) {
    this.socket = socket;
    this.rx = Buffer.alloc(0);
    this.waiters = new Set();
    socket.on('data', (d) => {
      this.rx = Buffer.concat([this.rx, d]);
      for (const w of this.waiters) w();
    });
  }
  static connect(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  send(h) {
    this.socket.write(typeof h === 'string' ? bytes(h) : h);
  }
  _changed(ms) {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); this.waiters.delete(done); resolve(true); };
      const t = setTimeout(() => { this.waiters.delete(done); resolve(false); }, ms);
      this.waiters.add(done);
    });
  }
  /** Everything received after the first byte until quietMs of silence; '' if nothing in waitMs. */
  async read({ waitMs = 500, quietMs = 40 } = {}) {
    if (!this.rx.length && !(await this._changed(waitMs))) return '';
    while (await this._changed(quietMs));
    const out = this.rx;
    this.rx = Buffer.alloc(0);
    return hex(out);
  }
  /** Send a request and return the hex of the whole answer ('' for none). */
  async transact(h, opts) {
    this.rx = Buffer.alloc(0);
    this.send(h);
    return this.read(opts);
  }
  close() {
    this.socket.destroy();
  }
}

const NO_REPLY = { waitMs: 150 };

describe('Modbus RTU slave simulator (lib/sim/modbus)', function () {
  this.timeout(5000);

  const open = [];
  async function start(simOpts) {
    const sim = new ModbusSimulator(simOpts);
    const srv = await serveTcp(sim, { host: '127.0.0.1', port: 0 });
    const client = await RawClient.connect(srv.port);
    open.push({ sim, srv, clients: [client] });
    return { sim, srv, client };
  }
  async function extraClient(srv) {
    const c = await RawClient.connect(srv.port);
    open[open.length - 1].clients.push(c);
    return c;
  }
  afterEach(async () => {
    while (open.length) {
      const o = open.pop();
      o.clients.forEach((c) => c.close());
      await o.srv.close();
      o.sim.close();
    }
  });

  const md02 = (extra = {}) => ({
    units: [{ address: 1, profile: 'xy-md02', temperature: 30.5, humidity: 54.6, drift: false, ...extra }],
  });

  describe('CRC-16/MODBUS', () => {
    const vectors = [
      ['01 04 00 01 00 01', '60 0A'],
      ['01 04 00 02 00 01', '90 0A'],
      ['01 04 00 01 00 02', '20 0B'],
      ['01 04 02 01 31', '79 74'],
      ['01 04 02 02 22', '38 49'], // the manual's D1 BA is wrong (modbus.md §9)
      ['01 04 04 01 31 02 22', '2A CE'],
      ['01 03 01 01 00 01', 'D4 36'],
      ['01 03 02 00 01', '79 84'],
      ['01 06 01 01 00 08', 'D8 30'],
      ['01 10 01 01 00 02 04 00 20 25 80', '25 09'],
      ['01 10 01 01 00 02', '11 F4'],
      ['01 04 02 0B EA', '3F 8F'],
      ['01 04 02 15 54', 'B6 5F'],
      ['01 03 01 02 00 01', '24 36'],
      ['01 03 01 01 00 04', '14 35'],
      ['01 06 01 02 00 01', 'E8 36'],
      ['01 06 01 03 FF EC', '38 4B'],
      ['00 06 01 01 00 01', '19 E7'],
      ['01 03 00 01 00 02', '95 CB'],
      ['01 83 02', 'C0 F1'],
      ['01 84 02', 'C2 C1'],
    ];
    for (const [body, crc] of vectors) {
      it(`${body} -> ${crc}`, () => {
        assert.strictEqual(hex(withCrc(bytes(body))), `${body} ${crc}`);
        const v = crc16(bytes(body));
        assert.strictEqual(hex([v & 0xff, v >> 8]), crc);
        assert.ok(crcOk(bytes(`${body} ${crc}`)));
      });
    }
    it('rejects a frame with one flipped bit and the manual\'s wrong CRC', () => {
      assert.ok(!crcOk(bytes('01 04 02 02 22 D1 BA')));
      assert.ok(!crcOk(bytes('01 04 00 01 00 02 20 0A')));
    });
  });

  describe('reads (XY-MD02 at 30.5 C / 54.6 %RH, drift off)', () => {
    it('answers the modbus.md §9 read vectors byte for byte', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
      assert.strictEqual(await client.transact('01 04 00 01 00 01 60 0A'), '01 04 02 01 31 79 74');
      assert.strictEqual(await client.transact('01 04 00 02 00 01 90 0A'), '01 04 02 02 22 38 49');
      assert.strictEqual(await client.transact('01 03 01 01 00 01 D4 36'), '01 03 02 00 01 79 84');
    });

    it('holds the default settings: address 1, baud 9600 raw, corrections 0', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 03 01 02 00 01 24 36'), '01 03 02 25 80 A3 74');
      assert.strictEqual(await client.transact('01 03 01 01 00 04 14 35'),
        '01 03 08 00 01 25 80 00 00 00 00 83 FC');
    });

    it('encodes negative temperatures as signed int16 (-20.5 C -> FF 33)', async () => {
      const { client } = await start(md02({ temperature: -20.5 }));
      const r = bytes(await client.transact('01 04 00 01 00 01 60 0A'));
      assert.strictEqual(hex(r.subarray(0, 5)), '01 04 02 FF 33');
      assert.ok(crcOk(r));
    });

    it('x100 firmware reports 0x0BEA / 0x1554 (vectors from modbus.md §9)', async () => {
      const { client } = await start({
        units: [{ address: 1, profile: 'xy-md02-x100', temperature: 30.5, humidity: 54.6, drift: false }],
      });
      assert.strictEqual(await client.transact('01 04 00 01 00 01 60 0A'), '01 04 02 0B EA 3F 8F');
      assert.strictEqual(await client.transact('01 04 00 02 00 01 90 0A'), '01 04 02 15 54 B6 5F');
    });
  });

  describe('writes', () => {
    it('write single: echo, then the correction is added to the reading', async () => {
      const { client } = await start(md02());
      // temperature correction -2.0 (×10 signed)
      assert.strictEqual(await client.transact('01 06 01 03 FF EC 38 4B'), '01 06 01 03 FF EC 38 4B');
      assert.strictEqual(await client.transact('01 03 01 01 00 04 14 35'),
        '01 03 08 00 01 25 80 FF EC 00 00 72 1D');
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 1D 02 22 EB 07');
    });

    it('humidity correction is added and clamped at 0..100 %RH', async () => {
      const { sim, client } = await start(md02());
      assert.strictEqual(await client.transact('01 06 01 04 00 64 C8 1C'), '01 06 01 04 00 64 C8 1C'); // +10.0
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 86 2B 75'); // 64.6
      sim.setValues(1, { humidity: 95 });
      assert.strictEqual(await client.transact('01 04 00 02 00 01 90 0A'), '01 04 02 03 E8 B9 8E'); // 100.0
      sim.setValues(1, { humidity: 5 });
      assert.strictEqual(await client.transact('01 06 01 04 FF 9C 88 6E'), '01 06 01 04 FF 9C 88 6E'); // -10.0
      assert.strictEqual(await client.transact('01 04 00 02 00 01 90 0A'), '01 04 02 00 00 B9 30'); // 0.0
    });

    it('correction limits ±10.0 are accepted, ±10.1 is exception 03', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 06 01 03 00 64 79 DD'), '01 06 01 03 00 64 79 DD'); // +10.0
      assert.strictEqual(await client.transact('01 06 01 03 FF 9C 39 AF'), '01 06 01 03 FF 9C 39 AF'); // -10.0
      assert.strictEqual(await client.transact('01 06 01 03 00 65 B8 1D'), '01 86 03 02 61'); // +10.1
      assert.strictEqual(await client.transact('01 06 01 03 FF 9B 78 6D'), '01 86 03 02 61'); // -10.1
      // the refused writes left -10.0 in place: 30.5 - 10.0 = 20.5 = 0x00CD
      const r = bytes(await client.transact('01 04 00 01 00 01 60 0A'));
      assert.strictEqual(hex(r.subarray(0, 5)), '01 04 02 00 CD');
    });

    it('write multiple (manual example: address 32, baud 9600) and read back', async () => {
      const { sim, client } = await start(md02());
      assert.strictEqual(await client.transact('01 10 01 01 00 02 04 00 20 25 80 25 09'), '01 10 01 01 00 02 11 F4');
      // still listening at 1 until a power cycle; the register already says 32
      assert.strictEqual(await client.transact('01 03 01 01 00 01 D4 36'), '01 03 02 00 20 B9 9C');
      assert.strictEqual(await client.transact('20 03 01 01 00 01 D2 87', NO_REPLY), '');
      sim.powerCycle();
      assert.strictEqual(await client.transact('01 03 01 01 00 01 D4 36', NO_REPLY), '');
      assert.strictEqual(await client.transact('20 03 01 01 00 01 D2 87'), '20 03 02 00 20 05 9B');
    });

    it('write multiple is all-or-nothing: one bad value -> exception 03, nothing stored', async () => {
      const { client } = await start(md02());
      // 0x0103 = 1.6, 0x0104 = 20.1 (out of range)
      assert.strictEqual(await client.transact('01 10 01 03 00 02 04 00 10 00 C9 7F B9'), '01 90 03 0C 01');
      assert.strictEqual(await client.transact('01 03 01 03 00 02 35 F7'), '01 03 04 00 00 00 00 FA 33');
      assert.strictEqual(await client.transact('01 10 01 03 00 02 04 00 10 00 64 BE 04'), '01 10 01 03 00 02 B0 34');
      assert.strictEqual(await client.transact('01 03 01 03 00 02 35 F7'), '01 03 04 00 10 00 64 FA 1D');
    });

    it('baud register, raw convention: 9600/14400/19200 only', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 06 01 02 00 02 A8 37'), '01 86 03 02 61'); // a code
      assert.strictEqual(await client.transact('01 06 01 02 12 C0 25 06'), '01 86 03 02 61'); // 4800
      assert.strictEqual(await client.transact('01 06 01 02 4B 00 1F 06'), '01 06 01 02 4B 00 1F 06'); // 19200
    });

    it('baud register, code convention: holds 0, accepts 0..2, refuses 9600', async () => {
      const { client } = await start(md02({ baudConvention: 'code' }));
      assert.strictEqual(await client.transact('01 03 01 02 00 01 24 36'), '01 03 02 00 00 B8 44');
      assert.strictEqual(await client.transact('01 06 01 02 25 80 32 C6'), '01 86 03 02 61');
      assert.strictEqual(await client.transact('01 06 01 02 00 02 A8 37'), '01 06 01 02 00 02 A8 37');
      // the manual's fc 0x10 example (raw 9600) is refused in this convention
      assert.strictEqual(await client.transact('01 10 01 01 00 02 04 00 20 25 80 25 09'), '01 90 03 0C 01');
    });

    it('a new baud rate applies after powerCycle(): the unit no longer hears a 9600 bus', async () => {
      const { sim, client } = await start(md02());
      assert.strictEqual(await client.transact('01 06 01 02 4B 00 1F 06'), '01 06 01 02 4B 00 1F 06');
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
      sim.powerCycle(1);
      assert.strictEqual(sim.unit(1).baudRate, 19200);
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B', NO_REPLY), '');
      sim.busBaudRate = 19200;
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
    });

    it('address register: 1..247 accepted, 0 and 248 are exception 03', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 06 01 01 00 00 D9 F6'), '01 86 03 02 61');
      assert.strictEqual(await client.transact('01 06 01 01 00 F8 D8 74'), '01 86 03 02 61');
      assert.strictEqual(await client.transact('01 06 01 01 00 08 D8 30'), '01 06 01 01 00 08 D8 30');
    });
  });

  describe('exceptions', () => {
    it('01 for an unsupported function (fc 05 of fixed length, fc 0x41 found by CRC)', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 05 00 00 FF 00 8C 3A'), '01 85 01 83 50');
      assert.strictEqual(await client.transact('01 41 C0 10'), '01 C1 01 B0 50');
      // the unit is still in sync afterwards
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
    });

    it('02 for unmapped registers (read and write), and for writing a measurement', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 03 00 01 00 02 95 CB'), '01 83 02 C0 F1');
      assert.strictEqual(await client.transact('01 04 00 03 00 01 C1 CA'), '01 84 02 C2 C1');
      assert.strictEqual(await client.transact('01 04 00 00 00 01 31 CA'), '01 84 02 C2 C1');
      // range that runs past the end of the map: 0x0101..0x0105
      assert.strictEqual(await client.transact('01 03 01 01 00 05 D5 F5'), '01 83 02 C0 F1');
      assert.strictEqual(await client.transact('01 06 00 01 00 64 D9 E1'), '01 86 02 C3 A1');
      assert.strictEqual(await client.transact(
        '01 10 01 02 00 04 08 25 80 00 00 00 00 00 00 0E D3'), '01 90 02 CD C1');
    });

    it('03 for quantity 0 and for a byte count that does not match the quantity', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 03 01 01 00 00 15 F6'), '01 83 03 01 31');
      assert.strictEqual(await client.transact('01 10 01 03 00 02 03 00 10 00 6A 8A'), '01 90 03 0C 01');
    });
  });

  describe('framing', () => {
    it('ignores a request with a bad CRC (no reply, counted), then answers the next one', async () => {
      const { sim, client } = await start(md02());
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0C', NO_REPLY), '');
      assert.strictEqual(sim.stats.crcErrors, 1);
      assert.strictEqual(sim.stats.framesReceived, 0);
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
    });

    it('a bad-CRC frame immediately followed by a good one: only the good one is answered', async () => {
      const { client } = await start(md02());
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0C 01 04 00 01 00 01 60 0A'),
        '01 04 02 01 31 79 74');
    });

    it('skips garbage before a request', async () => {
      const { sim, client } = await start(md02());
      const seen = [];
      sim.on('discard', (d) => seen.push(d));
      assert.strictEqual(await client.transact('FF 00 13 37 01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
      assert.strictEqual(seen.length, 1);
      assert.strictEqual(hex(seen[0].bytes), 'FF 00 13 37');
      assert.strictEqual(sim.stats.bytesReceived, 12);
    });

    it('assembles a request split over several TCP segments', async () => {
      // A silence gap far above the pauses, so a busy machine cannot turn them into a frame end.
      const { client } = await start({ ...md02(), frameGapMs: 2000 });
      client.send('01 04 00');
      await sleep(2);
      client.send('01 00');
      await sleep(2);
      assert.strictEqual(await client.transact('02 20 0B'), '01 04 04 01 31 02 22 2A CE');
    });

    it('drops a partial frame after the silence gap', async () => {
      const { sim, client } = await start({ ...md02(), frameGapMs: 10 });
      const seen = [];
      sim.on('discard', (d) => seen.push(d));
      client.send('01 04 00 01');
      await sleep(60);
      assert.deepStrictEqual(seen.map((d) => [hex(d.bytes), d.reason]), [['01 04 00 01', 'silence']]);
      assert.strictEqual(sim.stats.bytesDiscarded, 4);
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
    });

    it('keeps the input of two TCP clients apart', async () => {
      // a long gap, so A's half frame waits while B is served
      const { srv, client: a } = await start({ ...md02(), frameGapMs: 2000 });
      const b = await extraClient(srv);
      a.send('01 04 00 01');
      const rb = await b.transact('01 04 00 02 00 01 90 0A');
      const ra = await a.transact('00 02 20 0B');
      assert.strictEqual(rb, '01 04 02 02 22 38 49');
      assert.strictEqual(ra, '01 04 04 01 31 02 22 2A CE');
    });

    it('frames addressed to an absent unit are ignored silently', async () => {
      const { sim, client } = await start(md02());
      assert.strictEqual(await client.transact('09 04 00 01 00 02 21 43', NO_REPLY), '');
      assert.strictEqual(sim.stats.framesReceived, 1);
      assert.strictEqual(sim.stats.framesAnswered, 0);
      assert.deepStrictEqual(sim.stats.requestsByUnit, { 9: 1 });
    });
  });

  describe('bus with several units', () => {
    const twoUnits = () => ({
      units: [
        { address: 1, temperature: 30.5, humidity: 54.6, drift: false },
        { address: 2, temperature: 31.0, humidity: 56.6, drift: false },
      ],
    });

    it('each unit answers at its own address with its own values', async () => {
      const { sim, client } = await start(twoUnits());
      assert.strictEqual(await client.transact('02 04 00 01 00 02 20 38'), '02 04 04 01 36 02 36 A8 00');
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
      assert.strictEqual(sim.unit(1).stats.requests, 1);
      assert.strictEqual(sim.unit(2).stats.requests, 1);
    });

    it('broadcast write (unit 0) is applied by every unit and gets no reply', async () => {
      const { sim, client } = await start(twoUnits());
      assert.strictEqual(await client.transact('02 06 01 01 00 08 D8 03'), '02 06 01 01 00 08 D8 03');
      assert.strictEqual(await client.transact('00 06 01 01 00 01 19 E7', NO_REPLY), '');
      assert.strictEqual(sim.stats.broadcasts, 1);
      assert.strictEqual(await client.transact('01 03 01 01 00 01 D4 36'), '01 03 02 00 01 79 84');
      assert.strictEqual(await client.transact('02 03 01 01 00 01 D4 05'), '02 03 02 00 01 3D 84');
    });

    it('a broadcast read is ignored', async () => {
      const { sim, client } = await start(twoUnits());
      assert.strictEqual(await client.transact('00 04 00 01 00 02 21 DA', NO_REPLY), '');
      assert.strictEqual(sim.stats.framesAnswered, 0);
    });

    it('two units power-cycled onto one address both answer (a collision)', async () => {
      const { sim, client } = await start(twoUnits());
      assert.strictEqual(await client.transact('00 06 01 01 00 01 19 E7', NO_REPLY), '');
      sim.powerCycle();
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'),
        '01 04 04 01 31 02 22 2A CE 01 04 04 01 36 02 36 9B 00');
    });
  });

  describe('fault modes', () => {
    const CLEAN = '01 04 04 01 31 02 22 2A CE';
    const READ = '01 04 00 01 00 02 20 0B';

    it('lists every documented mode', () => {
      assert.deepStrictEqual([...FAULT_MODES].sort(), ['bad-crc', 'exception', 'garbage', 'leading-garbage',
        'short', 'silent', 'slow', 'wrong-unit']);
    });

    it('silent: never answers; clearFault restores it', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'silent');
      assert.strictEqual(await client.transact(READ, NO_REPLY), '');
      assert.strictEqual(sim.unit(1).stats.requests, 1);
      sim.clearFault(1);
      assert.strictEqual(await client.transact(READ), CLEAN);
    });

    it('silent: a write is not applied', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'silent');
      assert.strictEqual(await client.transact('01 06 01 03 FF EC 38 4B', NO_REPLY), '');
      sim.clearFault(1);
      assert.strictEqual(await client.transact(READ), CLEAN);
    });

    it('bad-crc: correct bytes with a corrupted CRC', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'bad-crc');
      const r = await client.transact(READ);
      assert.strictEqual(r, '01 04 04 01 31 02 22 D5 31');
      assert.ok(!crcOk(bytes(r)));
    });

    it('garbage: random bytes of the right length that do not check', async () => {
      const { sim, client } = await start({ ...md02(), seed: 7 });
      sim.setFault(1, 'garbage');
      const r = bytes(await client.transact(READ));
      assert.strictEqual(r.length, 9);
      assert.notStrictEqual(hex(r), CLEAN);
      assert.ok(!crcOk(r));
    });

    it('slow: answers after opts.delayMs', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'slow', { delayMs: 200 });
      const t0 = Date.now();
      client.send(READ);
      assert.strictEqual(await client.read({ waitMs: 120 }), '');
      assert.strictEqual(await client.read({ waitMs: 500 }), CLEAN);
      assert.ok(Date.now() - t0 >= 195, `answered after ${Date.now() - t0} ms`);
    });

    it('exception: code 04 by default, opts.code otherwise; nothing is written', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'exception');
      assert.strictEqual(await client.transact(READ), '01 84 04 42 C3');
      sim.setFault(1, 'exception', { code: 2 });
      assert.strictEqual(await client.transact(READ), '01 84 02 C2 C1');
      assert.strictEqual(await client.transact('01 06 01 03 FF EC 38 4B'), '01 86 02 C3 A1');
      sim.clearFault(1);
      assert.strictEqual(await client.transact(READ), CLEAN);
    });

    it('wrong-unit: a valid frame from another address (default address + 1)', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'wrong-unit');
      assert.strictEqual(await client.transact(READ), '02 04 04 01 31 02 22 19 CE');
      sim.setFault(1, 'wrong-unit', { unit: 9 });
      assert.strictEqual(await client.transact(READ), '09 04 04 01 31 02 22 A3 0E');
    });

    it('short: a truncated reply and then nothing', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'short');
      assert.strictEqual(await client.transact(READ, { quietMs: 100 }), '01 04 04 01 31 02');
      sim.setFault(1, 'short', { length: 3 });
      assert.strictEqual(await client.transact(READ, { quietMs: 100 }), '01 04 04');
    });

    it('leading-garbage: junk bytes, then the correct reply', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'leading-garbage', { bytes: [0xaa, 0x55] });
      assert.strictEqual(await client.transact(READ), `AA 55 ${CLEAN}`);
      sim.setFault(1, 'leading-garbage');
      const r = await client.transact(READ);
      assert.strictEqual(r.length, CLEAN.length + 9);
      assert.ok(r.endsWith(CLEAN));
    });

    it('times: a fault for the next N requests only', async () => {
      const { sim, client } = await start(md02());
      sim.setFault(1, 'bad-crc', { times: 2 });
      assert.strictEqual(await client.transact(READ), '01 04 04 01 31 02 22 D5 31');
      assert.strictEqual(await client.transact(READ), '01 04 04 01 31 02 22 D5 31');
      assert.strictEqual(await client.transact(READ), CLEAN);
      assert.strictEqual(sim.unit(1).fault, null);
    });

    it('a fault on one unit leaves the others alone', async () => {
      const { sim, client } = await start({
        units: [
          { address: 1, temperature: 30.5, humidity: 54.6, drift: false },
          { address: 2, temperature: 30.5, humidity: 54.6, drift: false },
        ],
      });
      sim.setFault(2, 'silent');
      assert.strictEqual(await client.transact('02 04 00 01 00 02 20 38', NO_REPLY), '');
      assert.strictEqual(await client.transact(READ), CLEAN);
    });

    it('refuses an unknown mode or unit', () => {
      const sim = new ModbusSimulator(md02());
      assert.throws(() => sim.setFault(1, 'flaky'), /unknown fault mode/);
      assert.throws(() => sim.setFault(5, 'silent'), /no simulated unit at address 5/);
    });
  });

  describe('stats and events', () => {
    it('counts every byte from any client, frames received and answered; resetStats()', async () => {
      const { sim, srv, client } = await start(md02());
      const other = await extraClient(srv);
      await sleep(20);
      assert.strictEqual(sim.stats.bytesReceived, 0);
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
      assert.strictEqual(await other.transact('EE 01 04 00 01 00 02 20 0C', NO_REPLY), '');
      assert.strictEqual(await other.transact('09 04 00 01 00 02 21 43', NO_REPLY), '');
      assert.strictEqual(sim.stats.bytesReceived, 8 + 9 + 8);
      assert.strictEqual(sim.stats.framesReceived, 2);
      assert.strictEqual(sim.stats.framesAnswered, 1);
      assert.strictEqual(sim.stats.crcErrors, 1);
      assert.deepStrictEqual(sim.stats.requestsByUnit, { 1: 1, 9: 1 });
      assert.strictEqual(sim.unit(1).stats.requests, 1);
      assert.strictEqual(sim.unit(1).stats.answered, 1);
      sim.resetStats();
      assert.strictEqual(sim.stats.bytesReceived, 0);
      assert.strictEqual(sim.stats.framesReceived, 0);
      assert.strictEqual(sim.unit(1).stats.requests, 0);
    });

    it("emits 'request' with the decoded request and its outcome", async () => {
      const { sim, client } = await start(md02());
      const seen = [];
      sim.on('request', (r) => seen.push(r));
      await client.transact('01 10 01 01 00 02 04 00 20 25 80 25 09');
      await client.transact('01 03 00 01 00 02 95 CB');
      assert.strictEqual(seen.length, 2);
      assert.strictEqual(seen[0].address, 1);
      assert.strictEqual(seen[0].function, 0x10);
      assert.strictEqual(seen[0].start, 0x0101);
      assert.strictEqual(seen[0].quantity, 2);
      assert.deepStrictEqual(seen[0].values, [0x20, 0x2580]);
      assert.strictEqual(seen[0].outcome, 'reply');
      assert.strictEqual(hex(seen[0].reply), '01 10 01 01 00 02 11 F4');
      assert.strictEqual(seen[1].outcome, 'exception');
      assert.strictEqual(seen[1].exceptionCode, 2);
    });
  });

  describe('other profiles', () => {
    it('sht3x-asia: fc03 0x0000 humidity, 0x0001 temperature; baud code 2 = 9600; fc04 -> 02', async () => {
      const { client } = await start({
        units: [{ address: 1, profile: 'sht3x-asia', temperature: 30.5, humidity: 54.6, drift: false }],
      });
      assert.strictEqual(await client.transact('01 03 00 00 00 02 C4 0B'), '01 03 04 02 22 01 31 9B C5');
      assert.strictEqual(await client.transact('01 03 01 00 00 02 C5 F7'), '01 03 04 00 01 00 02 2A 32');
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 84 02 C2 C1');
    });

    it('wb-generic: fc03 0x0000 temperature, 0x0001 humidity; no baud register', async () => {
      const { client } = await start({
        units: [{ address: 1, profile: 'wb-generic', temperature: 30.5, humidity: 54.6, drift: false }],
      });
      assert.strictEqual(await client.transact('01 03 00 00 00 02 C4 0B'), '01 03 04 01 31 02 22 2B 79');
      assert.strictEqual(await client.transact('01 03 01 01 00 01 D4 36'), '01 83 02 C0 F1');
    });

    it('md02-red: x100 values on fc04, address at 0x0100, baud code at 0x0101', async () => {
      const { client } = await start({
        units: [{ address: 1, profile: 'md02-red', temperature: 30.5, humidity: 54.6, drift: false }],
      });
      assert.strictEqual(await client.transact('01 04 00 01 00 02 20 0B'), '01 04 04 0B EA 15 54 D7 3B');
      assert.strictEqual(await client.transact('01 03 01 00 00 02 C5 F7'), '01 03 04 00 01 00 02 2A 32');
    });

    it('every profile named in PROFILES can be built', () => {
      for (const name of Object.keys(PROFILES)) {
        const sim = new ModbusSimulator({ units: [{ address: 3, profile: name }] });
        assert.strictEqual(sim.unit(3).profile.name, name);
      }
      assert.throws(() => new ModbusSimulator({ units: [{ address: 1, profile: 'nope' }] }), /unknown Modbus sensor profile/);
      assert.throws(() => new ModbusSimulator({ units: [{ address: 1, baudRate: 4800 }] }), /baudRate 4800/);
    });
  });

  describe('drift', () => {
    function readTemps(sim, clock, steps) {
      const out = [];
      for (let i = 0; i < steps; i++) {
        clock.t += 2000;
        out.push(sim.unit(1).readKind('temperature'));
      }
      return out;
    }

    it('walks slowly within ±3 C of the set value, repeatably for a given seed', () => {
      const c1 = { t: 0 };
      const c2 = { t: 0 };
      const s1 = new ModbusSimulator({ seed: 42, now: () => c1.t, units: [{ address: 1, temperature: 20 }] });
      const s2 = new ModbusSimulator({ seed: 42, now: () => c2.t, units: [{ address: 1, temperature: 20 }] });
      const a = readTemps(s1, c1, 300);
      const b = readTemps(s2, c2, 300);
      assert.deepStrictEqual(a, b);
      assert.ok(new Set(a).size > 5, 'values change');
      for (let i = 0; i < a.length; i++) {
        assert.ok(a[i] >= 170 && a[i] <= 230, `in range: ${a[i]}`);
        if (i) assert.ok(Math.abs(a[i] - a[i - 1]) <= 2, `slow: ${a[i - 1]} -> ${a[i]}`);
      }
    });

    it('drift:false keeps the value', () => {
      const clock = { t: 0 };
      const sim = new ModbusSimulator({ now: () => clock.t, units: [{ address: 1, temperature: 20, drift: false }] });
      assert.deepStrictEqual(new Set(readTemps(sim, clock, 50)), new Set([200]));
    });
  });

  describe('pty transport (attachPty, as used by servePty)', () => {
    it('feeds pty data to the simulator and writes replies back', async () => {
      const fake = new EventEmitter();
      fake.path = '/dev/pts/fake';
      fake.written = [];
      fake.write = (b) => fake.written.push(hex(b));
      fake.closed = false;
      fake.close = () => { fake.closed = true; };
      let opened;
      const sim = new ModbusSimulator(md02());
      const p = await attachPty((o) => { opened = o; return fake; }, { link: '/tmp/ttyFAKE' },
        (write, info) => sim.connect(write, info));
      assert.deepStrictEqual(opened, { link: '/tmp/ttyFAKE' });
      assert.strictEqual(p.path, '/dev/pts/fake');
      fake.emit('data', bytes('01 04 00 01'));
      fake.emit('data', bytes('00 02 20 0B'));
      await sleep(20);
      assert.deepStrictEqual(fake.written, ['01 04 04 01 31 02 22 2A CE']);
      await p.close();
      assert.ok(fake.closed);
      sim.close();
    });
  });

  describe('servePty on a real pseudo-terminal', () => {
    it('answers a request written to the pty link', async function () {
      try {
        require('../../lib/sim/pty');
      } catch {
        this.skip(); // the addon's pty helper is not built here
      }
      const { servePty } = require('../../lib/sim/modbus');
      const fs = require('node:fs');
      const os = require('node:os');
      const tty = require('node:tty');
      const link = path.join(os.tmpdir(), `fl-sim-modbus-${process.pid}`);
      const sim = new ModbusSimulator(md02());
      const p = await servePty(sim, { link });
      const fd = fs.openSync(link, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
      const stream = new tty.ReadStream(fd);
      try {
        stream.setRawMode(true);
        let rx = Buffer.alloc(0);
        stream.on('data', (d) => { rx = Buffer.concat([rx, d]); });
        fs.writeSync(fd, bytes('01 04 00 01 00 02 20 0B'));
        const t0 = Date.now();
        while (rx.length < 9 && Date.now() - t0 < 2000) await sleep(10);
        await sleep(30);
        assert.strictEqual(hex(rx), '01 04 04 01 31 02 22 2A CE');
        assert.strictEqual(sim.stats.bytesReceived, 8);
      } finally {
        stream.destroy();
        await p.close();
        sim.close();
        try { fs.unlinkSync(link); } catch { /* removed by the pty helper */ }
      }
    });
  });

  describe('CLI: fieldlink simulate modbus', () => {
    it('serves TCP, logs requests and exits 0 on SIGINT', async function () {
      this.timeout(10000);
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'fieldlink.js'), 'simulate', 'modbus',
        '--tcp', '0', '--units', '1,2', '--temperature', '30.5', '--humidity', '54.6', '--no-drift',
        '--turnaround', '0', '--fault', '2:exception:3'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      try {
        const t0 = Date.now();
        while (!/tcp:\/\/127\.0\.0\.1:\d+/.test(out) && Date.now() - t0 < 5000) await sleep(20);
        const port = Number(/tcp:\/\/127\.0\.0\.1:(\d+)/.exec(out)[1]);
        const c = await RawClient.connect(port);
        assert.strictEqual(await c.transact('01 04 00 01 00 02 20 0B'), '01 04 04 01 31 02 22 2A CE');
        assert.strictEqual(await c.transact('02 04 00 01 00 02 20 38'), '02 84 03 F3 01');
        c.close();
        await sleep(50);
        child.kill('SIGINT');
        const { code } = await exited;
        assert.strictEqual(code, 0, err);
        assert.match(out, /unit 1 read input 0x0001 x2 -> 01 04 04 01 31 02 22 2A CE/);
        assert.match(out, /stopped \(SIGINT\)/);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('rejects a bad option with exit code 2', async () => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'fieldlink.js'), 'simulate', 'modbus',
        '--fault', '1:flaky'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => { err += d; });
      const code = await new Promise((resolve) => child.on('exit', resolve));
      assert.strictEqual(code, 2);
      assert.match(err, /mode must be one of/);
    });
  });
});

