#!/usr/bin/env python3
"""An Outback MX/FM charge controller on a pseudo-terminal, for bench/mate-pty.js.

Written from the protocol facts alone, independently of fieldlink's C++ codec and of the
JS simulator in lib/sim, so the bench measures fieldlink against something it did not build.
Python 3 standard library only.

The MATE bus is 9600 baud with a 9th data bit set on the first byte of each packet. A
pseudo-terminal carries no parity, so that bit cannot arrive here: a command is recognised
the way fieldlink's own simulator and any pty peer must, by its fixed length (8 bytes) and
its checksum (the 16-bit sum of the bytes before it, big-endian). Bytes that do not form a
valid command are dropped one at a time until they do.

  python3 mate_emulator.py [US]       serve; prints the slave path on stdout, then runs;
                                      US > 0: wait that many microseconds before each reply
                                      (a device's turnaround; a real MX at 9,600 baud needs
                                      about 25 ms per status poll on the wire alone)
  python3 mate_emulator.py raw PATH N time N status polls over PATH; prints "rate <polls/s>"

Commands answered (port 0, no hub): READ 0x02 (register 0 = device type 3; others 0),
WRITE 0x03 (echoes the value), STATUS 0x04 page 1 (a fixed 13-byte MX status).
"""
import os
import select
import sys
import time
import tty

MX = 3
READ, WRITE, STATUS = 0x02, 0x03, 0x04
COMMAND_LEN = 8


def sum16(data):
    return sum(data) & 0xFFFF


def framed(data):
    s = sum16(data)
    return bytes(data) + bytes([s >> 8, s & 0xFF])


def command(port, kind, address, value):
    return framed([port, kind, address >> 8, address & 0xFF, value >> 8, value & 0xFF])


# A plausible MX status: 12.4 A from 95.3 V PV into a 26.8 V battery, bulk.
STATUS_PAYLOAD = bytes([
    0x83,        # Ah valid, Ah bits 10..8 = 0, charger current tenths 3
    0x80 + 12,   # PV current, offset by 0x80
    0x80 + 24,   # charger current, offset by 0x80
    0x00,        # kWh high byte
    57,          # Ah low byte
    0x00,        # aux mode, aux off
    0x02,        # charger mode
    0x00,        # errors
    31,          # kWh low byte (3.1 kWh)
    0x01, 0x0C,  # battery 26.8 V in tenths
    0x03, 0xB9,  # PV 95.3 V in tenths
])


def reply_to(cmd):
    port, kind = cmd[0], cmd[1]
    address = (cmd[2] << 8) | cmd[3]
    value = (cmd[4] << 8) | cmd[5]
    if port != 0:
        return None  # no hub: nothing answers on ports 1..10
    if kind == READ:
        v = MX if address == 0 else 0
        return framed([READ, v >> 8, v & 0xFF])
    if kind == WRITE:
        return framed([WRITE, value >> 8, value & 0xFF])
    if kind == STATUS and address == 1:
        return framed(bytes([MX]) + STATUS_PAYLOAD)
    return framed([0x80 | kind, 0, 0])  # anything else: "invalid command"


def serve(turnaround_us=0):
    master, slave = os.openpty()
    tty.setraw(slave)
    print(os.ttyname(slave), flush=True)
    buf = bytearray()
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            time.sleep(0.01)  # no client holds the slave right now (EIO); ours keeps it open
            continue
        if not chunk:
            continue
        buf += chunk
        while len(buf) >= COMMAND_LEN:
            frame = bytes(buf[:COMMAND_LEN])
            if sum16(frame[:6]) != (frame[6] << 8) | frame[7]:
                del buf[0]
                continue
            del buf[:COMMAND_LEN]
            out = reply_to(frame)
            if out:
                if turnaround_us:
                    until = time.perf_counter() + turnaround_us / 1e6
                    while time.perf_counter() < until:
                        pass  # busy wait: sleep() is too coarse for tens of microseconds
                os.write(master, out)


def raw_loop(path, n):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    request = command(0, STATUS, 1, 0x00FF)
    want = 16
    t0 = time.perf_counter()
    for _ in range(n):
        os.write(fd, request)
        got = b''
        while len(got) < want:
            r, _, _ = select.select([fd], [], [], 1.0)
            if not r:
                raise SystemExit('raw loop: no reply within 1 s')
            got += os.read(fd, want - len(got))
        if got[0] != MX or sum16(got[:-2]) != (got[-2] << 8) | got[-1]:
            raise SystemExit('raw loop: bad reply ' + got.hex())
    dt = time.perf_counter() - t0
    os.close(fd)
    print('rate %.1f' % (n / dt), flush=True)


if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == 'raw':
        raw_loop(sys.argv[2], int(sys.argv[3]))
    else:
        serve(int(sys.argv[1]) if len(sys.argv) >= 2 else 0)
