'use strict';
// Port-level diagnostics shared by the Modbus and MATE checks: does the path exist, is there
// a serial adapter at all, and why an open failed (permission: which group; busy: which
// process). Linux only where /proc and /etc/group are read; elsewhere the messages are
// less specific but the codes are the same.

const fs = require('node:fs');
const os = require('node:os');
const { CODES, result } = require('./result');

const isTcp = (p) => typeof p === 'string' && /^tcp:\/\//i.test(p);

async function safeListPorts(listPorts) {
  try {
    return await (listPorts || require('../ports').listPorts)();
  } catch (err) {
    return { error: err };
  }
}

/** The ports a user could mean: USB or RS485-flagged first, by their stable by-id name. */
function candidates(ports) {
  if (!Array.isArray(ports)) return [];
  return ports
    .filter((p) => p.isRs485 || p.transport === 'usb' || p.byIdPath)
    .map((p) => ({
      path: p.preferredPath || p.byIdPath || p.path,
      device: p.path,
      chip: p.chip || null,
      isRs485: Boolean(p.isRs485),
      description: p.description || p.product || null,
    }));
}

function describeAdapter(p) {
  const what = [p.chip, p.manufacturer, p.product || p.description].filter(Boolean).join(', ');
  return `${what || 'serial port'}${p.isRs485 ? ' (an RS485-capable USB chip)' : ''}`;
}

/**
 * Step 'port': the path exists and is a character device. When it does not: PORT_NOT_FOUND
 * with the ports that do exist (by-id names first), and NO_RS485_CONVERTER when there is no
 * USB or RS485 serial adapter at all. Returns a list of results (one when all is well).
 */
async function checkPort(target, { listPorts } = {}) {
  if (isTcp(target)) {
    return [result(CODES.OK, { step: 'port', message: `${target} is a TCP target (RTU over TCP): no local port to check`, details: { tcp: true } })];
  }
  let real = null;
  let st = null;
  let err = null;
  try {
    real = fs.realpathSync(target);
    st = fs.statSync(real);
  } catch (e) {
    err = e;
  }
  const ports = await safeListPorts(listPorts);
  const list = Array.isArray(ports) ? ports : [];
  const cands = candidates(list);
  if (err) {
    let dangling = false;
    try {
      dangling = fs.lstatSync(target).isSymbolicLink();
    } catch { /* not there at all */ }
    const out = [];
    const seen = cands.length ? ` Serial adapters present: ${cands.map((c) => c.path).join(', ')}.` : '';
    out.push(result(CODES.PORT_NOT_FOUND, {
      step: 'port',
      message: dangling
        ? `${target} is a link to a device that is gone: the adapter was unplugged or re-enumerated.${seen}`
        : `${target} does not exist.${seen}`,
      suggestion: cands.length
        ? `Use one of the ports found, preferably by its /dev/serial/by-id name (it stays the same when the adapter is re-plugged): ${cands[0].path}`
        : 'Plug in the USB-RS485 converter (check the cable and that it shows up in "dmesg" / "ls /dev/serial/by-id").',
      details: { path: target, errno: err.code, dangling, candidates: cands, listPortsError: ports.error ? ports.error.message : undefined },
    }));
    if (cands.length === 0 && !ports.error) {
      const builtIn = list.map((p) => p.path);
      out.push(result(CODES.NO_RS485_CONVERTER, {
        step: 'port',
        message: `no USB serial or RS485 adapter is connected${builtIn.length ? ` (only built-in ports: ${builtIn.join(', ')}; none is flagged as RS485)` : ''}`,
        suggestion: 'Connect a USB-RS485 converter (CH340, CP2102, FTDI ...). If it is connected: try another USB port or cable and look at "dmesg" for its driver. A built-in UART needs an RS485 transceiver (HAT) to reach the bus.',
        details: { ports: builtIn },
      }));
    }
    return out;
  }
  if (!st.isCharacterDevice()) {
    return [result(CODES.PORT_ERROR, {
      step: 'port',
      message: `${target}${real !== target ? ` (${real})` : ''} is not a serial device`,
      suggestion: 'Name the serial port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...',
      details: { path: target, realPath: real },
    })];
  }
  const entry = list.find((p) => p.path === real || p.path === target);
  const isPty = real.startsWith('/dev/pts/');
  const byId = entry && entry.byIdPath && entry.byIdPath !== target ? entry.byIdPath : null;
  let message = `${target}${real !== target ? ` -> ${real}` : ''} exists`;
  if (entry) message += `: ${describeAdapter(entry)}`;
  else if (isPty) message += ' (a pseudo-terminal)';
  return [result(CODES.OK, {
    step: 'port',
    message,
    suggestion: byId ? `Prefer its stable name ${byId}: /dev/ttyUSBn numbers change when adapters are re-plugged.` : null,
    details: { path: target, realPath: real, isPty, adapter: entry || null, byIdPath: entry ? entry.byIdPath : null },
  })];
}

/** Group name for a gid (from /etc/group), or null. */
function groupName(gid) {
  try {
    for (const line of fs.readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id, members] = line.split(':');
      if (Number(id) === gid) return { name, members: members ? members.split(',').filter(Boolean) : [] };
    }
  } catch { /* not Linux-like */ }
  return null;
}

/** Why this user cannot open the device: its owner, group, mode, and what to do. */
function permissionInfo(target) {
  let st = null;
  let real = target;
  try {
    real = fs.realpathSync(target);
    st = fs.statSync(real);
  } catch { /* vanished */ }
  const user = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return null;
    }
  })();
  if (!st) return { realPath: real, user, group: null };
  const g = groupName(st.gid);
  const group = g ? g.name : String(st.gid);
  const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
  const groupCanRw = (st.mode & 0o060) === 0o060;
  const sessionHasGroup = typeof process.getgroups === 'function' && process.getgroups().includes(st.gid);
  const listedInGroup = Boolean(g && user && g.members.includes(user));
  return { realPath: real, user, group, gid: st.gid, mode, groupCanRw, sessionHasGroup, listedInGroup };
}

function permissionResult(target, err, step) {
  const p = permissionInfo(target);
  let suggestion;
  if (!p.group) {
    suggestion = 'Add your user to the group that owns serial ports (usually dialout): sudo usermod -aG dialout $USER, then log out and in.';
  } else if (!p.groupCanRw || p.group === 'root') {
    suggestion = `The device (mode ${p.mode}, group ${p.group}) is not open to a group: add a udev rule that gives it to dialout, e.g. ` +
      'SUBSYSTEM=="tty", ATTRS{idVendor}=="1a86", GROUP="dialout", MODE="0660" in /etc/udev/rules.d/50-rs485.rules, then "sudo udevadm trigger".';
  } else if (p.listedInGroup && !p.sessionHasGroup) {
    suggestion = `You are in the '${p.group}' group already, but this session started before that: log out and in again (or run "newgrp ${p.group}").`;
  } else {
    suggestion = `Add your user to the '${p.group}' group: sudo usermod -aG ${p.group} ${p.user || '$USER'}, then log out and in again (or run "newgrp ${p.group}").`;
  }
  return result(CODES.PERMISSION_DENIED, {
    step,
    message: `permission denied opening ${target}${p.group ? `: the device belongs to group '${p.group}' (mode ${p.mode})${p.user ? ` and user '${p.user}' ${p.sessionHasGroup ? 'has it but still may not open it' : 'is not in it in this session'}` : ''}` : ''}`,
    suggestion,
    details: { ...p, error: err && err.message },
  });
}

// "maj:min" of a st_dev number (Linux new_encode_dev) as /proc/locks prints it (hex).
function devString(dev) {
  const major = (dev >>> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

function processName(pid) {
  let comm = null;
  let cmdline = null;
  try {
    comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch { /* gone or not ours to read */ }
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 200) || null;
  } catch { /* idem */ }
  return { comm, cmdline };
}

/**
 * The processes that hold the device: the flock() owner from /proc/locks (the lock is what
 * makes the port busy), and every process with an fd on it from /proc/<pid>/fd (readable
 * for all processes only by root). [{ pid, comm, cmdline, lock, self }]
 */
function findHolders(target) {
  let real;
  let st;
  try {
    real = fs.realpathSync(target);
    st = fs.statSync(real);
  } catch {
    return [];
  }
  const byPid = new Map();
  const add = (pid, how) => {
    if (!byPid.has(pid)) byPid.set(pid, { pid, ...processName(pid), lock: false, fd: false, self: pid === process.pid });
    byPid.get(pid)[how] = true;
  };
  try {
    const want = `${devString(st.dev)}:${st.ino}`;
    for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      // "1: FLOCK  ADVISORY  WRITE 6199 00:1a:3 0 EOF"
      if (f.length >= 6 && f[5] === want && /^\d+$/.test(f[4])) add(Number(f[4]), 'lock');
    }
  } catch { /* no /proc/locks */ }
  let pids = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch { /* no /proc */ }
  for (const d of pids) {
    let fds;
    try {
      fds = fs.readdirSync(`/proc/${d}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link;
      try {
        link = fs.readlinkSync(`/proc/${d}/fd/${fd}`);
      } catch {
        continue;
      }
      if (link === real) {
        add(Number(d), 'fd');
        break;
      }
    }
  }
  // Lock holders first: they are the ones that make it busy.
  return [...byPid.values()].sort((a, b) => Number(b.lock) - Number(a.lock) || a.pid - b.pid);
}

function busyResult(target, err, step) {
  const holders = findHolders(target);
  const lockers = holders.filter((h) => h.lock);
  const named = (lockers.length ? lockers : holders).map((h) => `${h.comm || 'process'} (PID ${h.pid}${h.self ? ', this process' : ''})`);
  const suggestionParts = [];
  if (holders.some((h) => h.self)) {
    suggestionParts.push('This program already has the port open: close that connection first, or use it for this work (one bus object per port).');
  }
  if (holders.some((h) => /modemmanager/i.test(h.comm || ''))) {
    suggestionParts.push('ModemManager probes new serial ports: stop it (sudo systemctl stop ModemManager) or tell it to ignore the adapter with a udev rule (ENV{ID_MM_DEVICE_IGNORE}="1").');
  }
  if (holders.some((h) => /node-red/i.test(`${h.comm} ${h.cmdline}`))) {
    suggestionParts.push('Node-RED holds it: nodes in the same Node-RED share one link per port; stop the flow that uses it, or run the diagnosis from within Node-RED.');
  }
  if (suggestionParts.length === 0) {
    suggestionParts.push(holders.length
      ? `Stop ${named.join(', ')} or close its connection to the port, then try again.`
      : `Another program has the port open; find it with "sudo fuser -v ${target}" (this user cannot see other users' processes) and stop it.`);
  }
  return result(CODES.PORT_BUSY, {
    step,
    message: `${target} is in use${named.length ? ` by ${named.join(', ')}` : ' by another program'}`,
    suggestion: suggestionParts.join(' '),
    details: { holders, error: err && err.message },
  });
}

/**
 * An error from opening a port (ConnectionError from ModbusBus.open / MateBus.open) as a
 * result; null when it is not about opening (the caller rethrows).
 */
function openErrorResult(target, err, step = 'open') {
  const code = err && err.code;
  if (code === 'EACCES' || code === 'EPERM') return permissionResult(target, err, step);
  if (code === 'EBUSY') return busyResult(target, err, step);
  if (code === 'ENOENT') {
    return result(CODES.PORT_NOT_FOUND, { step, message: err.message, suggestion: 'Check that the adapter is plugged in; prefer its /dev/serial/by-id name.', details: { path: target } });
  }
  if (code === 'ECONNREFUSED') {
    return result(CODES.CONNECTION_REFUSED, { step, message: err.message, suggestion: 'Check the host and port of the RS485-to-Ethernet converter (ser2net: the port in its configuration).' });
  }
  if (code === 'ECONNTIMEOUT' || code === 'ENOTFOUND') {
    return result(code === 'ENOTFOUND' ? CODES.HOST_NOT_FOUND : CODES.CONNECTION_TIMEOUT, { step, message: err.message, suggestion: 'Check the address of the converter and that it is on the network.' });
  }
  if (err && err.name === 'ConnectionError') {
    return result(CODES.PORT_ERROR, { step, message: err.message, suggestion: 'Unplug and re-plug the adapter; look at "dmesg" for driver errors.', details: { errno: code } });
  }
  return null;
}

/** Whether a path names a pseudo-terminal (the simulators serve on those). */
function isPseudoTerminal(target) {
  try {
    return fs.realpathSync(target).startsWith('/dev/pts/');
  } catch {
    return false;
  }
}

module.exports = {
  checkPort,
  openErrorResult,
  permissionInfo,
  findHolders,
  candidates,
  isPseudoTerminal,
  isTcp,
  devString,
};
