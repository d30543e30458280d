'use strict';

// The M307 Temperature Guard simulator, checked over real TCP sockets with raw bytes.
// Expected bytes are literals written from docs/protocols/m307.md (the §11 vectors among them),
// or decoded here with a small BCD / packed-hour decoder of the test's own.

const assert = require('node:assert');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { M307Simulator, serveTcp, FAULT_MODES } = require('../../lib/sim/m307');

const ROOT = path.join(__dirname, '..', '..');

function bytes(h) {
  return Buffer.from(h.replace(/\s+/g, ''), 'hex');
}
function hex(buf) {
  return Buffer.from(buf).toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase();
}
/** n zero bytes as hex */
function Z(n) {
  return Array(n).fill('00').join(' ');
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A 60-byte request: the command, then data at offset 4 (hex) or { offset: hex|Buffer }. */
function req(cmd, data) {
  const b = Buffer.alloc(60);
  bytes(cmd).copy(b, 0);
  if (typeof data === 'string') bytes(data).copy(b, 4);
  else if (data) {
    for (const [off, v] of Object.entries(data)) (typeof v === 'string' ? bytes(v) : Buffer.from(v)).copy(b, Number(off));
  }
  return b;
}

const STATUS = req('3F CD DC 00');
const READ_CLOCK = req('DE CA DE 02');
const READ_LOG = req('DE CA DE 04', '00');
const READ_LOG_RESET = req('DE CA DE 04', '01');
const THE_END = '54 48 45 2D 45 4E 44';
const readRecord = (n) => req(`AA BB CC 0${n}`);
/** A write request carrying the data bytes 4..59 of a 60-byte record. */
const writeRecord = (n, record) => Buffer.concat([bytes(`DD CC BB 0${n}`), record.subarray(4, 60)]);
/** Store date/time: minutes, hour (BCD, 24 h), date, month, year, rate. */
const setClock = (mi, h, d, mo, y, rate) => req('DE CA DE 00', `00 ${mi} ${h} 00 ${d} ${mo} ${y} ${rate}`);

/** A raw TCP client that collects every byte it receives. */
class Client {
  constructor(socket) {
    this.socket = socket;
    this.rx = Buffer.alloc(0);
    this.chunks = [];
    this.ended = false;
    this.error = null;
    this.waiters = new Set();
    socket.on('data', (d) => {
      this.rx = Buffer.concat([this.rx, d]);
      this.chunks.push(d.length);
      this._wake();
    });
    socket.on('error', (e) => { this.error = e; });
    socket.on('close', () => {
      this.ended = true;
      this._wake();
    });
  }
  static connect(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }
  _wake() {
    for (const w of [...this.waiters]) w();
  }
  _wait(pred, ms) {
    return new Promise((resolve) => {
      if (pred()) { resolve(true); return; }
      const cleanup = () => { clearTimeout(t); this.waiters.delete(check); };
      const check = () => { if (pred()) { cleanup(); resolve(true); } };
      const t = setTimeout(() => { cleanup(); resolve(false); }, ms);
      this.waiters.add(check);
    });
  }
  send(b) {
    this.socket.write(typeof b === 'string' ? bytes(b) : b);
  }
  /** Exactly n bytes, or fewer if the connection ended / ms passed. */
  async read(n, ms = 2000) {
    await this._wait(() => this.rx.length >= n || this.ended, ms);
    const out = Buffer.from(this.rx.subarray(0, n));
    this.rx = this.rx.subarray(out.length);
    return out;
  }
  async transact(b, n = 60, ms = 2000) {
    this.rx = Buffer.alloc(0);
    this.chunks = [];
    this.send(b);
    return this.read(n, ms);
  }
  /** Whatever arrives within ms (and was not read yet). */
  async quiet(ms = 150) {
    await sleep(ms);
    const out = this.rx;
    this.rx = Buffer.alloc(0);
    return out;
  }
  closed(ms = 1000) {
    return this._wait(() => this.ended, ms);
  }
  close() {
    this.socket.destroy();
  }
}

// ---- an independent decoder for timestamps (docs/protocols/m307.md §8) --------------------------

function bcd(b) {
  const hi = b >> 4;
  const lo = b & 0x0f;
  assert.ok(hi <= 9 && lo <= 9, `not BCD: 0x${b.toString(16)}`);
  return hi * 10 + lo;
}
function hour24(b) {
  assert.strictEqual(b & 0xc0, 0x40, `hour byte 0x${b.toString(16)} is not in 12-hour mode`);
  const h12 = bcd(b & 0x1f);
  assert.ok(h12 >= 1 && h12 <= 12, `12-hour value ${h12}`);
  return (h12 % 12) + (b & 0x20 ? 12 : 0);
}
/** A log record's timestamp as UTC ms (the device clock has no zone) and its day of week. */
function recordTime(r) {
  const ms = Date.UTC(2000 + bcd(r[5]), bcd(r[4]) - 1, bcd(r[3]), hour24(r[1]), bcd(r[0]));
  return { ms, dow: bcd(r[2]) };
}

describe('M307 Temperature Guard simulator (lib/sim/m307)', function () {
  this.timeout(10000);

  const open = [];
  /** Simulator on a fake clock, served on a free port, with one client. */
  async function start(simOpts = {}) {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const sim = new M307Simulator({
      now: () => clock.t,
      clock: '2024-02-29 12:34:56',
      ...simOpts, // drift is off by default: readings are exactly what was set
    });
    const srv = await serveTcp(sim, { host: '127.0.0.1', port: 0 });
    const entry = { sim, srv, clients: [] };
    open.push(entry);
    const client = await Client.connect(srv.port);
    entry.clients.push(client);
    await waitFor(() => sim.clients() === 1);
    const extra = async () => {
      const c = await Client.connect(srv.port);
      entry.clients.push(c);
      return c;
    };
    return { sim, srv, client, clock, extra };
  }
  async function waitFor(pred, ms = 2000) {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error('condition not met in time');
      await sleep(5);
    }
  }
  afterEach(async () => {
    while (open.length) {
      const o = open.pop();
      o.clients.forEach((c) => c.close());
      await o.srv.close();
      o.sim.close();
    }
  });

  const VECTORS = { temp1: 30.5, temp2: 'no-sensor', internal: 'open', humidity: 54.6 };

  describe('read status (3F CD DC 00)', () => {
    it('answers the m307.md §11 vectors byte for byte', async () => {
      const { client } = await start({ readings: VECTORS, battery: 2.41 });
      assert.strictEqual(hex(await client.transact(STATUS)),
        '3F CD DC 00 01 31 00 00 00 03 E8 00 00 00 03 E7 00 00 00 02 22 00 00 00 '
        + `00 01 00 00 00 00 01 00 00 00 04 00 F1 ${Z(21)} 0A 43`);
      assert.strictEqual(hex(await client.quiet(60)), '', 'exactly 60 bytes');
    });

    it('shorted probe FC 19, failed humidity 03 E7, mains off 00, an open door reads 00 00', async () => {
      const { sim, client } = await start({ readings: VECTORS, battery: 2.41 });
      sim.setReading('internal', 'shorted');
      sim.setReading('humidity', 'failed');
      sim.setPower(false);
      sim.setDoor(2, 'open');
      const r = await client.transact(STATUS);
      assert.strictEqual(hex(r.subarray(14, 16)), 'FC 19');
      assert.strictEqual(hex(r.subarray(19, 21)), '03 E7');
      assert.strictEqual(r[34], 0x00);
      assert.strictEqual(hex(r.subarray(24, 34)), '00 01 00 00 00 00 00 00 00 00');
      sim.setBattery(3.3);
      sim.setReading('temp2', { raw: -205 });
      const r2 = await client.transact(STATUS);
      assert.strictEqual(hex(r2.subarray(35, 37)), '01 4A');
      assert.strictEqual(hex(r2.subarray(9, 11)), 'FF 33');
    });

    it('1-degree units: byte 58 = 01 and whole degrees; unit F from user record 1 byte 28', async () => {
      const { sim, client } = await start({ readings: { temp1: 30, temp2: -20, internal: 22.3, humidity: 54.6 }, resolution: 1 });
      let r = await client.transact(STATUS);
      assert.strictEqual(hex(r.subarray(4, 6)), '00 1E');
      assert.strictEqual(hex(r.subarray(9, 11)), 'FF EC');
      assert.strictEqual(hex(r.subarray(14, 16)), '00 16');
      assert.strictEqual(hex(r.subarray(19, 21)), '02 22'); // humidity is always x10
      assert.strictEqual(hex(r.subarray(58, 60)), '01 43');

      sim.setResolution(0.1);
      sim.setReading('temp1', 30.5);
      const rec1 = await client.transact(readRecord(1));
      rec1[28] = 0x46; // 'F'
      assert.strictEqual((await client.transact(writeRecord(1, rec1)))[28], 0x46);
      r = await client.transact(STATUS);
      assert.strictEqual(hex(r.subarray(4, 6)), '03 65'); // 30.5 C = 86.9 F
      assert.strictEqual(hex(r.subarray(9, 11)), 'FF D8'); // -20 C = -4.0 F
      assert.strictEqual(hex(r.subarray(58, 60)), '0A 46');
    });
  });

  describe('user records (AA BB CC 0n / DD CC BB 0n)', () => {
    it('record 1 holds the factory identification', async () => {
      const { client } = await start();
      const expected = Buffer.alloc(60);
      bytes('AA BB CC 01').copy(expected, 0);
      expected.write('M307 Simulator', 8, 'ascii');
      expected[28] = 0x43;
      expected.write('00:20:4A:3D:07:01', 29, 'ascii');
      expected[49] = 0xff;
      expected.write('M307000001', 50, 'ascii');
      assert.strictEqual(hex(await client.transact(readRecord(1))), hex(expected));
    });

    it('names are empty, limits zero and undocumented bytes 0xFF from the factory', async () => {
      const { client } = await start();
      assert.strictEqual(hex(await client.transact(readRecord(0))), `AA BB CC 00 ${Z(43)} ${Array(13).fill('FF').join(' ')}`);
      for (const n of [2, 3, 5]) {
        assert.strictEqual(hex(await client.transact(readRecord(n))), `AA BB CC 0${n} ${Z(44)} ${Array(12).fill('FF').join(' ')}`);
      }
      assert.strictEqual(hex(await client.transact(readRecord(4))), `AA BB CC 04 ${Z(4)} 00 00 01 00 ${Array(48).fill('FF').join(' ')}`);
    });

    it('a write answers with the READ command and the stored data, for every record 0..5', async () => {
      const { client } = await start();
      for (let n = 0; n <= 5; n++) {
        const rec = Buffer.alloc(60);
        for (let i = 4; i < 60; i++) rec[i] = (i * 7 + n) & 0xff;
        const reply = await client.transact(writeRecord(n, rec));
        assert.strictEqual(hex(reply.subarray(0, 4)), `AA BB CC 0${n}`);
        assert.strictEqual(hex(reply.subarray(4)), hex(rec.subarray(4)));
        assert.strictEqual(hex(await client.transact(readRecord(n))), hex(reply));
      }
    });

    it('record 2 round trip: names written, read back, nothing else changed', async () => {
      const { client } = await start();
      const rec = await client.transact(readRecord(2));
      rec.write('Freezer probe', 8, 'ascii');
      rec.write('Ambient', 28, 'ascii');
      const reply = await client.transact(writeRecord(2, rec));
      assert.strictEqual(hex(reply), hex(rec));
      assert.strictEqual(reply.subarray(8, 21).toString('ascii'), 'Freezer probe');
      assert.strictEqual(hex(reply.subarray(48)), Array(12).fill('FF').join(' '));
      assert.strictEqual(hex(await client.transact(readRecord(2))), hex(rec));
    });

    it('record 0 write-then-read keeps undocumented bytes, password bytes and byte 44 as sent', async () => {
      const { client } = await start();
      const rec = await client.transact(readRecord(0));
      bytes('41 42 43 44').copy(rec, 4); // "password, not implemented"
      bytes('FF 38 00 32 00 0F').copy(rec, 8); // temp1 -200 .. 50, 15 min
      rec[44] = 0x5a;
      rec[45] = 1;
      rec[46] = 2;
      for (let i = 47; i < 60; i++) rec[i] = i - 46; // 01 .. 0D
      const reply = await client.transact(writeRecord(0, rec));
      assert.strictEqual(hex(reply),
        `AA BB CC 00 41 42 43 44 FF 38 00 32 00 0F ${Z(30)} 5A 01 02 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D`);
      assert.strictEqual(hex(await client.transact(readRecord(0))), hex(reply));
    });

    it('stores whatever is sent, without validation (unit byte 0x4F, all-FF settings)', async () => {
      const { client } = await start();
      const rec1 = await client.transact(readRecord(1));
      rec1[28] = 0x4f; // the guide's typo for 'F'
      assert.strictEqual((await client.transact(writeRecord(1, rec1)))[28], 0x4f);
      assert.strictEqual((await client.transact(STATUS))[59], 0x43, "anything but 'F' reports 'C'");
      const rec4 = Buffer.alloc(60, 0xff);
      assert.strictEqual(hex(await client.transact(writeRecord(4, rec4))), `AA BB CC 04 ${Array(56).fill('FF').join(' ')}`);
    });

    it('calibration (m307.md §6): CF -2 is stored as FF FE at offset 36 and applied to sensor 1', async () => {
      const { client } = await start({ readings: { temp1: 32.7, temp2: 'open', internal: 22.3, humidity: 54.6 } });
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 6)), '01 47'); // 32.7
      const rec = await client.transact(readRecord(0));
      rec.writeInt16BE(-2, 36); // sensor 1
      rec.writeInt16BE(10, 38); // sensor 2: +1.0, but sensor 2 is open
      rec.writeInt16BE(5, 40); // internal: +0.5
      rec.writeInt16BE(-15, 42); // humidity: -1.5
      const reply = await client.transact(writeRecord(0, rec));
      assert.strictEqual(hex(reply.subarray(36, 44)), 'FF FE 00 0A 00 05 FF F1');
      const st = await client.transact(STATUS);
      assert.strictEqual(hex(st.subarray(4, 6)), '01 45'); // 32.5
      assert.strictEqual(hex(st.subarray(9, 11)), '03 E7'); // special values are not corrected
      assert.strictEqual(hex(st.subarray(14, 16)), '00 E4'); // 22.8
      assert.strictEqual(hex(st.subarray(19, 21)), '02 13'); // 53.1
    });
  });

  describe('clock (DE CA DE 00 / DE CA DE 02)', () => {
    it('store answers with a 60-byte echo; read gives seconds binary, packed hour, BCD date', async () => {
      const { client, clock } = await start();
      const set = setClock('34', '12', '29', '02', '24', '0A');
      assert.strictEqual(hex(await client.transact(set)), hex(set));
      assert.strictEqual(hex(await client.transact(READ_CLOCK)), `DE CA DE 02 00 34 72 05 29 02 24 0A 00 00 ${Z(46)}`);
      clock.t += 59000;
      // seconds 59 in plain binary is 3B (BCD would be 59)
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(4, 12)), '3B 34 72 05 29 02 24 0A');
      clock.t += 1000;
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(4, 7)), '00 35 72');
    });

    it('packed hour: 72 = 12 PM, 52 = 12 AM, 65 = 5 PM, 48 = 8 AM, 51 = 11 AM, 71 = 11 PM', async () => {
      const { client } = await start();
      for (const [h, b] of [['12', '72'], ['00', '52'], ['17', '65'], ['08', '48'], ['11', '51'], ['23', '71']]) {
        await client.transact(setClock('05', h, '01', '06', '25', '05'));
        const r = await client.transact(READ_CLOCK);
        assert.strictEqual(hex(r.subarray(5, 7)), `05 ${b}`, `hour ${h}`);
      }
    });

    it('runs on through midnight and the new year; day of week 1 = Sunday', async () => {
      const { client, clock } = await start();
      await client.transact(setClock('59', '23', '31', '12', '24', '3C'));
      // 2024-12-31 is a Tuesday (3)
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(4, 12)), '00 59 71 03 31 12 24 3C');
      clock.t += 60000;
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(4, 12)), '00 00 52 04 01 01 25 3C');
      clock.t += 4 * 86400000;
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(7, 9)), '01 05'); // Sunday 5 Jan
    });

    it('an impossible date leaves the clock alone but stores the log interval; optional BCD seconds', async () => {
      const { client, clock } = await start({ secondsEncoding: 'bcd' });
      const bad = setClock('10', '10', '30', '02', '24', '0F'); // 30 February
      assert.strictEqual(hex(await client.transact(bad)), hex(bad));
      clock.t += 3000;
      // 12:34:56 + 3 s, seconds in BCD this time
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(4, 12)), '59 34 72 05 29 02 24 0F');
    });
  });

  describe('log (DE CA DE 04)', () => {
    const LOGGED = { temp1: 30.5, temp2: 'no-sensor', internal: 22.3, humidity: 54.6 };
    const VALUES = '01 31 03 E8 00 DF 02 22';
    const logOpts = {
      readings: LOGGED, clock: '2024-02-29 12:00:30', logRate: 1, logRecords: 3, logStart: '2024-02-29 11:58', logHistory: 'flat',
    };

    it('streams 15-byte records then THE-END, with no echo; reset pointer and incremental reads', async () => {
      const { sim, client, clock } = await start(logOpts);
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(11, 14)), '01 00 03');
      const first = `58 51 05 29 02 24 ${VALUES} 07 59 51 05 29 02 24 ${VALUES} 07 00 72 05 29 02 24 ${VALUES} 07`;
      assert.strictEqual(hex(await client.transact(READ_LOG_RESET, 3 * 15 + 7)), `${first} ${THE_END}`);
      assert.strictEqual(hex(await client.quiet(60)), '');
      // without reset: only what was logged since the last read
      assert.strictEqual(hex(await client.transact(READ_LOG, 7)), THE_END);
      clock.t += 60000; // 12:01:30: one record at 12:01
      assert.strictEqual(hex(await client.transact(READ_LOG, 15 + 7)), `01 72 05 29 02 24 ${VALUES} 07 ${THE_END}`);
      sim.setDoor(1, 'open');
      sim.setPower(false);
      clock.t += 60000; // 12:02: door 1 open (bit0 clear), door 2 closed (bit1), mains off (bit2 clear)
      assert.strictEqual(hex(await client.transact(READ_LOG, 15 + 7)), `02 72 05 29 02 24 ${VALUES} 02 ${THE_END}`);
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(12, 14)), '00 05');
      const all = await client.transact(READ_LOG_RESET, 5 * 15 + 7);
      assert.strictEqual(hex(all.subarray(0, 45)), first);
      assert.strictEqual(hex(all.subarray(75)), THE_END);
      assert.strictEqual(hex(await client.quiet(60)), '');
      assert.strictEqual(sim.stats.byCommand.readLog, 5);
    });

    it('logEcho: true sends the 60-byte request echo before the stream', async () => {
      const { client } = await start({ ...logOpts, logEcho: true });
      const r = await client.transact(READ_LOG_RESET, 60 + 45 + 7);
      assert.strictEqual(hex(r.subarray(0, 60)), hex(READ_LOG_RESET));
      assert.strictEqual(hex(r.subarray(60, 75)), `58 51 05 29 02 24 ${VALUES} 07`);
      assert.strictEqual(hex(r.subarray(105)), THE_END);
    });

    it('an empty log is just THE-END; a log interval of 0 logs nothing', async () => {
      const { client, clock } = await start({ logRate: 0 });
      assert.strictEqual(hex(await client.transact(READ_LOG_RESET, 7)), THE_END);
      clock.t += 3600000;
      assert.strictEqual(hex(await client.transact(READ_LOG_RESET, 7)), THE_END);
      assert.strictEqual(hex(await client.quiet(60)), '');
    });

    it('setting the clock moves the logging schedule: next record one interval after the minute set', async () => {
      const { client, clock } = await start({ readings: LOGGED });
      await client.transact(setClock('10', '08', '15', '03', '24', '02')); // 2024-03-15 08:10, every 2 min
      clock.t += 119000;
      assert.strictEqual(hex(await client.transact(READ_LOG_RESET, 7)), THE_END);
      clock.t += 1000; // 08:12:00
      assert.strictEqual(hex(await client.transact(READ_LOG, 22)), `12 48 06 15 03 24 ${VALUES} 07 ${THE_END}`);
    });

    it('downloads 4000 plausible records (60,007 bytes) ending with THE-END on a record boundary', async () => {
      const { client, clock } = await start({ seed: 42, logRecords: 4000, logRate: 5 }); // plausible history
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(11, 14)), '05 0F A0');
      const stream = await client.transact(READ_LOG_RESET, 60007, 5000);
      assert.strictEqual(stream.length, 60007);
      assert.strictEqual(stream.subarray(60000).toString('latin1'), 'THE-END');
      assert.strictEqual(hex(await client.quiet(60)), '');
      let prev = null;
      const temps = new Set();
      for (let i = 0; i < 4000; i++) {
        const r = stream.subarray(i * 15, i * 15 + 15);
        const { ms, dow } = recordTime(r);
        assert.strictEqual(dow, new Date(ms).getUTCDay() + 1, `record ${i} day of week`);
        if (prev != null) assert.strictEqual(ms - prev, 300000, `record ${i} follows 5 min after the previous one`);
        prev = ms;
        const t1 = r.readInt16BE(6);
        const t2 = r.readInt16BE(8);
        const ti = r.readInt16BE(10);
        const rh = r.readInt16BE(12);
        assert.ok(t1 > 20 && t1 < 65, `probe 1 ${t1}`);
        assert.ok(t2 > -200 && t2 < -170, `probe 2 ${t2}`);
        assert.ok(ti > 190 && ti < 260, `internal ${ti}`);
        assert.ok(rh > 380 && rh < 520, `humidity ${rh}`);
        assert.strictEqual(r[14] & 0xf8, 0);
        temps.add(t1);
      }
      assert.ok(temps.size > 10, 'readings vary');
      // the last record falls on the current minute: 2024-02-29 12:34
      assert.strictEqual(prev, Date.UTC(2024, 1, 29, 12, 34));

      // circular: ten more records push the ten oldest out; the count stays at 4000
      clock.t += 10 * 300000;
      assert.strictEqual(hex((await client.transact(READ_CLOCK)).subarray(12, 14)), '0F A0');
      const again = await client.transact(READ_LOG_RESET, 60007, 5000);
      assert.strictEqual(hex(again.subarray(0, 15 * 3990)), hex(stream.subarray(150, 60000)));
      assert.strictEqual(recordTime(again.subarray(59985, 60000)).ms, Date.UTC(2024, 1, 29, 13, 24));
      assert.strictEqual(again.subarray(60000).toString('latin1'), 'THE-END');
    });

    it('a read without reset after the ring wrapped starts at the oldest record still held', async () => {
      const { client, clock } = await start({ ...logOpts, logRecords: 0, logCapacity: 4 });
      clock.t += 2 * 60000; // 12:01, 12:02
      assert.strictEqual((await client.transact(READ_LOG, 2 * 15 + 7)).length, 37);
      clock.t += 6 * 60000; // 12:03 .. 12:08: six more, only four are held
      const r = await client.transact(READ_LOG, 4 * 15 + 7);
      assert.strictEqual(hex(r.subarray(0, 2)), '05 72');
      assert.strictEqual(hex(r.subarray(45, 47)), '08 72');
      assert.strictEqual(hex(r.subarray(60)), THE_END);
    });
  });

  describe('alarms', () => {
    it('a sensor out of limits counts minutes but alarms only once named, and only after its delay', async () => {
      const { sim, client, clock } = await start({ readings: { temp1: 30.5, temp2: 'open', internal: 22.3, humidity: 54.6 } });
      const rec0 = await client.transact(readRecord(0));
      bytes('FF 9C 00 FA 00 02').copy(rec0, 8); // temp1 -10.0 .. 25.0, 2 min
      await client.transact(writeRecord(0, rec0));
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), '01 31 00 00 00');
      clock.t += 3 * 60000;
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), '01 31 00 03 00', 'no name: no alarm');
      const rec2 = await client.transact(readRecord(2));
      rec2.write('Freezer', 8, 'ascii');
      rec2.write('Ambient', 28, 'ascii');
      await client.transact(writeRecord(2, rec2));
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), '01 31 00 03 01');
      sim.setReading('temp1', 20.0);
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), '00 C8 00 00 00');
      sim.setReading('temp1', -12.5);
      clock.t += 2 * 60000;
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), 'FF 83 00 02 00', 'exactly the delay: not yet');
      clock.t += 1000;
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), 'FF 83 00 02 01');
      // sensor 2 is named too, but has no limits: never out of limits
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(9, 14)), '03 E7 00 00 00');
    });

    it('delay 0 alarms as soon as time has passed; a name alone or limits alone arm nothing', async () => {
      const { sim, client, clock } = await start({ readings: { temp1: 4, temp2: 5, internal: 22.3, humidity: 54.6 } });
      sim.setLimits('humidity', { lower: 300, upper: 500, delay: 0 });
      sim.setName('internal', 'Room');
      sim.setLimits('temp2', { lower: -50, upper: 40 });
      clock.t += 5 * 60000;
      let st = await client.transact(STATUS);
      assert.strictEqual(hex(st.subarray(9, 24)), '00 32 00 05 00 00 DF 00 00 00 02 22 00 05 00');
      sim.setName('humidity', 'Room RH');
      st = await client.transact(STATUS);
      assert.strictEqual(hex(st.subarray(19, 24)), '02 22 00 05 01');
      // writing the limits back to zero disarms it and stops the count
      const rec0 = await client.transact(readRecord(0));
      rec0.fill(0, 26, 32);
      await client.transact(writeRecord(0, rec0));
      st = await client.transact(STATUS);
      assert.strictEqual(hex(st.subarray(19, 24)), '02 22 00 00 00');
    });

    it("'whole' limit units compare whole degrees on 0.1-degree units", async () => {
      const { sim, client, clock } = await start({ limitUnits: 'whole', readings: { temp1: 5.5, temp2: 'no-sensor', internal: 22.3, humidity: 54.6 } });
      sim.setName('temp1', 'Fridge');
      sim.setLimits('temp1', { lower: 2, upper: 5, delay: 1 }); // the client README's style
      clock.t += 61000;
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), '00 37 00 01 01');
      sim.setReading('temp1', 4.9);
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), '00 31 00 00 00');
    });

    it('doors: minutes open always count; the alarm needs a name and a delay; minutes are uint16', async () => {
      const { sim, client, clock } = await start();
      const rec0 = await client.transact(readRecord(0));
      bytes('00 01 00 01').copy(rec0, 32); // both doors 1 min
      await client.transact(writeRecord(0, rec0));
      const rec3 = await client.transact(readRecord(3));
      rec3.write('Main door', 8, 'ascii');
      await client.transact(writeRecord(3, rec3));
      sim.setDoor(1, 'open');
      sim.setDoor(2, 'open');
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(24, 34)), '00 00 00 00 00 00 00 00 00 00');
      clock.t += 61000;
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(24, 34)), '00 00 00 01 01 00 00 00 01 00');
      clock.t += 40000 * 60000; // 40001 minutes: above 32767, so unsigned
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(24, 34)), '00 00 9C 41 01 00 00 9C 41 00');
      sim.setDoor(1, 'closed');
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(24, 29)), '00 01 00 00 00');
    });
  });

  describe('framing', () => {
    it('assembles a 60-byte request split over several TCP segments', async () => {
      const { client } = await start({ readings: VECTORS, battery: 2.41 });
      client.send(STATUS.subarray(0, 1));
      await sleep(15);
      client.send(STATUS.subarray(1, 4));
      await sleep(15);
      client.send(STATUS.subarray(4, 24));
      assert.strictEqual(hex(await client.quiet(50)), '', 'nothing before the 60th byte');
      client.send(STATUS.subarray(24));
      const r = await client.read(60);
      assert.strictEqual(hex(r.subarray(0, 6)), '3F CD DC 00 01 31');
    });

    it('two requests in one segment, and one request across two: answered in order', async () => {
      const { client } = await start();
      client.send(Buffer.concat([STATUS, readRecord(1), READ_CLOCK.subarray(0, 30)]));
      const r = await client.read(120);
      assert.strictEqual(hex(r.subarray(0, 4)), '3F CD DC 00');
      assert.strictEqual(hex(r.subarray(60, 64)), 'AA BB CC 01');
      assert.strictEqual(hex(await client.quiet(50)), '');
      client.send(READ_CLOCK.subarray(30));
      assert.strictEqual(hex((await client.read(60)).subarray(0, 4)), 'DE CA DE 02');
    });

    it('unknown commands get no reply, and the next request is still in step', async () => {
      const { sim, client } = await start();
      for (const cmd of ['AA BB CC 06', 'DD CC BB 07', '3F CD DC 01', 'DE CA DE 01', '00 00 00 00']) {
        assert.strictEqual(hex(await client.transact(req(cmd), 1, 150)), '', cmd);
      }
      assert.strictEqual(sim.stats.byCommand.unknown, 5);
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(0, 4)), '3F CD DC 00');
    });

    it('an incomplete request waits for its remaining bytes (by default) or is dropped after partialTimeoutMs', async () => {
      const { client } = await start();
      client.send(Buffer.alloc(10, 0x11));
      await sleep(60);
      // the 10 stray bytes and the first 50 of the status request make an unknown command
      assert.strictEqual(hex(await client.transact(STATUS, 1, 150)), '');

      const b = await start({ partialTimeoutMs: 30 });
      const seen = [];
      b.sim.on('discard', (d) => seen.push(hex(d.bytes)));
      b.client.send(Buffer.alloc(10, 0x11));
      await sleep(80);
      assert.deepStrictEqual(seen, [Array(10).fill('11').join(' ')]);
      assert.strictEqual(hex((await b.client.transact(STATUS)).subarray(0, 4)), '3F CD DC 00');
      assert.strictEqual(b.sim.stats.bytesDiscarded, 10);
    });
  });

  describe('fault modes', () => {
    it('lists the modes', () => {
      assert.deepStrictEqual([...FAULT_MODES].sort(),
        ['drop', 'garbage', 'refuse-second', 'silent', 'slow', 'split', 'verify-mismatch']);
      const sim = new M307Simulator({ drift: false });
      assert.deepStrictEqual(sim.faults(), [{ mode: 'refuse-second' }]);
      assert.throws(() => sim.setFault('flaky'), /unknown fault mode/);
      assert.throws(() => sim.setFault('split', { segment: 0 }), /split segment/);
    });

    it('split: the reply comes in segments of opts.segment bytes', async () => {
      const { sim, client } = await start({ readings: VECTORS, battery: 2.41, logRecords: 2, logRate: 1 });
      const clean = hex(await client.transact(STATUS));
      assert.deepStrictEqual(client.chunks, [60]);
      sim.setFault('split', { segment: 7, gapMs: 15 });
      assert.strictEqual(hex(await client.transact(STATUS)), clean);
      assert.ok(client.chunks.length >= 5, `arrived in ${client.chunks.length} piece(s): ${client.chunks}`);
      assert.strictEqual(client.chunks.reduce((a, b) => a + b, 0), 60);
      // the log stream is split too
      const r = await client.transact(READ_LOG_RESET, 37);
      assert.strictEqual(hex(r.subarray(30)), THE_END);
      assert.ok(client.chunks.length >= 3, `${client.chunks}`);
    });

    it('slow: nothing for opts.delayMs, then the whole reply', async () => {
      const { sim, client } = await start();
      sim.setFault('slow', { delayMs: 250 });
      const t0 = Date.now();
      client.send(STATUS);
      assert.strictEqual(hex(await client.quiet(150)), '');
      const r = await client.read(60);
      assert.strictEqual(hex(r.subarray(0, 4)), '3F CD DC 00');
      assert.ok(Date.now() - t0 >= 245, `answered after ${Date.now() - t0} ms`);
    });

    it('slow + split together, and times: N requests only', async () => {
      const { sim, client } = await start();
      sim.setFault('slow', { delayMs: 100, times: 1 });
      sim.setFault('split', { segment: 20, gapMs: 20, times: 1 });
      const t0 = Date.now();
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(0, 4)), '3F CD DC 00');
      assert.ok(Date.now() - t0 >= 130, `took ${Date.now() - t0} ms`);
      assert.ok(client.chunks.length >= 2, `${client.chunks}`);
      assert.deepStrictEqual(sim.faults(), [{ mode: 'refuse-second' }]);
      await client.transact(STATUS);
      assert.deepStrictEqual(client.chunks, [60]);
    });

    it('drop: opts.afterBytes bytes, then the connection is closed; a new client is served', async () => {
      const { sim, srv, client } = await start();
      sim.setFault('drop', { afterBytes: 25, times: 1 });
      const r = await client.transact(STATUS, 60, 1000);
      assert.strictEqual(r.length, 25);
      assert.strictEqual(hex(r.subarray(0, 4)), '3F CD DC 00');
      assert.ok(await client.closed(), 'connection closed');
      assert.strictEqual(sim.stats.dropped, 1);
      await waitFor(() => sim.clients() === 0);
      const c2 = await Client.connect(srv.port);
      open[open.length - 1].clients.push(c2);
      assert.strictEqual((await c2.transact(STATUS)).length, 60);
    });

    it('drop in the middle of a log download', async () => {
      const { sim, client } = await start({ logRecords: 100, logRate: 1 });
      sim.setFault('drop', { afterBytes: 700 });
      const r = await client.transact(READ_LOG_RESET, 100 * 15 + 7, 1000);
      assert.strictEqual(r.length, 700);
      assert.ok(await client.closed());
    });

    it('silent: no reply and the request is not executed', async () => {
      const { sim, client } = await start();
      sim.setFault('silent');
      const rec = Buffer.alloc(60, 0x33);
      assert.strictEqual(hex(await client.transact(writeRecord(2, rec), 1, 200)), '');
      assert.strictEqual(hex(await client.transact(STATUS, 1, 200)), '');
      assert.strictEqual(sim.stats.requests, 2);
      sim.clearFault();
      assert.strictEqual(hex(await client.transact(readRecord(2))), `AA BB CC 02 ${Z(44)} ${Array(12).fill('FF').join(' ')}`);
    });

    it('verify-mismatch: the write reply differs from what was sent (and so does a read-back)', async () => {
      const { sim, client } = await start();
      sim.setFault('verify-mismatch', { times: 1 });
      const rec = await client.transact(readRecord(2));
      rec.write('Probe A', 8, 'ascii');
      const reply = await client.transact(writeRecord(2, rec));
      assert.strictEqual(hex(reply.subarray(0, 4)), 'AA BB CC 02');
      const diff = [];
      for (let i = 4; i < 60; i++) if (reply[i] !== rec[i]) diff.push(i);
      assert.deepStrictEqual(diff, [8]);
      assert.strictEqual(reply[8], 'P'.charCodeAt(0) ^ 0x01);
      assert.strictEqual(hex(await client.transact(readRecord(2))), hex(reply));
      // the read before the write did not use up "times: 1"; the write did, so this one is clean
      assert.strictEqual(hex(await client.transact(writeRecord(2, rec))), hex(rec));
      sim.setFault('verify-mismatch', { offset: 59, xor: 0xff });
      assert.strictEqual((await client.transact(writeRecord(2, rec)))[59], rec[59] ^ 0xff);
    });

    it('garbage: 60 random bytes that do not start with the command', async () => {
      const { sim, client } = await start({ seed: 7 });
      sim.setFault('garbage');
      const r = await client.transact(STATUS);
      assert.strictEqual(r.length, 60);
      assert.notStrictEqual(hex(r.subarray(0, 4)), '3F CD DC 00');
      assert.ok(new Set(r).size > 20, 'looks random');
      assert.strictEqual(hex(await client.quiet(50)), '');
      const log = await client.transact(READ_LOG_RESET, 60);
      assert.strictEqual(log.length, 60);
      assert.notStrictEqual(hex(log.subarray(0, 4)), 'DE CA DE 04');
      assert.strictEqual(hex(await client.quiet(50)), '', 'no stream after the garbage');
      sim.clearFault('garbage');
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(0, 4)), '3F CD DC 00');
    });

    it('refuse-second (default): a second client is accepted and closed at once, its bytes unseen', async () => {
      const { sim, client, extra } = await start();
      const second = await extra();
      second.send(STATUS);
      assert.ok(await second.closed(), 'second client closed');
      assert.strictEqual(second.rx.length, 0);
      assert.strictEqual(sim.stats.refused, 1);
      assert.strictEqual(sim.stats.connections, 1);
      assert.strictEqual(sim.stats.bytesReceived, 0);
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(0, 4)), '3F CD DC 00');
      client.close();
      await waitFor(() => sim.clients() === 0);
      const third = await extra();
      assert.strictEqual(hex((await third.transact(STATUS)).subarray(0, 4)), '3F CD DC 00');
      assert.strictEqual(sim.stats.connections, 2);
    });

    it('refuse-second with reset: the second client sees ECONNRESET', async () => {
      const { sim, srv } = await start();
      sim.setFault('refuse-second', { reset: true });
      const s = net.connect(srv.port, '127.0.0.1');
      const outcome = await new Promise((resolve) => {
        s.on('error', (e) => resolve(e.code));
        s.on('close', () => resolve('closed without an error'));
      });
      s.destroy();
      assert.strictEqual(outcome, 'ECONNRESET');
      assert.strictEqual(sim.stats.refused, 1);
    });

    it('a client that closes and reconnects at once is served, not refused', async () => {
      const { sim, client, extra } = await start();
      await client.transact(STATUS);
      client.close();
      const again = await extra(); // before the server has seen the first one go
      assert.strictEqual(hex((await again.transact(STATUS)).subarray(0, 4)), '3F CD DC 00');
      assert.strictEqual(sim.stats.refused, 0);
      assert.strictEqual(sim.stats.connections, 2);
    });

    it('clearFault() leaves refuse-second on; clearFault("refuse-second") lets two clients in', async () => {
      const { sim, client, extra } = await start();
      sim.setFault('slow', { delayMs: 10 });
      sim.clearFault();
      assert.deepStrictEqual(sim.faults(), [{ mode: 'refuse-second' }]);
      sim.clearFault('refuse-second');
      const second = await extra();
      const [a, b] = await Promise.all([client.transact(STATUS), second.transact(readRecord(1))]);
      assert.strictEqual(hex(a.subarray(0, 4)), '3F CD DC 00');
      assert.strictEqual(hex(b.subarray(0, 4)), 'AA BB CC 01');
      assert.strictEqual(sim.stats.refused, 0);
    });
  });

  describe('stats and events', () => {
    it('counts bytes and requests by command; zero bytes when nothing was sent', async () => {
      const { sim, client } = await start();
      await sleep(30);
      assert.strictEqual(sim.stats.bytesReceived, 0);
      assert.strictEqual(sim.stats.requests, 0);
      await client.transact(STATUS);
      await client.transact(readRecord(3));
      client.send(STATUS.subarray(0, 17));
      await sleep(30);
      assert.strictEqual(sim.stats.bytesReceived, 137);
      assert.strictEqual(sim.stats.requests, 2);
      assert.strictEqual(sim.stats.byCommand.status, 1);
      assert.strictEqual(sim.stats.byCommand.readRecord, 1);
      assert.strictEqual(sim.stats.byCommand.writeRecord, 0);
      assert.strictEqual(sim.stats.bytesSent, 120);
      sim.resetStats();
      assert.strictEqual(sim.stats.bytesReceived, 0);
      assert.strictEqual(sim.stats.byCommand.status, 0);
    });

    it("emits 'request' with the command, record, request and reply", async () => {
      const { sim, client } = await start();
      const seen = [];
      sim.on('request', (r) => seen.push(r));
      await client.transact(readRecord(4));
      await client.transact(req('12 34 56 78'), 1, 100);
      assert.strictEqual(seen.length, 2);
      assert.strictEqual(seen[0].command, 'readRecord');
      assert.strictEqual(seen[0].record, 4);
      assert.strictEqual(seen[0].outcome, 'reply');
      assert.strictEqual(hex(seen[0].reply.subarray(0, 4)), 'AA BB CC 04');
      assert.strictEqual(seen[1].command, 'unknown');
      assert.strictEqual(seen[1].outcome, 'unknown');
      assert.strictEqual(seen[1].reply, null);
    });

    it('drift: true makes live readings wander slowly around the set value', async () => {
      const { client, clock } = await start({ drift: true, seed: 5, readings: { temp1: 30.5, humidity: 54.6 } });
      const seen = new Set();
      for (let i = 0; i < 48; i++) {
        const st = await client.transact(STATUS);
        const t1 = st.readInt16BE(4);
        const rh = st.readInt16BE(19);
        assert.ok(Math.abs(t1 - 305) <= 6, `probe 1 ${t1}`);
        assert.ok(Math.abs(rh - 546) <= 50, `humidity ${rh}`);
        seen.add(t1);
        clock.t += 30 * 60000;
      }
      assert.ok(seen.size > 5, `only ${[...seen]}`);
    });

    it('advance(ms) moves time on without an injected clock', async () => {
      const { sim, client } = await start({ readings: { temp1: 30.5 } });
      sim.setName('temp1', 'Probe');
      sim.setLimits('temp1', { lower: 0, upper: 100, delay: 4 });
      sim.advance(5 * 60000);
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(4, 9)), '01 31 00 05 01');
      sim.setReading('internalTemp', 'open'); // alias of 'internal'
      assert.strictEqual(hex((await client.transact(STATUS)).subarray(14, 16)), '03 E7');
    });

    it('refuses bad arguments to the setters', () => {
      const sim = new M307Simulator({ drift: false });
      assert.throws(() => sim.setReading('temp3', 1), /input must be one of/);
      assert.throws(() => sim.setReading('humidity', 'open'), /special value must be one of failed/);
      assert.throws(() => sim.setReading('humidity', 101), /0\.\.100/);
      assert.throws(() => sim.setDoor(3, 'open'), /door must be 1 or 2/);
      assert.throws(() => sim.setDoor(1, 'ajar'), /'open' or 'closed'/);
      assert.throws(() => sim.setName('temp1', 'x'.repeat(21)), /longer than 20/);
      assert.throws(() => sim.setResolution(0.5), /0\.1 or 1/);
      assert.throws(() => new M307Simulator({ clock: '2024-02-30 10:00' }), /not a valid date/);
    });
  });

  describe('CLI: fieldlink simulate m307', () => {
    it('serves TCP, logs requests and exits 0 on SIGINT', async function () {
      this.timeout(15000);
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'fieldlink.js'), 'simulate', 'm307',
        '--port', '0', '--records', '20', '--no-drift', '--seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      try {
        const t0 = Date.now();
        while (!/tcp:\/\/127\.0\.0\.1:\d+/.test(out) && Date.now() - t0 < 5000) await sleep(20);
        const port = Number(/tcp:\/\/127\.0\.0\.1:(\d+)/.exec(out)[1]);
        const c = await Client.connect(port);
        const st = await c.transact(STATUS);
        assert.strictEqual(hex(st.subarray(0, 4)), '3F CD DC 00');
        assert.strictEqual(hex(st.subarray(4, 6)), '00 2A'); // default probe 1: 4.2 C
        assert.strictEqual(hex(st.subarray(58)), '0A 43');
        const log = await c.transact(READ_LOG_RESET, 20 * 15 + 7);
        assert.strictEqual(log.length, 307);
        assert.strictEqual(log.subarray(300).toString('latin1'), 'THE-END');
        c.close();
        await sleep(50);
        child.kill('SIGINT');
        const { code } = await exited;
        assert.strictEqual(code, 0, err);
        assert.match(out, /read status -> 3F CD DC 00 00 2A/);
        assert.match(out, /read log \(reset pointer\): 20 record\(s\) from the oldest -> 307 bytes/);
        assert.match(out, /stopped \(SIGINT\)/);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('rejects a bad fault with exit code 2', async () => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'fieldlink.js'), 'simulate', 'm307',
        '--port', '0', '--fault', 'flaky'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => { err += d; });
      const code = await new Promise((resolve) => child.on('exit', resolve));
      assert.strictEqual(code, 2);
      assert.match(err, /MODE one of split, slow, drop/);
    });
  });
});
