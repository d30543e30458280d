// Type definitions for fieldlink.
/// <reference types="node" />
import { EventEmitter } from 'node:events';

export type ErrorCode =
  | 'EINVAL' | 'ERANGE' | 'ENOTSUPPORTED'
  | 'ENOENT' | 'EACCES' | 'EBUSY' | 'EIO' | 'ECONNREFUSED' | 'ECONNTIMEOUT' | 'ENOTFOUND'
  | 'ECONNLOST' | 'ENOTCONNECTED' | 'ECLOSED' | 'EQUEUEFULL'
  | 'ETIMEDOUT' | 'EOFFLINE'
  | 'ECRC' | 'EFRAME' | 'EUNIT' | 'EFUNCTION'
  | 'EEXCEPTION' | 'EVERIFY';

export class FieldlinkError extends Error {
  readonly code: ErrorCode | string;
  /** Bytes that arrived, in hex, when they explain the error. */
  readonly rawData?: string;
  /** The argument a ValidationError is about. */
  readonly argument?: string;
}
export class ValidationError extends FieldlinkError {}
export class ConnectionError extends FieldlinkError {
  readonly errno?: number;
}
export class TimeoutError extends FieldlinkError {}
export class ProtocolError extends FieldlinkError {}
export class DeviceError extends FieldlinkError {
  /** Modbus exception code (EEXCEPTION). */
  readonly exceptionCode?: number;
  readonly exceptionName?: string;
}

export const errors: {
  FieldlinkError: typeof FieldlinkError;
  ValidationError: typeof ValidationError;
  ConnectionError: typeof ConnectionError;
  TimeoutError: typeof TimeoutError;
  ProtocolError: typeof ProtocolError;
  DeviceError: typeof DeviceError;
  MODBUS_EXCEPTIONS: Record<number, string>;
};

export type LinkState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ModbusBusOptions {
  baudRate?: 1200 | 2400 | 4800 | 9600 | 14400 | 19200 | 38400 | 57600 | 115200 | 230400;
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
  /** ms to wait for a reply (default 500). */
  timeout?: number;
  /** Extra attempts after a timeout, CRC or framing error (default 0). */
  retries?: number;
  /** Silent ms between frames; default: 3.5 characters on a serial port, 0 on TCP and ptys. */
  interFrameDelay?: number | 'auto';
  /** Consecutive timeouts before a unit is skipped with EOFFLINE (default 3, 0 = never). */
  offlineAfter?: number;
  /** While skipped, one probe per interval in ms (default 5000). */
  offlineProbeInterval?: number;
  reconnectMinDelay?: number;
  reconnectMaxDelay?: number;
  queueLimit?: number;
  /** TCP connect deadline in ms (default 3000). */
  connectTimeout?: number;
  serialDriver?: 'auto' | 'libserialport' | 'termios';
  /** Quiet ms after a complete but wrong reply before it is reported (default 20). */
  settleTime?: number;
  /** Quiet ms after a broadcast write (default 100). */
  broadcastDelay?: number;
}

export interface UnitStats {
  requests: number; replies: number; timeouts: number; errors: number; exceptions: number;
  skipped: number; consecutiveTimeouts: number; offline: boolean;
}

export interface BusStats {
  state: LinkState;
  requests: number; replies: number; timeouts: number; protocolErrors: number; linkErrors: number;
  reconnects: number; bytesSent: number; bytesReceived: number; staleBytesDiscarded: number;
  rejectedNotConnected: number; rejectedQueueFull: number; queueDepth: number;
  lastRequestHex: string; lastReplyHex: string; lastErrorCode: string;
  latencyMs: number[];
  latency: { samples: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };
  units: Record<string, UnitStats>;
}

export interface StateEvent { state: LinkState; error: FieldlinkError | null; retryIn: number }

export class ModbusBus extends EventEmitter {
  /** '/dev/ttyUSB0', '/dev/serial/by-id/...', a pty path, or 'tcp://host:port'. */
  static open(path: string, options?: ModbusBusOptions & { signal?: AbortSignal }): Promise<ModbusBus>;
  readonly path: string;
  readonly options: Readonly<Required<Omit<ModbusBusOptions, 'interFrameDelay'>>> & { interFrameDelay?: number };
  readonly state: LinkState;
  readonly isOpen: boolean;
  readInputRegisters(unit: number, address: number, count: number): Promise<number[]>;
  readHoldingRegisters(unit: number, address: number, count: number): Promise<number[]>;
  writeRegister(unit: number, address: number, value: number): Promise<void>;
  writeRegisters(unit: number, address: number, values: number[]): Promise<void>;
  sensor(unit: number, options?: SensorOptions): ModbusSensor;
  stats(): Promise<BusStats>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  on(event: 'state', listener: (e: StateEvent) => void): this;
  on(event: 'reconnecting', listener: (e: { error: FieldlinkError | null; retryIn: number }) => void): this;
  on(event: 'open' | 'close', listener: () => void): this;
}

export interface ChannelMap { register: number; scale?: 1 | 10 | 100 | 1000; signed?: boolean }

export interface SensorProfile {
  name?: string;
  extends?: BuiltInProfile;
  functionCode: 3 | 4;
  temperature?: ChannelMap;
  humidity?: ChannelMap;
  addressRegister?: number;
  baudRegister?: number;
  baudConvention?: 'auto' | 'raw' | 'code';
  baudCodes?: Record<number, number>;
  baudRates?: number[];
  temperatureCorrectionRegister?: number;
  humidityCorrectionRegister?: number;
  correctionScale?: number;
  correctionRange?: number;
  range?: { temperature: [number, number]; humidity: [number, number] };
}

export type BuiltInProfile = 'xy-md02' | 'xy-md02-x100' | 'xy-md02-sht40' | 'md02-red' | 'sht3x-asia' | 'wb-generic';

export interface SensorOptions {
  profile?: BuiltInProfile | SensorProfile;
  validRange?: { temperature: [number, number]; humidity: [number, number] };
}

export interface SensorReading {
  temperature?: number;
  humidity?: number;
  timestamp: Date;
  /** False when a value is outside the profile's plausible range. */
  valid: boolean;
  address: number;
  units: { temperature?: '°C'; humidity?: '%RH' };
  raw: { temperature?: number; humidity?: number };
}

export interface SensorConfig {
  address?: number;
  baudRate?: number | null;
  baudConvention?: 'raw' | 'code' | 'unknown';
  temperatureCorrection?: number;
  humidityCorrection?: number;
  raw: Record<string, number>;
}

export class ModbusSensor {
  constructor(bus: ModbusBus, address: number, options?: SensorOptions);
  readonly bus: ModbusBus;
  address: number;
  readonly profile: SensorProfile;
  read(): Promise<SensorReading>;
  readTemperature(): Promise<number>;
  readHumidity(): Promise<number>;
  readConfig(): Promise<SensorConfig>;
  setTemperatureCorrection(value: number): Promise<number>;
  setHumidityCorrection(value: number): Promise<number>;
  setAddress(newAddress: number): Promise<{ previous: number; address: number; active: boolean; note?: string }>;
  setBaudRate(baudRate: number): Promise<{ baudRate: number; convention: 'raw' | 'code'; raw: number; note: string }>;
}

export const modbusProfiles: Record<BuiltInProfile, SensorProfile>;
/** Checks a profile name or object and returns the complete profile (throws ValidationError). */
export function resolveModbusProfile(profile?: BuiltInProfile | SensorProfile): SensorProfile;

export interface PortInfo {
  path: string;
  byIdPath: string | null;
  preferredPath: string;
  description: string | null;
  manufacturer: string | null;
  product: string | null;
  serialNumber: string | null;
  vendorId: string | null;
  productId: string | null;
  transport: 'usb' | 'native' | 'bluetooth';
  chip: string | null;
  isRs485: boolean;
}

export function listPorts(): Promise<PortInfo[]>;
