'use strict';
// listPorts(): serial ports with USB details, their stable /dev/serial/by-id names,
// and a flag for the USB-serial chips RS485 adapters are built on.
const fs = require('node:fs');
const path = require('node:path');
const native = require('./native');

// vendorId:productId of USB-serial bridges commonly found on USB-RS485 adapters.
const RS485_CHIPS = {
  '1a86:7523': 'CH340',
  '1a86:7522': 'CH340',
  '1a86:5523': 'CH341',
  '1a86:55d3': 'CH343',
  '1a86:55d4': 'CH9102',
  '10c4:ea60': 'CP210x',
  '10c4:ea70': 'CP2105',
  '0403:6001': 'FTDI FT232R',
  '0403:6010': 'FTDI FT2232',
  '0403:6011': 'FTDI FT4232',
  '0403:6014': 'FTDI FT232H',
  '0403:6015': 'FTDI FT-X',
  '067b:2303': 'PL2303',
  '067b:23a3': 'PL2303',
};

const hex4 = (n) => (n === null || n === undefined ? null : n.toString(16).padStart(4, '0'));

function byIdMap(dir = '/dev/serial/by-id') {
  const map = new Map();
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return map;
  }
  for (const name of names) {
    const link = path.join(dir, name);
    try {
      map.set(fs.realpathSync(link), link);
    } catch {
      /* dangling link: adapter just unplugged */
    }
  }
  return map;
}

function describePort(p, ids) {
  const vendorId = hex4(p.vendorId);
  const productId = hex4(p.productId);
  const chip = vendorId && productId ? RS485_CHIPS[`${vendorId}:${productId}`] : undefined;
  const text = `${p.description} ${p.product} ${p.manufacturer}`;
  const byIdPath = ids.get(p.path) || null;
  return {
    path: p.path,
    byIdPath,
    preferredPath: byIdPath || p.path,
    description: p.description || null,
    manufacturer: p.manufacturer || null,
    product: p.product || null,
    serialNumber: p.serialNumber || null,
    vendorId,
    productId,
    transport: p.transport,
    chip: chip || null,
    isRs485: Boolean(chip) || /rs-?485/i.test(text),
  };
}

/** Lists serial ports; USB adapters first, RS485-capable ones flagged. */
async function listPorts() {
  const raw = await native.listPorts();
  const ids = byIdMap();
  const ports = raw.map((p) => describePort(p, ids));
  const rank = (p) => (p.isRs485 ? 0 : p.transport === 'usb' ? 1 : 2);
  ports.sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
  return ports;
}

module.exports = { listPorts, describePort, RS485_CHIPS };
