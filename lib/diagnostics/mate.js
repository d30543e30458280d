'use strict';
// The MATE bus hub scan as a diagnostic step: which devices answer on which hub port, with
// their firmware revisions, in the common result shape.
//
// mateScanDiagnostic(path, options) -> one result:
//   the port checks of lib/diagnostics/port.js first (PORT_NOT_FOUND, NO_RS485_CONVERTER,
//   PERMISSION_DENIED, PORT_BUSY, PORT_ERROR), then MateBus.scan({ firmware: true }):
//   devices found -> OK (details.devices: [{ port, type, typeId, firmware }]);
//   nothing answered on port 0 -> NO_DEVICE_RESPONSE; a garbled answer -> INVALID_RESPONSE.

const defaults = require('../defaults').mate;
const v = require('../validate');
const { CODES, result } = require('./result');
const { checkPort, openErrorResult } = require('./port');
const { abortSignal, throwIfAborted } = v;

const TYPE_TEXT = { hub: 'hub', mx: 'MX/FM charge controller', fx: 'FX inverter', dc: 'FLEXnet DC' };

/**
 * @param {string} path the MATE-bus adapter's serial port
 * @param {object} [options] { timeout = 100, parityMode = 'auto', transport = 'serial', retries,
 *   onProgress({ port, of, found }), signal, listPorts, open }
 * @returns {Promise<result>} details.devices, details.steps (the port check and the scan)
 */
async function mateScanDiagnostic(path, options = {}) {
  const o = v.plainObject('options', options);
  v.knownKeys('options', o, ['timeout', 'parityMode', 'transport', 'retries', 'onProgress', 'signal', 'listPorts', 'open']);
  const signal = abortSignal('signal', o.signal);
  if (o.onProgress != null && typeof o.onProgress !== 'function') v.fail('onProgress', 'a function', o.onProgress, 'EINVAL');
  const open = o.open ?? ((p, opts) => require('../mate/bus').MateBus.open(p, opts));
  throwIfAborted(signal);
  const steps = [];
  const finish = (r) => {
    if (steps[steps.length - 1] !== r) steps.push(r);
    r.details.steps = steps.slice(0, -1);
    return r;
  };

  const portResults = await checkPort(path, { listPorts: o.listPorts });
  steps.push(...portResults);
  const bad = portResults.filter((r) => !r.ok);
  if (bad.length) return finish(bad.find((r) => r.code === CODES.NO_RS485_CONVERTER) || bad[0]);

  let bus;
  try {
    const opts = { timeout: o.timeout ?? defaults.timeout, parityMode: o.parityMode ?? defaults.parityMode, transport: o.transport ?? defaults.transport };
    if (o.retries !== undefined) opts.retries = o.retries;
    bus = await open(path, opts);
  } catch (err) {
    const r = openErrorResult(path, err, 'open');
    if (!r) throw err;
    return finish(r);
  }
  const onAbort = () => bus.close().catch(() => {});
  if (signal) signal.addEventListener('abort', onAbort, { once: true });
  try {
    let devices;
    try {
      devices = await bus.scan({ firmware: true, onProgress: o.onProgress || undefined });
    } catch (err) {
      throwIfAborted(signal);
      if (err && err.name === 'ProtocolError') {
        return finish(result(CODES.INVALID_RESPONSE, {
          step: 'scan',
          message: `a device answered the scan with a garbled frame: ${err.message}`,
          suggestion: 'Check the MATE cable (straight-through RJ45), the adapter\'s 9-bit / parity mode (--parity-mode), and for a second MATE or master on the bus.',
          rawData: err.rawData || null,
          details: { error: err.code, parityMode: bus.parityMode },
        }));
      }
      if (err && err.name === 'ConnectionError') {
        return finish(openErrorResult(path, err, 'scan') || result(CODES.PORT_ERROR, { step: 'scan', message: err.message }));
      }
      throw err;
    }
    throwIfAborted(signal);
    if (devices.length === 0) {
      return finish(result(CODES.NO_DEVICE_RESPONSE, {
        step: 'scan',
        message: `nothing answered on port 0 of the MATE bus at ${path} (parity mode ${bus.parityMode})`,
        suggestion: 'Check that the hub or the single device is powered and that the MATE cable goes to the hub\'s MATE port (not a device port); ' +
          'with a USB adapter, check its 9-bit wiring (the MATE bus is 9600 baud with a 9th bit marking commands) and try --parity-mode odd-even.',
        details: { devices: [], parityMode: bus.parityMode },
      }));
    }
    const text = devices.map((d) => `${TYPE_TEXT[d.type] || d.type} on port ${d.port}${d.firmware ? ` (firmware ${d.firmware})` : ''}`).join('; ');
    return finish(result(CODES.OK, {
      step: 'scan',
      message: `${devices.length} device${devices.length === 1 ? '' : 's'} found: ${text}`,
      details: { devices, parityMode: bus.parityMode },
    }));
  } finally {
    if (signal) signal.removeEventListener('abort', onAbort);
    await bus.close().catch(() => {});
  }
}

module.exports = { mateScanDiagnostic };
