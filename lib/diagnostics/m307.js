'use strict';
// M307 Temperature Guard connection test: can the host be reached, does the port accept a
// connection, is another client holding the device (it serves one at a time), does it speak
// the M307 protocol, and who is it (device name, serial number, MAC address).
//
// testM307(host, { port = 10001, timeout = 3000 }) -> [results] with steps:
//   'tcp'       a plain TCP connection, held for graceMs: accepted and kept open -> OK;
//               accepted and closed at once by the device -> DEVICE_BUSY (another client);
//               refused -> CONNECTION_REFUSED; no answer -> CONNECTION_TIMEOUT; name does not
//               resolve -> HOST_NOT_FOUND; no route -> HOST_UNREACHABLE
//   'protocol'  M307Client.connect (reads the status record): OK with a summary; no reply ->
//               NO_DEVICE_RESPONSE (the port is open but nothing answers like an M307)
//   'identity'  getDeviceInfo(): OK with deviceName, serialNumber, macAddress
// The first failing step ends the list.

const net = require('node:net');
const v = require('../validate');
const defaults = require('../defaults').m307;
const { CODES, result } = require('./result');

const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const reading = (x, unit) => (x === null ? 'no sensor' : x === Infinity ? 'open circuit' : x === -Infinity ? 'shorted' : `${x} °${unit}`);

function tcpProbe(host, port, timeout, graceMs) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let settled = false;
    let connectedAt = null;
    let timer = null;
    const socket = net.connect({ host, port });
    const finish = (outcome, extra = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const out = { outcome, ms: Date.now() - t0, openMs: connectedAt === null ? null : Date.now() - connectedAt, ...extra };
      if (socket.destroyed) resolve(out);
      else {
        socket.once('close', () => resolve(out));
        socket.destroy();
      }
    };
    timer = setTimeout(() => finish('timeout'), timeout);
    socket.once('connect', () => {
      connectedAt = Date.now();
      clearTimeout(timer);
      timer = setTimeout(() => finish('connected'), graceMs);
    });
    socket.on('data', () => {});
    socket.once('error', (err) => finish(connectedAt === null ? 'error' : 'closed-at-once', { error: err }));
    socket.once('close', () => finish(connectedAt === null ? 'error' : 'closed-at-once'));
  });
}

function networkErrorResult(step, host, port, err, ms) {
  const code = err && err.code;
  const at = `${host}:${port}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return result(CODES.HOST_NOT_FOUND, {
      step,
      message: `the name ${host} does not resolve (${code})`,
      suggestion: 'Check the spelling, or use the M307\'s IP address (shown by its device-server tool or your router\'s DHCP list).',
      details: { host, port, errno: code },
    });
  }
  if (code === 'ECONNREFUSED') {
    return result(CODES.CONNECTION_REFUSED, {
      step,
      message: `${host} answered, but refused a connection on port ${port}`,
      suggestion: 'Check the port (the M307 listens on 10001 unless reconfigured) and that the device server is running; ' +
        'some device servers also refuse a second client while one is connected.',
      details: { host, port, errno: code },
    });
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN') {
    return result(CODES.HOST_UNREACHABLE, {
      step,
      message: `no route to ${host} (${code})`,
      suggestion: 'Check that this computer and the M307 are on the same network (IP address and netmask), and the cabling.',
      details: { host, port, errno: code },
    });
  }
  if (code === 'ETIMEDOUT' || code === 'ECONNTIMEOUT' || code === 'timeout') {
    return result(CODES.CONNECTION_TIMEOUT, {
      step,
      message: `no answer from ${at} within ${ms} ms`,
      suggestion: 'Check that the M307 is powered and on the network (ping it), its IP address, and any firewall between.',
      details: { host, port },
    });
  }
  return result(CODES.CONNECTION_REFUSED, {
    step,
    message: `cannot connect to ${at}: ${err && err.message}`,
    suggestion: 'Check the address and port.',
    details: { host, port, errno: code },
  });
}

const busyResult = (step, host, port, extra) => result(CODES.DEVICE_BUSY, {
  step,
  message: `${host}:${port} accepted the connection and closed it at once${extra || ''}. Likely cause: another client is ` +
    'connected (the M307 serves one TCP client at a time); a firewall or proxy that drops connections looks the same',
  suggestion: 'Close the other program (another Node-RED, the vendor software, a second fieldlink) or wait for its idle timeout; ' +
    'in Node-RED, let every node use the same m307-config so they share one connection. If nothing else is connected, ' +
    'check for a firewall or proxy between here and the device.',
  details: { host, port },
});

/**
 * Tests the connection to an M307 and reads its identity.
 * @returns {Promise<Array<result>>}
 */
async function testM307(host, options = {}) {
  if (typeof host !== 'string' || host.length === 0) v.fail('host', 'a host name or IP address', host, 'EINVAL');
  const o = v.plainObject('options', options);
  v.knownKeys('options', o, ['port', 'timeout', 'graceMs']);
  const port = o.port ?? defaults.port;
  const timeout = o.timeout ?? 3000;
  const graceMs = o.graceMs ?? 150;
  v.integer('port', port, 1, 65535);
  v.integer('timeout', timeout, 10, 120000);
  v.integer('graceMs', graceMs, 0, 10000);
  const steps = [];

  const probe = await tcpProbe(host, port, timeout, graceMs);
  if (probe.outcome === 'timeout') {
    steps.push(networkErrorResult('tcp', host, port, { code: 'timeout' }, timeout));
    return steps;
  }
  if (probe.outcome === 'error') {
    steps.push(networkErrorResult('tcp', host, port, probe.error, probe.ms));
    return steps;
  }
  if (probe.outcome === 'closed-at-once') {
    steps.push(busyResult('tcp', host, port, ` (after ${probe.openMs} ms, without a byte)`));
    return steps;
  }
  steps.push(result(CODES.OK, {
    step: 'tcp',
    message: `${host}:${port} accepts TCP connections (connected in ${probe.ms - probe.openMs} ms and kept open)`,
    details: { host, port, connectMs: probe.ms - probe.openMs },
  }));
  // Let the device server see our probe connection go before the real client comes.
  await delay(50);

  const { M307Client } = require('../m307/client');
  let client;
  try {
    client = await M307Client.connect(host, { port, timeout, connectTimeout: timeout, reconnectMinDelay: 100 });
  } catch (err) {
    if (err && err.code === 'EBUSY') steps.push(busyResult('protocol', host, port));
    else if (err && err.code === 'ETIMEDOUT') {
      steps.push(result(CODES.NO_DEVICE_RESPONSE, {
        step: 'protocol',
        message: `${host}:${port} accepts connections but did not answer the M307 status request within ${timeout} ms`,
        suggestion: 'Check that this is the M307\'s port (10001 by default) and not another device; power-cycle the M307 if its device server hangs.',
        details: { host, port },
      }));
    } else if (err && err.name === 'ProtocolError') {
      steps.push(result(CODES.INVALID_RESPONSE, {
        step: 'protocol',
        message: `${host}:${port} answered, but not like an M307: ${err.message}`,
        suggestion: 'Check the host and port: another device may be listening there.',
        rawData: err.rawData || null,
        details: { host, port, error: err.code },
      }));
    } else if (err && err.name === 'ConnectionError') {
      steps.push(networkErrorResult('protocol', host, port, err, timeout));
    } else throw err;
    return steps;
  }
  try {
    const s = await client.readStatus();
    const t1 = s.temperatureSensor1 ? s.temperatureSensor1.reading : null;
    steps.push(result(CODES.OK, {
      step: 'protocol',
      message: `the M307 answers the status request (temperature 1: ${reading(t1, s.temperatureUnit)}, ` +
        `main power ${s.mainPower ? 'on' : 'OFF'}, battery ${s.batteryVoltage} V)`,
      details: { host, port, status: s },
    }));
    const info = await client.getDeviceInfo();
    steps.push(result(CODES.OK, {
      step: 'identity',
      message: `"${info.deviceName}", serial number ${info.serialNumber}, MAC ${info.macAddress}, unit °${info.unitOfMeasure}`,
      details: { host, port, ...info },
    }));
  } catch (err) {
    if (!err || !err.code) throw err;
    steps.push(result(err.name === 'TimeoutError' ? CODES.NO_DEVICE_RESPONSE : CODES.INVALID_RESPONSE, {
      step: 'identity',
      message: `reading the device information failed: ${err.message}`,
      suggestion: 'Try again; if it keeps failing, power-cycle the M307.',
      rawData: err.rawData || null,
      details: { host, port, error: err.code },
    }));
  } finally {
    await client.close();
  }
  return steps;
}

module.exports = { testM307, tcpProbe };
