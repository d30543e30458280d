'use strict';

// The Outback MATE-bus device simulator (lib/sim/mate), driven with raw command bytes.
// Expected frames are literals from docs/protocols/mate.md §13 (the real capture) or built here with
// this file's own checksum and decoders (not the simulator's codec), so the simulator is
// checked against a second reading of mate.md §4-11.

const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const mate = require('../../lib/sim/mate');

const { MateSimulator, FAULT_MODES, encodeLogPage, decodeLogPage } = mate;

const ROOT = path.join(__dirname, '..', '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function bytes(h) {
  return Buffer.from(h.replace(/\s+/g, ''), 'hex');
}
function hex(buf) {
  return Buffer.from(buf).toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
}
/** mate.md §4, written again here: 16-bit sum of every byte, big-endian. */
function sum16(buf) {
  let s = 0;
  for (const b of buf) s += b;
  return s & 0xffff;
}
function cmd(port, type, address, value = 0) {
  const b = Buffer.from([port, type, address >> 8, address & 0xff, value >> 8, value & 0xff, 0, 0]);
  const s = sum16(b.subarray(0, 6));
  b[6] = s >> 8;
  b[7] = s & 0xff;
  return b;
}
/** byte0 + payload + checksum, for expected replies. */
function reply(byte0, ...payload) {
  const b = Buffer.from([byte0, ...payload, 0, 0]);
  const s = sum16(b.subarray(0, b.length - 2));
  b[b.length - 2] = s >> 8;
  b[b.length - 1] = s & 0xff;
  return hex(b);
}
function checksumOk(buf) {
  return buf.length >= 3 && sum16(buf.subarray(0, buf.length - 2)) === buf.readUInt16BE(buf.length - 2);
}

// This file's own decoders (mate.md §9-11 tables), independent of lib/sim/mate/codec.js.
function ownLog(b) {
  return {
    peakAmps: (b[0] | ((b[1] & 3) << 8)) / 10,
    batteryMax: ((b[1] >> 2) | ((b[2] & 0x0f) << 6)) / 10,
    kwh: ((b[2] >> 4) | (b[3] << 4)) / 10,
    peakPvVoltage: b[4],
    absorbMinutes: b[5] | ((b[6] & 0x0f) << 8),
    floatMinutes: (b[6] >> 4) | (b[7] << 4),
    ah: b[8] | ((b[9] & 0x3f) << 8),
    batteryMin: ((b[9] >> 6) | (b[10] << 2) | ((b[11] & 3) << 10)) / 10,
    peakKw: ((b[12] >> 2) | (b[11] << 6)) / 1000,
    day: b[13],
  };
}
function ownMx(p) {
  return {
    ah: ((p[0] & 0x70) << 4) | p[4],
    ahFlag: (p[0] & 0x80) !== 0,
    pvCurrent: (p[1] + 128) & 0xff,
    batteryCurrent: ((p[2] + 128) & 0xff) + (p[0] & 0x0f) / 10,
    kwh: (((p[3] << 8) | p[8]) << 16 >> 16) / 10,
    chargerMode: p[6],
    batteryVoltage: ((p[9] << 8) | p[10]) / 10,
    pvVoltage: ((p[11] << 8) | p[12]) / 10,
  };
}
function ownDc(block) {
  const i16 = (o) => block.readInt16BE(o);
  return {
    a: i16(0) / 10, b: i16(2) / 10, c: i16(4) / 10, volts: i16(6) / 10, soc: block[8],
    aPower: i16(9), bPower: i16(11), cPower: i16(13),
    inA: i16(17), outA: i16(19), batA: i16(21), inP: i16(23), outP: i16(25), batP: i16(27),
    inAh: i16(29), outAh: i16(31), batAh: i16(33), inKwh: i16(35), outKwh: i16(37), batKwh: i16(39),
    days: i16(41) / 10, minSoc: block[67], netAh: i16(68), netKwh: i16(70),
  };
}

/** A raw endpoint on the simulator core: send command bytes, take what came back (hex). */
class Wire {
  constructor(sim) {
    this.rx = [];
    this.conn = sim.connect((b) => this.rx.push(Buffer.from(b)), { name: 'test' });
  }
  send(b) {
    this.conn.receive(typeof b === 'string' ? bytes(b) : b);
  }
  take() {
    const out = hex(Buffer.concat(this.rx));
    this.rx = [];
    return out;
  }
  /** Send one command and return the reply ('' for none); every reply must check. */
  ask(b) {
    this.take();
    this.send(b);
    const raw = Buffer.concat(this.rx);
    this.rx = [];
    if (raw.length) assert.ok(checksumOk(raw), `reply ${hex(raw)} fails the checksum`);
    return hex(raw);
  }
  close() {
    this.conn.close();
  }
}

const CAPTURE_TIME = Date.UTC(2024, 5, 10, 12, 0, 0);

describe('Outback MATE bus simulator (lib/sim/mate)', function () {
  this.timeout(10000);

  const sims = [];
  function make(opts = {}) {
    const sim = new MateSimulator({ now: () => CAPTURE_TIME, utcOffsetMinutes: 0, ...opts });
    sims.push(sim);
    return { sim, wire: new Wire(sim) };
  }
  afterEach(() => {
    for (const s of sims.splice(0)) s.close();
  });

  describe('the capture vectors of mate.md §13 (preset "capture")', () => {
    let sim;
    let wire;
    beforeEach(() => ({ sim, wire } = make({ preset: 'capture' })));

    it('hub scan: port 0 is a hub and answers with byte0 00', () => {
      assert.strictEqual(wire.ask('00 02 00 00 00 00 00 02'), '00 00 01 00 01');
    });

    it('ports 1..3 are MX, FX, DC; ports 4..10 (and 11) never answer', () => {
      assert.strictEqual(wire.ask('01 02 00 00 00 00 00 03'), '02 00 03 00 05');
      assert.strictEqual(wire.ask(cmd(2, 2, 0)), '02 00 02 00 04');
      assert.strictEqual(wire.ask(cmd(3, 2, 0)), '02 00 04 00 06');
      for (let p = 4; p <= 11; p++) assert.strictEqual(wire.ask(cmd(p, 2, 0)), '', `port ${p}`);
      for (let p = 4; p <= 10; p++) assert.strictEqual(wire.ask(cmd(p, 4, 1)), '', `status on port ${p}`);
      assert.deepStrictEqual(sim.stats.byPort[4], { commands: 2, answered: 0 });
      assert.deepStrictEqual(sim.stats.byPort[1], { commands: 1, answered: 1 });
    });

    it('MX, FX and DC page A status replies', () => {
      assert.strictEqual(wire.ask('01 04 00 01 00 FF 01 05'), '03 89 84 89 00 55 3F 02 00 15 00 FE 02 A8 03 EC');
      assert.strictEqual(wire.ask('02 04 00 01 00 00 00 07'), '02 00 00 00 03 73 00 04 00 02 01 00 09 00 00 88');
      assert.strictEqual(wire.ask('03 04 00 0A 00 00 00 11'), '04 FF C8 00 5B 00 00 01 00 4C FF F2 00 17 04 7B');
      // the MX status page param 0 (pymate) answers the same as 0x00FF (the MATE)
      assert.strictEqual(wire.ask(cmd(1, 4, 1, 0)), '03 89 84 89 00 55 3F 02 00 15 00 FE 02 A8 03 EC');
    });

    it('DC pages B..F', () => {
      const expected = [
        '04 00 00 00 21 00 5B 00 38 00 23 00 17 00 00 F2',
        '04 0E 00 09 00 51 00 6A FF E7 00 CF 01 02 03 8E',
        '04 FF CD 00 13 FE FA 02 76 01 70 FF 91 00 06 54',
        '04 FF 00 90 FD 90 01 6A 00 00 FF 05 00 8C 05 1B',
        '04 00 00 47 FF 88 FE E4 0F 00 00 00 00 00 03 C3',
      ];
      for (let i = 0; i < 5; i++) assert.strictEqual(wire.ask(cmd(3, 4, 0x0b + i)), expected[i], `page 0x0${(0x0b + i).toString(16)}`);
      // the documented decode of the capture block, with this file's decoder
      const block = Buffer.concat([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f].map((p) => bytes(wire.ask(cmd(3, 4, p))).subarray(1, 14)));
      const d = ownDc(block);
      assert.deepStrictEqual([d.a, d.b, d.c, d.volts, d.soc], [-5.6, 9.1, 0, 25.6, 76]);
      assert.deepStrictEqual([d.outP, d.batP, d.inAh, d.outAh, d.batAh, d.minSoc, d.netAh, d.netKwh], [14, 9, 81, 106, -25, 71, -120, -284]);
    });

    it('MX log pages: today, day 127, and day 128 for params 0x80 and 0xFF', () => {
      assert.strictEqual(wire.ask('01 16 00 00 00 00 00 17'), '16 9F 39 64 01 55 00 00 00 59 C0 38 10 5C 00 03 65');
      assert.strictEqual(wire.ask('01 16 00 00 00 7F 00 96'), '16 F1 BC 84 01 55 3C C0 1E 58 C0 3D 08 C2 7F 06 55');
      const d128 = wire.ask(cmd(1, 0x16, 0, 0x80));
      assert.strictEqual(bytes(d128)[14], 128);
      assert.strictEqual(wire.ask(cmd(1, 0x16, 0, 0xff)), d128);
      assert.strictEqual(wire.ask(cmd(1, 0x16, 0, 0xffff)), d128);
    });

    it('sync writes and their replies, incl. the MX low-byte echo of 0x4004', () => {
      assert.strictEqual(wire.ask('01 02 40 00 00 00 00 43'), '02 00 9A 00 9C');
      assert.strictEqual(wire.ask('02 03 40 01 00 9A 00 E0'), '03 00 9A 00 9D');
      assert.strictEqual(wire.ask('03 03 40 04 8D A9 01 80'), '03 8D A9 01 39');
      assert.strictEqual(wire.ask('01 03 40 04 8D A9 01 7E'), '03 00 A9 00 AC');
    });

    it('register reads: MX charger mode, FX inverter control, DC state of charge', () => {
      assert.strictEqual(wire.ask('01 02 01 C8 00 00 00 CC'), '02 00 02 00 04');
      assert.strictEqual(wire.ask('02 02 00 3D 00 00 00 41'), '02 00 02 00 04');
      assert.strictEqual(wire.ask('03 02 00 D5 00 00 00 DA'), '02 00 4C 00 4E');
    });

    it('firmware registers: FX 61, MX 1.9.8, DC 1.1.71', () => {
      assert.strictEqual(wire.ask(cmd(2, 2, 0x0001)), reply(0x02, 0, 61));
      assert.strictEqual(wire.ask(cmd(2, 2, 0x0002)), reply(0x02, 0, 0));
      assert.deepStrictEqual([2, 3, 4].map((a) => wire.ask(cmd(1, 2, a))), [reply(2, 0, 1), reply(2, 0, 9), reply(2, 0, 8)]);
      assert.deepStrictEqual([2, 3, 4].map((a) => wire.ask(cmd(3, 2, a))), [reply(2, 0, 1), reply(2, 0, 1), reply(2, 0, 71)]);
      assert.strictEqual(wire.ask(cmd(1, 2, 0x0001)), reply(2, 0, 0));
    });

    it('the capture preset does not depend on the clock', () => {
      const other = make({ preset: 'capture', now: () => Date.UTC(2030, 0, 1, 3, 17) }).wire;
      for (const c of [cmd(1, 4, 1, 0xff), cmd(2, 4, 1), cmd(3, 4, 0x0c), cmd(1, 0x16, 0, 0), cmd(3, 2, 0xd5)]) {
        assert.strictEqual(other.ask(c), wire.ask(c));
      }
    });
  });

  describe('framing', () => {
    it('a command with a bad checksum gets no answer and is counted', async () => {
      const { sim, wire } = make({ silenceMs: 10 });
      const events = [];
      sim.on('command', (e) => events.push(e));
      wire.send('00 02 00 00 00 00 00 03'); // pymate Protocol.md's example: wrong checksum
      assert.strictEqual(wire.take(), '');
      assert.strictEqual(sim.stats.checksumErrors, 1);
      assert.strictEqual(sim.stats.commands, 0);
      assert.strictEqual(events.length, 0);
      await sleep(40);
      assert.strictEqual(wire.ask('00 02 00 00 00 00 00 02'), '00 00 01 00 01');
      assert.strictEqual(sim.stats.checksumErrors, 1);
      assert.strictEqual(sim.stats.bytesReceived, 16);
      // the direct core path refuses it as well
      assert.strictEqual(sim.respond(bytes('01 02 00 00 00 00 00 04')).reply, null);
    });

    it('resynchronises after leading garbage in the same chunk', () => {
      const { sim, wire } = make();
      const discards = [];
      sim.on('discard', (d) => discards.push(d));
      wire.send(Buffer.concat([bytes('FF 13 37'), cmd(1, 2, 0)]));
      assert.strictEqual(wire.take(), '02 00 03 00 05');
      assert.strictEqual(discards.length, 1);
      assert.strictEqual(hex(discards[0].bytes), 'FF 13 37');
      assert.strictEqual(sim.stats.bytesDiscarded, 3);
    });

    it('a bad command followed at once by a good one: only the good one is answered', () => {
      const { sim, wire } = make();
      wire.send(Buffer.concat([bytes('01 02 00 00 00 00 00 04'), cmd(2, 2, 0)]));
      assert.strictEqual(wire.take(), '02 00 02 00 04');
      assert.strictEqual(sim.stats.commands, 1);
      assert.strictEqual(sim.stats.checksumErrors, 1);
    });

    it('a command that arrives one byte at a time is answered once complete', () => {
      const { wire } = make();
      const c = cmd(3, 2, 0);
      for (let i = 0; i < 7; i++) {
        wire.send(c.subarray(i, i + 1));
        assert.strictEqual(wire.take(), '');
      }
      wire.send(c.subarray(7));
      assert.strictEqual(wire.take(), '02 00 04 00 06');
    });

    it('a partial command is dropped after the silence, so it cannot spoil the next one', async () => {
      const { sim, wire } = make({ silenceMs: 15 });
      const discards = [];
      sim.on('discard', (d) => discards.push(d));
      wire.send('01 02 00');
      await sleep(50);
      assert.deepStrictEqual(discards.map((d) => [hex(d.bytes), d.reason]), [['01 02 00', 'incomplete']]);
      assert.strictEqual(wire.ask(cmd(1, 2, 0)), '02 00 03 00 05');
      assert.strictEqual(sim.stats.checksumErrors, 0);
    });

    it('two commands in one chunk get two replies, in order', () => {
      const { wire } = make();
      wire.send(Buffer.concat([cmd(0, 2, 0), cmd(1, 2, 0)]));
      assert.strictEqual(wire.take(), '00 00 01 00 01 02 00 03 00 05');
    });
  });

  describe('commands', () => {
    it('unknown registers read 0; inc/dec answer the value unchanged and say so', () => {
      const { sim, wire } = make({ preset: 'capture' });
      const events = [];
      sim.on('command', (e) => events.push(e));
      assert.strictEqual(wire.ask(cmd(1, 2, 0x7777)), reply(0x02, 0, 0));
      assert.match(events[0].note, /unknown register/);
      assert.strictEqual(wire.ask(cmd(3, 0x00, 0x00d5)), reply(0x00, 0, 76));
      assert.strictEqual(wire.ask(cmd(3, 0x01, 0x00d5)), reply(0x01, 0, 76));
      assert.match(events[2].note, /dec .*not applied/);
      assert.strictEqual(wire.ask(cmd(3, 2, 0x00d5)), reply(0x02, 0, 76));
      assert.strictEqual(events[1].typeName, 'inc');
      assert.strictEqual(events[1].device, 'dc');
      assert.strictEqual(events[1].outcome, 'reply');
    });

    it('who stays silent: the hub for STATUS, the FX and DC for LOG, unknown types and pages', () => {
      const { sim, wire } = make();
      const events = [];
      sim.on('command', (e) => events.push(e));
      assert.strictEqual(wire.ask(cmd(0, 4, 1)), '');
      assert.strictEqual(wire.ask(cmd(2, 0x16, 0, 0)), '');
      assert.strictEqual(wire.ask(cmd(3, 0x16, 0, 0)), '');
      assert.strictEqual(wire.ask(cmd(1, 0x05, 0)), '');
      assert.strictEqual(wire.ask(cmd(1, 4, 2)), '');
      assert.strictEqual(wire.ask(cmd(3, 4, 0x10)), '');
      assert.deepStrictEqual(events.map((e) => e.outcome), Array(6).fill('silent'));
      assert.strictEqual(sim.stats.answered, 0);
    });

    it('writes to settings stick; writes to unknown registers are echoed but not kept', () => {
      const { wire } = make();
      assert.strictEqual(wire.ask(cmd(1, 3, 0x0018, 270)), reply(0x03, 0x01, 0x0e));
      assert.strictEqual(wire.ask(cmd(1, 2, 0x0018)), reply(0x02, 0x01, 0x0e));
      assert.strictEqual(wire.ask(cmd(1, 2, 0x0172)), reply(0x02, 0x01, 0x0e)); // float set-point reads the same setting
      assert.strictEqual(wire.ask(cmd(1, 3, 0x7777, 0x1234)), reply(0x03, 0x12, 0x34));
      assert.strictEqual(wire.ask(cmd(1, 2, 0x7777)), reply(0x02, 0, 0));
    });

    it('without a hub the single device is port 0 and nothing else answers', () => {
      const { sim, wire } = make({ hub: false, devices: [{ type: 'fx' }] });
      assert.strictEqual(wire.ask(cmd(0, 2, 0)), '02 00 02 00 04');
      assert.strictEqual(wire.ask(cmd(1, 2, 0)), '');
      assert.strictEqual(sim.device(0).type, 'fx');
      const def = make({ hub: false }).wire;
      assert.strictEqual(def.ask(cmd(0, 2, 0)), '02 00 03 00 05');
    });

    it('custom topologies, and configuration errors', () => {
      const { wire } = make({ devices: [{ port: 10, type: 'dc' }, { port: 4, type: 'mx' }] });
      assert.strictEqual(wire.ask(cmd(10, 2, 0)), '02 00 04 00 06');
      assert.strictEqual(wire.ask(cmd(4, 2, 0)), '02 00 03 00 05');
      assert.strictEqual(wire.ask(cmd(1, 2, 0)), '');
      assert.throws(() => new MateSimulator({ devices: [{ port: 11, type: 'mx' }] }), RangeError);
      assert.throws(() => new MateSimulator({ devices: [{ port: 1, type: 'mx' }, { port: 1, type: 'fx' }] }), /twice/);
      assert.throws(() => new MateSimulator({ devices: [{ port: 1, type: 'hub' }] }), RangeError);
      assert.throws(() => new MateSimulator({ hub: false, devices: [{ port: 0, type: 'mx' }, { port: 0, type: 'fx' }] }), RangeError);
      assert.throws(() => new MateSimulator({ hub: false, devices: [{ port: 1, type: 'mx' }] }), RangeError);
      assert.throws(() => new MateSimulator({ preset: 'nope' }), /preset/);
    });
  });

  describe('sync registers', () => {
    it('time and date writes are decoded, kept and reported', () => {
      const { sim, wire } = make();
      const seen = [];
      sim.on('time', (t) => seen.push(['time', t.port, t.hours, t.minutes, t.seconds]));
      sim.on('date', (d) => seen.push(['date', d.port, d.year, d.month, d.day, d.valid]));
      assert.strictEqual(wire.ask('03 03 40 04 8D A9 01 80'), '03 8D A9 01 39');
      assert.deepStrictEqual([sim.time.hours, sim.time.minutes, sim.time.seconds], [17, 45, 18]);
      assert.strictEqual(wire.ask(cmd(3, 3, 0x4005, 0x0d3d)), reply(0x03, 0x0d, 0x3d));
      assert.deepStrictEqual([sim.date.year, sim.date.month, sim.date.day], [2006, 9, 29]);
      // pymate's worked examples: 21:09:49 -> 0xA938 (seconds stored halved), "2020-04-31" -> 0x289F
      wire.ask(cmd(1, 3, 0x4004, 0xa938));
      assert.deepStrictEqual([sim.time.hours, sim.time.minutes, sim.time.seconds, sim.time.port], [21, 9, 48, 1]);
      wire.ask(cmd(3, 3, 0x4005, 0x289f));
      assert.deepStrictEqual([sim.date.year, sim.date.month, sim.date.day, sim.date.valid], [2020, 4, 31, false]);
      assert.deepStrictEqual(seen, [
        ['time', 3, 17, 45, 18], ['date', 3, 2006, 9, 29, true], ['time', 1, 21, 9, 48], ['date', 3, 2020, 4, 31, false],
      ]);
      // what was written reads back
      assert.strictEqual(wire.ask(cmd(3, 2, 0x4004)), reply(0x02, 0x8d, 0xa9));
      assert.strictEqual(wire.ask(cmd(1, 2, 0x4004)), reply(0x02, 0xa9, 0x38));
      assert.strictEqual(sim.dc().time.raw, 0x8da9);
    });

    it('battery temperature relay: MX 0x4000 -> FX/DC 0x4001 -> DC °C at 0x00F0', () => {
      const { sim, wire } = make();
      const temps = [];
      sim.on('temperature', (t) => temps.push([t.device, t.raw]));
      assert.strictEqual(wire.ask(cmd(3, 2, 0x00f0)), reply(0x02, 0x00, 0xfe)); // not present yet
      assert.strictEqual(wire.ask(cmd(2, 2, 0x0032)), reply(0x02, 0x00, 0xff));
      const raw = bytes(wire.ask(cmd(1, 2, 0x4000))).readUInt16BE(1);
      assert.ok(raw > 100 && raw < 180, `raw ${raw}`);
      assert.strictEqual(wire.ask(cmd(2, 3, 0x4001, raw)), reply(0x03, 0, raw));
      assert.strictEqual(wire.ask(cmd(3, 3, 0x4001, 0x9a)), reply(0x03, 0, 0x9a));
      assert.strictEqual(wire.ask(cmd(3, 2, 0x00f0)), reply(0x02, 0, 15)); // raw 154 -> 15 °C (mate.md §8)
      assert.strictEqual(wire.ask(cmd(2, 2, 0x0032)), reply(0x02, 0, raw));
      assert.deepStrictEqual(temps, [['fx', raw], ['dc', 0x9a]]);
    });
  });

  describe('fault modes', () => {
    it('lists the six modes', () => {
      assert.deepStrictEqual([...FAULT_MODES].sort(),
        ['bad-checksum', 'invalid-command', 'leading-garbage', 'silent', 'slow', 'upper-byte']);
    });

    it('silent, for the next N commands only', () => {
      const { sim, wire } = make();
      sim.setFault(1, 'silent', { times: 2 });
      assert.strictEqual(wire.ask(cmd(1, 2, 0)), '');
      assert.strictEqual(wire.ask(cmd(2, 2, 0)), '02 00 02 00 04'); // other ports unaffected
      assert.strictEqual(wire.ask(cmd(1, 4, 1)), '');
      assert.strictEqual(wire.ask(cmd(1, 2, 0)), '02 00 03 00 05');
    });

    it('bad-checksum: the right bytes with a wrong checksum', () => {
      const { sim, wire } = make();
      sim.setFault(2, 'bad-checksum');
      wire.take();
      wire.send(cmd(2, 2, 0));
      const got = Buffer.concat(wire.rx);
      wire.rx = [];
      assert.strictEqual(hex(got.subarray(0, 3)), '02 00 02');
      assert.ok(!checksumOk(got), hex(got));
      sim.clearFault(2);
      assert.strictEqual(wire.ask(cmd(2, 2, 0)), '02 00 02 00 04');
    });

    it('leading-garbage: junk, then the correct reply', () => {
      const { sim, wire } = make();
      sim.setFault(1, 'leading-garbage', { bytes: [0xaa, 0x55] });
      wire.send(cmd(1, 2, 0));
      assert.strictEqual(wire.take(), 'AA 55 02 00 03 00 05');
      sim.setFault(1, 'leading-garbage', { count: 4, times: 1 });
      wire.send(cmd(1, 2, 0));
      const got = bytes(wire.take());
      assert.strictEqual(got.length, 9);
      assert.strictEqual(hex(got.subarray(4)), '02 00 03 00 05');
      assert.strictEqual(wire.ask(cmd(1, 2, 0)), '02 00 03 00 05');
    });

    it('slow: the reply comes after delayMs', async () => {
      const { sim, wire } = make();
      sim.setFault(3, 'slow', { delayMs: 80 });
      const t0 = Date.now();
      wire.send(cmd(3, 2, 0));
      await sleep(30);
      assert.strictEqual(wire.take(), '');
      while (!wire.rx.length && Date.now() - t0 < 1000) await sleep(5);
      assert.ok(Date.now() - t0 >= 75, `after ${Date.now() - t0} ms`);
      assert.strictEqual(wire.take(), '02 00 04 00 06');
    });

    it('a pending slow reply is dropped when the connection closes', async () => {
      const { sim, wire } = make();
      sim.setFault(3, 'slow', { delayMs: 30 });
      wire.send(cmd(3, 2, 0));
      wire.close();
      await sleep(60);
      assert.strictEqual(wire.take(), '');
    });

    it('invalid-command: byte0 with bit 7 set, checksum over what is sent', () => {
      const { sim, wire } = make();
      sim.setFault(2, 'invalid-command');
      assert.strictEqual(wire.ask(cmd(2, 2, 0x3d)), reply(0x82, 0, 2));
      assert.strictEqual(wire.ask(cmd(2, 4, 1)).slice(0, 2), '82');
      sim.setFault(0, 'invalid-command', { times: 1 });
      assert.strictEqual(wire.ask(cmd(0, 2, 0)), reply(0x80, 0, 1));
      assert.strictEqual(wire.ask(cmd(0, 2, 0)), '00 00 01 00 01');
    });

    it('upper-byte: register 0 reads 0x11xx (FlexMax, pymate #23); other registers are untouched', () => {
      const { sim, wire } = make();
      sim.setFault(1, 'upper-byte', { times: 1 });
      assert.strictEqual(wire.ask(cmd(1, 2, 0x0002)), '02 00 01 00 03'); // not register 0: unchanged, not counted
      assert.strictEqual(wire.ask(cmd(1, 2, 0)), '02 11 03 00 16');
      assert.strictEqual(wire.ask(cmd(1, 2, 0)), '02 00 03 00 05');
      sim.setFault(2, 'upper-byte', { upper: 0x22 });
      assert.strictEqual(wire.ask(cmd(2, 2, 0)), reply(0x02, 0x22, 0x02));
    });

    it('refuses faults on empty ports and unknown modes', () => {
      const { sim } = make();
      assert.throws(() => sim.setFault(5, 'silent'), /no device on port 5/);
      assert.throws(() => sim.setFault(1, 'melt'), /fault mode/);
      assert.throws(() => sim.setFault(1, 'silent', { times: 0 }), RangeError);
      assert.throws(() => sim.clearFault(7), RangeError);
    });
  });

  describe('FX controls and status', () => {
    const fxStatus = (wire) => bytes(wire.ask(cmd(2, 4, 1))).subarray(1, 14);

    it('inverter 0x003D: off / search / on change the operational mode and the AC output', () => {
      const { sim, wire } = make();
      let s = fxStatus(wire);
      assert.deepStrictEqual([s[6], s[4], s[8]], [2, 115, 0]); // inverting, 230 V out, no AC in
      assert.ok(s[11] & 0x01, '230 V flag');
      assert.strictEqual(wire.ask(cmd(2, 3, 0x003d, 0)), reply(0x03, 0, 0));
      s = fxStatus(wire);
      assert.deepStrictEqual([s[6], s[4], s[0]], [0, 0, 0]);
      assert.strictEqual(sim.fxState.inverter, 0);
      assert.strictEqual(sim.fxState.operationalMode, 0);
      wire.ask(cmd(2, 3, 0x003d, 1));
      assert.strictEqual(fxStatus(wire)[6], 1);
      wire.ask(cmd(2, 3, 0x003d, 2));
      assert.strictEqual(fxStatus(wire)[6], 2);
      assert.strictEqual(wire.ask(cmd(2, 2, 0x003d)), reply(0x02, 0, 2));
      // out of range: echoed, ignored, reads back unchanged
      assert.strictEqual(wire.ask(cmd(2, 3, 0x003d, 7)), reply(0x03, 0, 7));
      assert.strictEqual(wire.ask(cmd(2, 2, 0x003d)), reply(0x02, 0, 2));
    });

    it('with a grid: AC-in drop/use, charger off, EQ, aux', () => {
      const { sim, wire } = make({ devices: [{ port: 2, type: 'fx', grid: true, chargePhase: 'charge' }] });
      const controls = [];
      sim.on('control', (c) => controls.push([c.control, c.name]));
      let s = fxStatus(wire);
      assert.deepStrictEqual([s[8], s[6], s[3]], [2, 3, 115]); // AC use, charging, 230 V in
      assert.ok(s[1] > 0, 'charger current');
      wire.ask(cmd(2, 3, 0x003a, 0));
      s = fxStatus(wire);
      assert.deepStrictEqual([s[8], s[6]], [1, 2]); // AC drop: the inverter carries the load
      wire.ask(cmd(2, 3, 0x003a, 1));
      wire.ask(cmd(2, 3, 0x003c, 0));
      assert.strictEqual(fxStatus(wire)[6], 7); // charger off
      wire.ask(cmd(2, 3, 0x003c, 1));
      wire.ask(cmd(2, 3, 0x0038, 2));
      assert.strictEqual(fxStatus(wire)[6], 6); // EQ
      wire.ask(cmd(2, 3, 0x0038, 0));
      assert.strictEqual(fxStatus(wire)[6], 3);
      assert.strictEqual(fxStatus(wire)[11] & 0x80, 0);
      wire.ask(cmd(2, 3, 0x005a, 2));
      assert.strictEqual(fxStatus(wire)[11] & 0x80, 0x80); // aux on
      assert.deepStrictEqual(sim.fxState, {
        port: 2, inverter: 2, acIn: 1, charger: 1, aux: 2, eq: 0, operationalMode: 3, acMode: 2, auxOn: true,
      });
      assert.deepStrictEqual(controls, [
        ['acIn', 'drop'], ['acIn', 'use'], ['charger', 'off'], ['charger', 'auto'], ['eq', '2'], ['eq', 'off'], ['aux', 'on'],
      ]);
    });

    it('errors 0x0039 and warnings 0x0059 are status bytes 7 and 12', () => {
      const { sim, wire } = make();
      sim.fx().set({ errors: 0x08, warnings: 0x20 });
      const s = fxStatus(wire);
      assert.deepStrictEqual([s[7], s[12]], [0x08, 0x20]);
      assert.strictEqual(wire.ask(cmd(2, 2, 0x0039)), reply(0x02, 0, 0x08));
      assert.strictEqual(wire.ask(cmd(2, 2, 0x0059)), reply(0x02, 0, 0x20));
      sim.fx().unset('errors');
      assert.strictEqual(wire.ask(cmd(2, 2, 0x0039)), reply(0x02, 0, 0));
      assert.throws(() => sim.fx().set({ nonsense: 1 }), /no field/);
    });

    it('a 120 V unit carries volts and amps unscaled', () => {
      const { wire } = make({ devices: [{ port: 2, type: 'fx', is230V: false }] });
      const s = fxStatus(wire);
      assert.strictEqual(s[4], 120);
      assert.strictEqual(s[11] & 0x01, 0);
    });
  });

  describe('MX status and the day/night model', () => {
    it('Ah above 255 uses byte0 bits 6..4 (12-bit Ah) with bit 7 set', () => {
      const { sim, wire } = make();
      sim.mx().set({ ah: 1234, batteryCurrent: 12.3 });
      const p = bytes(wire.ask(cmd(1, 4, 1, 0xff))).subarray(1, 14);
      assert.strictEqual(p[0], 0x80 | (4 << 4) | 3);
      assert.strictEqual(p[4], 0xd2);
      assert.strictEqual(ownMx(p).ah, 1234);
      assert.strictEqual(ownMx(p).batteryCurrent, 12.3);
      sim.mx().set({ ah: 2048 });
      assert.throws(() => sim.mx().statusPage(1), RangeError);
      const errors = [];
      sim.on('deviceError', (e) => errors.push(e.error.message));
      assert.strictEqual(wire.ask(cmd(1, 4, 1, 0xff)), ''); // a reply that cannot be built is not sent
      assert.match(errors[0], /ah = 2048/);
    });

    it('a sunny day in a big system accumulates more than 255 Ah, encoded as such', () => {
      const now = Date.UTC(2024, 5, 10, 18, 0);
      const { sim, wire } = make({ now: () => now, seed: 3, system: { arrayWatts: 2500, capacityAh: 1500 } });
      const p = bytes(wire.ask(cmd(1, 4, 1, 0xff))).subarray(1, 14);
      const d = ownMx(p);
      assert.ok(d.ah > 255, `Ah ${d.ah}`);
      assert.strictEqual(d.ah, sim.mx().values().ah);
      assert.ok(d.ahFlag);
    });

    it('night: sleeping, no PV current; midday: charging with plausible values', () => {
      const night = make({ now: () => Date.UTC(2024, 5, 10, 3, 0) }).wire;
      let d = ownMx(bytes(night.ask(cmd(1, 4, 1, 0xff))).subarray(1, 14));
      assert.deepStrictEqual([d.chargerMode, d.pvCurrent, d.batteryCurrent], [0, 0, 0]);
      assert.ok(d.batteryVoltage > 22 && d.batteryVoltage < 27, `${d.batteryVoltage} V`);
      const noon = make({ now: () => Date.UTC(2024, 5, 10, 12, 0) }).wire;
      d = ownMx(bytes(noon.ask(cmd(1, 4, 1, 0xff))).subarray(1, 14));
      assert.ok(d.chargerMode >= 1 && d.chargerMode <= 3, `mode ${d.chargerMode}`);
      assert.ok(d.pvCurrent > 0 && d.batteryCurrent > 0);
      assert.ok(d.pvVoltage > d.batteryVoltage);
      // input power >= output power (an MPPT converts, it does not create energy)
      assert.ok(d.pvVoltage * (d.pvCurrent + 1) >= d.batteryVoltage * d.batteryCurrent);
      // registers say the same as the status page
      assert.strictEqual(bytes(noon.ask(cmd(1, 2, 0x01c8))).readUInt16BE(1), d.chargerMode);
      assert.strictEqual(bytes(noon.ask(cmd(1, 2, 0x0008))).readUInt16BE(1), Math.round(d.batteryVoltage * 10));
      assert.strictEqual(bytes(noon.ask(cmd(1, 2, 0x01ea))).readUInt16BE(1), Math.round(d.kwh * 10));
    });

    it('the injected clock drives the values; same clock and seed, same bytes', () => {
      let t = Date.UTC(2024, 5, 10, 9, 0);
      const { wire } = make({ now: () => t, seed: 9 });
      const a = wire.ask(cmd(1, 4, 1));
      t += 2 * 3600 * 1000;
      const b = wire.ask(cmd(1, 4, 1));
      assert.notStrictEqual(a, b);
      const again = make({ now: () => t, seed: 9 }).wire;
      assert.strictEqual(again.ask(cmd(1, 4, 1)), b);
      assert.strictEqual(again.ask(cmd(3, 4, 0x0c)), wire.ask(cmd(3, 4, 0x0c)));
    });
  });

  describe('MX log pages', () => {
    it('128 days back, deterministic from the seed, each with its day number', () => {
      const { wire } = make({ seed: 5 });
      const pages = [];
      for (let day = 0; day <= 128; day++) {
        const r = bytes(wire.ask(cmd(1, 0x16, 0, day)));
        assert.strictEqual(r.length, 17);
        assert.strictEqual(r[0], 0x16);
        const p = ownLog(r.subarray(1, 15));
        assert.strictEqual(p.day, day);
        assert.ok(p.batteryMin > 20 && p.batteryMin <= p.batteryMax && p.batteryMax < 32, JSON.stringify(p));
        assert.ok(p.peakPvVoltage >= 60 && p.peakPvVoltage < 100, JSON.stringify(p));
        if (p.ah > 20) {
          const volts = (p.kwh * 1000) / p.ah; // kWh / Ah is roughly the battery voltage
          assert.ok(volts > 20 && volts < 32, `day ${day}: ${p.kwh} kWh / ${p.ah} Ah`);
        }
        assert.ok(p.peakAmps <= 60 && p.peakKw < 2, JSON.stringify(p));
        pages.push(hex(r));
      }
      assert.ok(new Set(pages.map((p) => p.slice(3, 42))).size > 100, 'days differ');
      assert.strictEqual(wire.ask(cmd(1, 0x16, 0, 129)), pages[128]);
      assert.strictEqual(wire.ask(cmd(1, 0x16, 0, 300)), pages[128]);
      const same = make({ seed: 5 }).wire;
      for (const d of [1, 64, 128]) assert.strictEqual(same.ask(cmd(1, 0x16, 0, d)), pages[d]);
      const other = make({ seed: 6 }).wire;
      assert.notStrictEqual(other.ask(cmd(1, 0x16, 0, 64)), pages[64]);
    });

    it("yesterday's page is what today's page showed at midnight", () => {
      let t = Date.UTC(2024, 5, 10, 23, 59, 59, 999);
      const { wire } = make({ now: () => t, seed: 2 });
      const today = bytes(wire.ask(cmd(1, 0x16, 0, 0))).subarray(1, 14);
      t += 1;
      const yesterday = bytes(wire.ask(cmd(1, 0x16, 0, 1))).subarray(1, 14);
      assert.strictEqual(hex(today), hex(yesterday));
    });

    it('encodeLogPage is the inverse of the mate.md §9 table', () => {
      // the capture pages, decoded by this file's decoder, encode back to the same bytes
      const today = bytes('9F 39 64 01 55 00 00 00 59 C0 38 10 5C 00');
      assert.deepStrictEqual(ownLog(today), {
        peakAmps: 41.5, batteryMax: 27, kwh: 2.2, peakPvVoltage: 85, absorbMinutes: 0, floatMinutes: 0, ah: 89, batteryMin: 22.7, peakKw: 1.047, day: 0,
      });
      assert.strictEqual(hex(encodeLogPage(ownLog(today))), hex(today));
      const d127 = bytes('F1 BC 84 01 55 3C C0 1E 58 C0 3D 08 C2 7F');
      assert.deepStrictEqual(ownLog(d127), {
        peakAmps: 24.1, batteryMax: 30.3, kwh: 2.4, peakPvVoltage: 85, absorbMinutes: 60, floatMinutes: 492, ah: 88, batteryMin: 24.7, peakKw: 0.56, day: 127,
      });
      // byte 12 bits 1..0 are not in the table; they travel as reserved12
      assert.strictEqual(hex(encodeLogPage({ ...ownLog(d127), reserved12: d127[12] & 3 })), hex(d127));
      // any 14 bytes: decode then encode gives them back, and both decoders agree
      let x = 0x12345678;
      const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x & 0xff; };
      for (let i = 0; i < 500; i++) {
        const b = Buffer.from(Array.from({ length: 14 }, rnd));
        const d = decodeLogPage(b);
        const { reserved12, ...rest } = d;
        assert.deepStrictEqual(rest, ownLog(b));
        assert.strictEqual(reserved12, b[12] & 3);
        assert.strictEqual(hex(encodeLogPage(d)), hex(b));
      }
      // and encode then decode gives the fields back
      const f = { peakAmps: 55.5, batteryMax: 58.9, kwh: 12.3, peakPvVoltage: 140, absorbMinutes: 90, floatMinutes: 300, ah: 1500, batteryMin: 47.1, peakKw: 2.1, day: 42 };
      assert.deepStrictEqual(ownLog(encodeLogPage(f)), f);
    });

    it('encodeLogPage refuses what the table cannot carry', () => {
      const ok = { peakAmps: 1, batteryMax: 27, kwh: 1, peakPvVoltage: 80, absorbMinutes: 0, floatMinutes: 0, ah: 10, batteryMin: 24, peakKw: 0.56, day: 1 };
      assert.doesNotThrow(() => encodeLogPage(ok));
      assert.throws(() => encodeLogPage({ ...ok, peakAmps: 102.4 }), /peakAmps/);
      assert.throws(() => encodeLogPage({ ...ok, ah: 16384 }), /ah/);
      assert.throws(() => encodeLogPage({ ...ok, kwh: -1 }), /kwh/);
      // 0.9 kW needs byte 11 bits 1..0 = 10, which the table also reads as battery-min bits 11..10
      assert.throws(() => encodeLogPage({ ...ok, peakKw: 0.9 }), /byte 11/);
    });
  });

  describe('FLEXnet DC', () => {
    const block = (wire) => Buffer.concat([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f].map((p) => bytes(wire.ask(cmd(3, 4, p))).subarray(1, 14)));

    it('live pages are consistent: in - out = battery, for current, power, Ah and kWh', () => {
      for (const [h, seed] of [[3, 1], [9, 2], [12, 3], [15, 4], [20, 5]]) {
        const { wire } = make({ now: () => Date.UTC(2024, 5, 10, h, 17), seed });
        const d = ownDc(block(wire));
        const at = `${h}:17 seed ${seed}`;
        assert.strictEqual(d.inA - d.outA, d.batA, at);
        assert.strictEqual(d.inP - d.outP, d.batP, at);
        assert.strictEqual(d.inAh - d.outAh, d.batAh, at);
        assert.strictEqual(d.inKwh - d.outKwh, d.batKwh, at);
        assert.strictEqual(Math.round((d.a + d.b + d.c) * 10), d.batA, at);
        assert.ok(Math.abs(d.aPower - Math.round(d.a * d.volts / 10)) <= 1, at);
        assert.ok(d.soc >= d.minSoc && d.soc <= 100, at);
        assert.ok(d.netAh <= 0 && d.volts > 22 && d.volts < 30, at);
        assert.strictEqual(bytes(wire.ask(cmd(3, 2, 0x00d5))).readUInt16BE(1), d.soc, at);
        if (h === 3) assert.strictEqual(d.inA, 0, 'no charge at night');
      }
    });

    it('resetting today\'s maximum: 00FF written to 00EB answers 00FE', () => {
      const { wire } = make({ now: () => Date.UTC(2024, 5, 10, 19, 0) });
      const before = bytes(wire.ask(cmd(3, 2, 0x005a))).readUInt16BE(1);
      const volts = ownDc(block(wire)).volts;
      assert.ok(before >= Math.round(volts * 10));
      assert.strictEqual(wire.ask(cmd(3, 3, 0x00eb, 0x00ff)), '03 00 FE 01 01');
      assert.strictEqual(bytes(wire.ask(cmd(3, 2, 0x005a))).readUInt16BE(1), Math.round(volts * 10));
      assert.strictEqual(wire.ask(cmd(3, 3, 0x00ec, 0x00ff)), '03 00 FE 01 01');
      assert.strictEqual(bytes(wire.ask(cmd(3, 2, 0x0058))).readUInt16BE(1), Math.round(volts * 10));
    });

    it('the block layout: the value at B.12/C.0 straddles the pages', () => {
      const { sim, wire } = make();
      sim.dc().set({ outPower: 2.58 }); // 258 = 0x0102
      const b = bytes(wire.ask(cmd(3, 4, 0x0b)));
      const c = bytes(wire.ask(cmd(3, 4, 0x0c)));
      assert.strictEqual(b[13], 0x01); // B.12
      assert.strictEqual(c[1], 0x02); // C.0
    });
  });

  describe('over a pseudo-terminal with the MateBus client', () => {
    let MateBus;
    before(function () {
      try {
        ({ MateBus } = require('../../lib'));
      } catch (err) {
        MateBus = null;
        this.skipReason = err.message.split('\n')[0];
      }
      if (!MateBus) {
        console.log(`      (skipped: lib has no MateBus yet${this.skipReason ? `: ${this.skipReason}` : ''})`);
        this.skip();
      }
    });

    it('scan, status, log and sync round trips; rejected arguments send zero bytes', async () => {
      const sim = new MateSimulator({ preset: 'capture' });
      sims.push(sim);
      const srv = await mate.servePty(sim, {});
      let bus;
      try {
        bus = await MateBus.open(srv.path, { timeout: 150, retries: 0, allowControl: true });
        const found = await bus.scan();
        assert.deepStrictEqual(found.map((d) => [d.port, d.type]), [[0, 'hub'], [1, 'mx'], [2, 'fx'], [3, 'dc']]);
        assert.strictEqual((await bus.mx(1).getStatus()).raw, '89848900553f02001500fe02a8');
        assert.strictEqual((await bus.fx(2).getStatus()).raw, '00000003730004000201000900');
        const dc = await bus.dc(3).getStatus();
        assert.strictEqual(dc.raw.length, 156);
        assert.strictEqual(dc.raw.slice(0, 26), 'ffc8005b000001004cfff20017');
        assert.strictEqual(dc.raw.slice(130, 156), '000047ff88fee40f0000000000');
        const page = await bus.mx(1).getLogPage(-127);
        assert.strictEqual(page.raw, 'f1bc8401553cc01e58c03d08c27f');
        const echoed = await bus.writeRegister(1, 0x4004, 0x8da9);
        assert.strictEqual(echoed, 0x00a9);
        assert.deepStrictEqual([sim.time.hours, sim.time.minutes, sim.time.seconds], [17, 45, 18]);

        const received = sim.stats.bytesReceived;
        const commands = sim.stats.commands;
        await assert.rejects(bus.readRegister(11, 0), (e) => e.name === 'ValidationError' || e.code === 'EINVAL' || e.code === 'ERANGE');
        await assert.rejects(bus.writeRegister(1, 0x0018, 0x10000));
        await assert.rejects(bus.readRegister(1, -1));
        await sleep(30);
        assert.strictEqual(sim.stats.bytesReceived, received, 'no byte may reach the bus for a rejected call');
        assert.strictEqual(sim.stats.commands, commands);

        sim.setFault(2, 'silent', { times: 1 });
        await assert.rejects(bus.readRegister(2, 0), (e) => e.code === 'ETIMEDOUT');
        assert.strictEqual(await bus.readRegister(2, 0x003d), 2);
      } finally {
        if (bus) await bus.close();
        await srv.close();
      }
    });
  });

  describe('CLI: fieldlink simulate mate', () => {
    function runCli(args) {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'fieldlink.js'), 'simulate', 'mate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out = { stdout: '', stderr: '' };
      child.stdout.on('data', (d) => { out.stdout += d; });
      child.stderr.on('data', (d) => { out.stderr += d; });
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      return { child, out, exited };
    }

    it('bad options exit 2 with a message', async () => {
      const { out, exited } = runCli(['--devices', '1:toaster']);
      assert.deepStrictEqual(await exited, { code: 2, signal: null });
      assert.match(out.stderr, /TYPE must be mx, fx or dc/);
      const r2 = runCli(['--fault', '7:silent']);
      assert.strictEqual((await r2.exited).code, 2);
      assert.match(r2.out.stderr, /no device on port 7/);
    });

    it('prints the pty, serves it, and exits 0 on SIGTERM', async function () {
      let native = true;
      try { require('../../lib/native'); } catch { native = false; }
      if (!native) this.skip();
      const link = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fl-mate-')), 'mate');
      const { child, out, exited } = runCli(['--pty', link, '--preset', 'capture', '--devices', '1:mx,2:fx', '-q']);
      const t0 = Date.now();
      while (!out.stdout.includes('press Ctrl-C') && Date.now() - t0 < 5000) await sleep(20);
      assert.match(out.stdout, /pty \/dev\/pts\/\d+ \(link /);
      assert.match(out.stdout, /port 2 {2}fx/);
      assert.ok(fs.lstatSync(link).isSymbolicLink());
      child.kill('SIGTERM');
      assert.deepStrictEqual(await exited, { code: 0, signal: null });
      assert.doesNotMatch(out.stdout, /port 3/);
    });
  });
});
