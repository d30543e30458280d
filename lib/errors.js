'use strict';
// The error classes. Every error has a stable string `.code`; the class says which
// kind of trouble it is (see docs/ARCHITECTURE.md, "Error model").

class FieldlinkError extends Error {
  constructor(message, code, extra) {
    super(message);
    this.name = this.constructor.name;
    this.code = code;
    if (extra) {
      for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') this[k] = v;
    }
  }
}

class ValidationError extends FieldlinkError {}
class ConnectionError extends FieldlinkError {}
class TimeoutError extends FieldlinkError {}
class ProtocolError extends FieldlinkError {}
class DeviceError extends FieldlinkError {}

const MODBUS_EXCEPTIONS = {
  1: 'ILLEGAL_FUNCTION',
  2: 'ILLEGAL_DATA_ADDRESS',
  3: 'ILLEGAL_DATA_VALUE',
  4: 'SERVER_DEVICE_FAILURE',
  5: 'ACKNOWLEDGE',
  6: 'SERVER_DEVICE_BUSY',
  8: 'MEMORY_PARITY_ERROR',
  10: 'GATEWAY_PATH_UNAVAILABLE',
  11: 'GATEWAY_TARGET_FAILED_TO_RESPOND',
};

const byKind = { ValidationError, ConnectionError, TimeoutError, ProtocolError, DeviceError };

// Called by the addon (see native/node/addon.cpp) to build the error it rejects with.
// `fields` carries the family-specific detail of the shared codes: ECHECKSUM { check },
// EMISMATCH { mismatch, expected, got }, EREJECTED { exceptionCode } (Modbus; its name is
// added here) or { replyByte0 } (MATE), EVERIFY { written, readBack, ... }.
function fromNative(kind, code, message, detail, rawHex, fields) {
  const Cls = byKind[kind] || FieldlinkError;
  const extra = { rawData: rawHex || undefined, ...fields };
  if (code === 'EREJECTED' && extra.exceptionCode !== undefined) {
    extra.exceptionName = MODBUS_EXCEPTIONS[extra.exceptionCode] || 'UNKNOWN_EXCEPTION';
  } else if (detail && kind === 'ConnectionError') {
    extra.errno = detail;
  }
  return new Cls(message, code, extra);
}

module.exports = {
  FieldlinkError,
  ValidationError,
  ConnectionError,
  TimeoutError,
  ProtocolError,
  DeviceError,
  MODBUS_EXCEPTIONS,
  fromNative,
};
