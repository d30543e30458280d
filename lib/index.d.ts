// Type definitions for fieldlink.
/// <reference types="node" />
import { EventEmitter } from 'node:events';

export type ErrorCode =
  | 'EINVAL' | 'ERANGE' | 'ENOTSUPPORTED' | 'ECONTROL'
  | 'ENOENT' | 'EACCES' | 'EBUSY' | 'EIO' | 'ECONNREFUSED' | 'ECONNTIMEOUT' | 'ENOTFOUND'
  | 'ECONNLOST' | 'ENOTCONNECTED' | 'ECLOSED' | 'EQUEUEFULL' | 'EABORTED'
  | 'ETIMEDOUT' | 'EOFFLINE'
  | 'ECHECKSUM' | 'EFRAME' | 'EMISMATCH' | 'EBRIDGE'
  | 'EREJECTED' | 'EVERIFY' | 'ENODEVICE';

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
export class ProtocolError extends FieldlinkError {
  /** ECHECKSUM: the check that failed ('crc16' Modbus, 'sum' MATE, 'crc8' / 'crc32' PJON). */
  readonly check?: 'crc16' | 'sum' | 'crc8' | 'crc32';
  /** EMISMATCH: what did not match, and the two values (expected is absent when several were acceptable). */
  readonly mismatch?: 'unit' | 'function' | 'command' | 'deviceType';
  readonly expected?: number;
  readonly got?: number;
}
export class DeviceError extends FieldlinkError {
  /** Modbus exception code and its name (EREJECTED from a Modbus unit). */
  readonly exceptionCode?: number;
  readonly exceptionName?: string;
  /** EREJECTED from a MATE device: byte 0 of its reply (bit 7 set). */
  readonly replyByte0?: number;
  /** EVERIFY: the value written and the value read back. */
  readonly written?: number;
  readonly readBack?: number;
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
  /** requests counts every attempt on the wire; retries the attempts after the first. */
  requests: number; replies: number; timeouts: number; errors: number; exceptions: number;
  skipped: number; retries: number; consecutiveTimeouts: number; offline: boolean;
}

export interface BusStats {
  state: LinkState;
  requests: number; replies: number; timeouts: number; protocolErrors: number; linkErrors: number;
  reconnects: number; bytesSent: number; bytesReceived: number; staleBytesDiscarded: number;
  rejectedNotConnected: number; rejectedQueueFull: number; queueDepth: number;
  /** Attempts after the first (after a timeout or a bad frame, up to options.retries). */
  retries: number;
  lastRequestHex: string; lastReplyHex: string; lastErrorCode: string;
  latencyMs: number[];
  latency: { samples: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };
  units: Record<string, UnitStats>;
}

export interface StateEvent { state: LinkState; error: FieldlinkError | null; retryIn: number }

export class ModbusBus extends EventEmitter {
  /**
   * '/dev/ttyUSB0', '/dev/serial/by-id/...', a pty path, or 'tcp://host:port'. An aborted
   * signal closes the link and rejects with signal.reason (an AbortError).
   */
  static open(path: string, options?: ModbusBusOptions & { signal?: AbortSignal }): Promise<ModbusBus>;
  readonly path: string;
  readonly options: Readonly<Required<Omit<ModbusBusOptions, 'interFrameDelay'>>> & { interFrameDelay: number | 'auto' };
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

// ---------------------------------------------------------------------------------------
// The I/O engine (one thread for the whole process)

export interface EngineStats {
  /** The adaptive spin window in µs (0: off). */
  spinMicros: number;
  /** Times the engine thread ran out of ready work. */
  idlePeriods: number;
  /** Idle periods spent polling instead of sleeping, and how many of those found work. */
  spins: number;
  spinHits: number;
  /** Idle periods spent asleep in epoll_wait. */
  sleeps: number;
  /** Recent share of idle periods shorter than the window (it spins while this is > 0.75). */
  hitRate: number;
}

/** Sets the engine's adaptive spin window (0..10000 µs; default 250; 0 = off). Also FIELDLINK_SPIN_US. */
export function configureEngine(options?: { spinMicros?: number }): EngineStats;
export function engineStats(): EngineStats;

// ---------------------------------------------------------------------------------------
// M307 Temperature Guard

/** number; null = no sensor / failed; Infinity = open circuit; -Infinity = shorted. */
export type M307Reading = number | null;

export interface M307Input {
  reading: M307Reading;
  readingStatus: 'value' | 'no-sensor' | 'open-circuit' | 'shorted' | 'failed';
  raw: number;
  /** Minutes out of limits. */
  timeOutOfLimits: number;
  inAlarm: boolean;
}
export interface M307Door { state: 'open' | 'closed'; timeOutOfLimits: number; inAlarm: boolean; raw: number }
export interface M307Status {
  temperatureSensor1: M307Input;
  temperatureSensor2: M307Input;
  internalTemperature: M307Input;
  internalHumidity: M307Input;
  door1: M307Door;
  door2: M307Door;
  mainPower: boolean;
  mainPowerRaw: number;
  batteryVoltage: number;
  temperatureResolution: 0.1 | 1;
  temperatureUnit: 'C' | 'F' | '?';
}
export interface M307Limit { lowerLimit?: number; upperLimit?: number; timeDelay?: number }
export interface M307Limits {
  tempSensor1?: M307Limit; tempSensor2?: M307Limit; internalTemp?: M307Limit; internalHumidity?: M307Limit;
  door1TimeDelay?: number; door2TimeDelay?: number;
  tempSensor1Correction?: number; tempSensor2Correction?: number; internalTempCorrection?: number; internalHumidityCorrection?: number;
  input1Logic?: number | 'normally-open' | 'normally-closed' | 'water-sensor';
  input2Logic?: number | 'normally-open' | 'normally-closed' | 'water-sensor';
}
export interface M307Settings { relayLogic?: 0 | 1; alarmReminderDelay?: number; buzzerEnabled?: boolean; twoStageDoorAlarmDelay?: number }
export interface M307DeviceInfo { deviceName: string; unitOfMeasure: 'C' | 'F' | ''; macAddress: string; serialNumber: string }
export interface M307LogInfo { datetime: Date | null; logRateMinutes: number; totalRecords: number }
export interface M307LogRecord {
  datetime: Date | null;
  temp1: M307Reading; temp2: M307Reading; internalTemp: M307Reading; internalHumidity: M307Reading;
  door1State: 'open' | 'closed'; door2State: 'open' | 'closed'; powerStatus: boolean; flags: number;
}
export interface M307Options {
  port?: number; timeout?: number; connectTimeout?: number; logIdleTimeout?: number; logTimeout?: number;
  reconnectMinDelay?: number; reconnectMaxDelay?: number;
}

export class M307Client extends EventEmitter {
  /** An aborted signal closes the connection and rejects with signal.reason (an AbortError). */
  static connect(host: string, options?: M307Options & { signal?: AbortSignal }): Promise<M307Client>;
  /** What connect() checks, without connecting: the options with the library defaults filled in, or a ValidationError naming the bad one. */
  static checkOptions(host: string, options?: M307Options): Required<M307Options> & { host: string };
  readonly host: string;
  readonly port: number;
  readonly state: LinkState;
  readStatus(): Promise<M307Status>;
  getTemperature(sensor?: 1 | 2 | 'internal'): Promise<M307Reading>;
  getHumidity(): Promise<M307Reading>;
  getDoorState(door?: 1 | 2): Promise<'open' | 'closed'>;
  getBatteryVoltage(): Promise<number>;
  getPowerStatus(): Promise<boolean>;
  getDeviceInfo(): Promise<M307DeviceInfo>;
  setDeviceInfo(info: { deviceName?: string; unitOfMeasure?: 'C' | 'F' }): Promise<M307DeviceInfo>;
  getTemperatureSensorNames(): Promise<[string, string]>;
  setTemperatureSensorNames(name1?: string, name2?: string): Promise<[string, string]>;
  getDoorSensorNames(): Promise<[string, string]>;
  setDoorSensorNames(name1?: string, name2?: string): Promise<[string, string]>;
  getInternalSensorNames(): Promise<[string, string]>;
  setInternalSensorNames(temperatureName?: string, humidityName?: string): Promise<[string, string]>;
  getSensorLimits(): Promise<Required<M307Limits>>;
  setSensorLimits(limits: M307Limits): Promise<Required<M307Limits>>;
  getDeviceSettings(): Promise<Required<M307Settings>>;
  setDeviceSettings(settings: M307Settings): Promise<Required<M307Settings>>;
  setLogDatetime(date?: Date, logRateMinutes?: number): Promise<M307LogInfo>;
  getLogInfo(): Promise<M307LogInfo & { dayOfWeek: number }>;
  readLog(options?: {
    resetPointer?: boolean;
    onRecord?: (r: M307LogRecord) => void;
    onProgress?: (p: { received: number; total: number; percent: number | null }) => void;
    signal?: AbortSignal;
  }): Promise<M307LogRecord[]>;
  logRecords(options?: { resetPointer?: boolean; signal?: AbortSignal }): AsyncGenerator<M307LogRecord>;
  readUserRecord(n: 0 | 1 | 2 | 3 | 4 | 5): Promise<Buffer>;
  writeUserRecord(n: 0 | 1 | 2 | 3 | 4 | 5, data: Buffer | Uint8Array): Promise<Buffer>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  static bytesToInt16(msb: number, lsb: number): number;
  static int16ToBytes(value: number): [number, number];
  static bcdToInt(b: number): number | null;
  static intToBcd(n: number): number;
  static parseTemperature(msb: number, lsb: number, resolution?: 0.1 | 1): M307Reading;
  static parseHumidity(msb: number, lsb: number): M307Reading;
}

export const m307: {
  decodeStatus(buf60: Buffer): M307Status;
  decodeClock(buf60: Buffer): { year: number; month: number; day: number; hour: number; minute: number; second: number; dayOfWeek: number; valid: boolean; logRateMinutes: number; totalRecords: number };
  decodeLogRecord(buf15: Buffer, resolution?: 0.1 | 1): Record<string, unknown>;
  decodeUserRecord(buf60: Buffer, n: number): Record<string, string | number>;
  bcdToInt(b: number): number | null;
  intToBcd(n: number): number;
  decodeHour(b: number): number | null;
  encodeHour(hour24: number): number;
};

export const M307Error: typeof FieldlinkError;
export const M307ConnectionError: typeof ConnectionError;
export const M307CommandError: typeof DeviceError;
export const M307ValidationError: typeof ValidationError;

// ---------------------------------------------------------------------------------------
// Outback MATE bus

export type WithUnits<T> = T & { units: Record<string, string>; format(field: string): string };

export interface MxStatus {
  pvCurrent: number; batteryCurrent: number; chargerCurrentTenths: number; kilowattHours: number; ampHours: number;
  ampHoursValid: boolean; pvVoltage: number; batteryVoltage: number;
  chargerMode: 'silent' | 'float' | 'bulk' | 'absorb' | 'equalize' | 'unknown'; chargerModeRaw: number;
  auxMode: number; auxManual: boolean; auxOn: boolean; errors: string[]; errorsRaw: number; raw?: string;
}
export interface MxLogPage {
  day: number; peakAmps: number; batteryMax: number; batteryMin: number; kilowattHours: number; ampHours: number;
  peakPvVoltage: number; absorbMinutes: number; floatMinutes: number; peakKilowatts: number; raw?: string;
}
export interface FxStatus {
  inverterCurrent: number; chargerCurrent: number; buyCurrent: number; sellCurrent: number;
  acInputVoltage: number; acOutputVoltage: number; operationalMode: string; operationalModeRaw: number;
  acMode: 'no-ac' | 'ac-drop' | 'ac-use' | 'unknown'; acModeRaw: number; batteryVoltage: number;
  is230V: boolean; auxOn: boolean; misc: number; errors: string[]; errorsRaw: number; warnings: string[]; warningsRaw: number; raw?: string;
}
export interface DcShunt { current: number; power: number; kilowattHoursToday: number; ampHoursToday: number }
export interface DcStatus {
  pages: number; shuntA: DcShunt; shuntB: DcShunt; shuntC: DcShunt; batteryVoltage: number; stateOfCharge: number;
  chargeParamsMet: boolean; flags: number; inCurrent: number; outCurrent: number; batteryCurrent: number;
  inPower: number; outPower: number; batteryPower: number; todayInAh: number; todayOutAh: number; todayBatteryAh: number;
  todayInKwh: number; todayOutKwh: number; todayBatteryKwh: number; daysSinceFull: number; minSocToday: number;
  netAh: number; netKwh: number; raw?: string;
}
export interface MateRegister { name: string; address: number; scale: number; unit: string; offset: number; signed: boolean; readable: boolean; writable: boolean; evidence: string; note: string }
export interface MateRegisterValue { name: string; value: number; raw: number; address: number; unit: string; evidence: string }

declare class MateDevice {
  readonly bus: MateBus;
  readonly port: number;
  readonly type: 'mx' | 'fx' | 'dc';
  readonly registers: MateRegister[];
  read(name: string): Promise<WithUnits<MateRegisterValue>>;
  readRaw(address: number): Promise<number>;
  write(name: string, value: number): Promise<number>;
  firmware(): Promise<string>;
}
export class MxDevice extends MateDevice {
  getStatus(): Promise<WithUnits<MxStatus>>;
  /** 0 = today, -1 = yesterday ... -127. */
  getLogPage(day?: number): Promise<WithUnits<MxLogPage>>;
}
export type FxControl = 'inverter' | 'acIn' | 'charger' | 'aux' | 'eq';
export class FxDevice extends MateDevice {
  getStatus(): Promise<WithUnits<FxStatus>>;
  getErrors(): Promise<string[]>;
  getWarnings(): Promise<string[]>;
  getControls(): Promise<Record<FxControl, string | number>>;
  setControl(control: 'inverter', value: 'off' | 'search' | 'on'): Promise<string>;
  setControl(control: 'acIn', value: 'drop' | 'use'): Promise<string>;
  setControl(control: 'charger' | 'aux' | 'eq', value: 'off' | 'auto' | 'on'): Promise<string>;
}
export class DcDevice extends MateDevice {
  getStatus(options?: { pages?: 1 | 2 | 3 | 4 | 5 | 6 }): Promise<WithUnits<DcStatus>>;
  /** Clear today's min / max battery voltage (statistics only: allowed without allowControl). */
  resetDailyMinimum(): Promise<number>;
  resetDailyMaximum(): Promise<number>;
}
export interface MateBusOptions {
  parityMode?: 'auto' | 'mark-space' | 'odd-even';
  transport?: 'serial' | 'pjon';
  timeout?: number; retries?: number; allowControl?: boolean;
  serialDriver?: 'auto' | 'libserialport' | 'termios';
  /** 'auto' (default): none on a pseudo-terminal, 2 ms on a serial line. */
  interFrameDelay?: number | 'auto'; baudRate?: number; reconnectMinDelay?: number; reconnectMaxDelay?: number;
}
export interface MateScanEntry { port: number; type: 'hub' | 'mx' | 'fx' | 'dc' | string; typeId: number; firmware?: string }
export class MateBus extends EventEmitter {
  /** An aborted signal closes the port and rejects with signal.reason (an AbortError). */
  static open(path: string, options?: MateBusOptions & { signal?: AbortSignal }): Promise<MateBus>;
  /** What open() checks, without opening: the options with the library defaults filled in, or a ValidationError naming the bad one. */
  static checkOptions(path: string, options?: MateBusOptions): Required<MateBusOptions> & { path: string };
  readonly path: string;
  readonly state: LinkState;
  parityMode: 'mark-space' | 'odd-even' | 'pjon';
  readonly allowControl: boolean;
  readRegister(port: number, address: number): Promise<number>;
  /** Raw WRITE; resolves with the echoed value. Refused with ValidationError ECONTROL unless opened with allowControl. */
  writeRegister(port: number, address: number, value: number): Promise<number>;
  status(port: number, page: number, param?: number): Promise<{ byte0: number; value: number; payload: Buffer }>;
  scan(options?: { firmware?: boolean; onProgress?: (p: { port: number; of: number; found: MateScanEntry | null }) => void }): Promise<MateScanEntry[]>;
  find(type: 'mx'): Promise<MxDevice>;
  find(type: 'fx'): Promise<FxDevice>;
  find(type: 'dc'): Promise<DcDevice>;
  device(port: number, type: 'mx' | 'fx' | 'dc'): MxDevice | FxDevice | DcDevice;
  mx(port?: number): MxDevice;
  fx(port?: number): FxDevice;
  dc(port?: number): DcDevice;
  startMasterDuties(options?: { timeInterval?: number; dateInterval?: number; temperatureInterval?: number; now?: () => Date }): () => void;
  stopMasterDuties(): void;
  parityTrace(): Promise<{ mode: string; packets: Array<Array<{ parity: 'mark' | 'space' | 'odd' | 'even'; bytes: number }>> }>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export const mate: {
  decode: {
    mxStatus(buf: Buffer): WithUnits<MxStatus>;
    fxStatus(buf: Buffer): WithUnits<FxStatus>;
    mxLogPage(buf: Buffer): WithUnits<MxLogPage>;
    dcStatus(buf78: Buffer): WithUnits<DcStatus>;
    time(raw: number): { hour: number; minute: number; second: number };
    date(raw: number): { year: number; month: number; day: number };
  };
  encode: {
    command(port: number, type: number, address: number, value: number): Buffer;
    time(hour: number, minute: number, second: number): number;
    date(year: number, month: number, day: number): number;
  };
  registers(device: 'mx' | 'fx' | 'dc'): MateRegister[];
  format(value: number, unit: string): string;
  DEVICE_TYPES: { hub: 1; fx: 2; mx: 3; dc: 4 };
};

// ---------------------------------------------------------------------------------------
// Discovery and diagnostics

export type DiagnosticCode =
  | 'OK' | 'PORT_NOT_FOUND' | 'NO_RS485_CONVERTER' | 'NO_SENSOR_RESPONSE' | 'AB_LINES_SWAPPED' | 'GROUND_NOT_CONNECTED'
  | 'CRC_ERROR' | 'INVALID_RESPONSE' | 'BAUDRATE_MISMATCH' | 'WRONG_SLAVE_ADDRESS' | 'PERMISSION_DENIED' | 'PORT_BUSY'
  | 'ASCII_AUTOREPORT' | 'PORT_ERROR' | 'HOST_NOT_FOUND' | 'HOST_UNREACHABLE' | 'CONNECTION_REFUSED'
  | 'CONNECTION_TIMEOUT' | 'DEVICE_BUSY' | 'NO_DEVICE_RESPONSE';

export interface DiagnosticResult {
  code: DiagnosticCode;
  ok: boolean;
  step?: string;
  message: string;
  suggestion: string;
  /** Hex of the bytes that were the evidence. */
  rawData: string;
  timestamp: Date;
  details?: Record<string, unknown>;
}

export interface DiagnoseOptions {
  address?: number; baudRate?: number; parity?: 'none' | 'even' | 'odd'; profile?: BuiltInProfile | SensorProfile;
  timeout?: number; tries?: number; listenMs?: number; probe?: boolean; probeTimeout?: number;
  probeAddresses?: number[]; probeBaudRates?: number[]; probeParities?: Array<'none' | 'even' | 'odd'>; sweepAll?: boolean;
  signal?: AbortSignal; onProgress?: (p: Record<string, unknown>) => void;
}

/** The verdict for one sensor on one port. */
export function diagnose(path: string, options?: DiagnoseOptions): Promise<DiagnosticResult>;
/** Every step (port, open, listen, request, probes), in order. */
export function runFullDiagnostic(path: string, options?: DiagnoseOptions): Promise<DiagnosticResult[]>;

export interface ScanHit {
  address: number; baudRate: number; parity: 'none' | 'even' | 'odd'; answer: 'reply' | 'exception';
  registers?: number[]; exception?: number; profile?: string; values?: Record<string, number>; profiles?: unknown[];
}
export function scanModbus(path: string, options?: {
  units?: number[] | string; baudRates?: number[]; parities?: Array<'none' | 'even' | 'odd'>; timeout?: number;
  profile?: BuiltInProfile | SensorProfile; profileProbe?: boolean; stopAfter?: number; signal?: AbortSignal;
  onProgress?: (p: Record<string, unknown>) => void;
}): Promise<ScanHit[]>;
export function probeProfile(bus: ModbusBus, address: number): Promise<Array<Record<string, unknown>>>;
export function testM307(host: string, options?: { port?: number; timeout?: number }): Promise<DiagnosticResult[]>;

// ---------------------------------------------------------------------------------------------
// MQTT and Home Assistant (lib/mqtt, lib/gateway; README "MQTT and Home Assistant")

export type MqttDeviceKind = 'm307' | 'mx' | 'fx' | 'dc' | 'modbus';

/** One message to publish: a string payload ('' removes a retained message). */
export interface MqttMessage { topic: string; payload: string; retain: boolean }

export interface MqttComponent {
  key: string; name: string; platform: 'sensor' | 'binary_sensor' | 'button' | 'select';
  unit?: string; deviceClass?: string | null; stateClass?: string; precision?: number; command?: string; options?: string[];
}

export interface MqttDeviceOptions {
  id: string; kind: MqttDeviceKind; name?: string; model?: string; manufacturer?: string; serialNumber?: string; swVersion?: string;
  /** FX only: offer the FX controls as HA selects. Check the double opt-in before setting it. */
  controls?: boolean;
  /** false leaves out the M307 buttons (set clock, download log). */
  commands?: boolean;
}

export interface MqttDeviceMapping {
  readonly id: string;
  readonly kind: MqttDeviceKind;
  readonly topics: {
    state: string; availability: string; log: string; discovery: string; commandFilter: string;
    command(name: string): string; result(name: string): string; reading(key: string): string;
  };
  components(): MqttComponent[];
  /** The retained device-based discovery message (homeassistant/device/<id>/config). */
  discovery(): MqttMessage;
  /** The empty retained discovery config that removes the device from Home Assistant. */
  removal(): MqttMessage;
  availability(online: boolean): MqttMessage;
  state(reading: object, options?: { at?: number; readingTopics?: boolean }): {
    values: Record<string, unknown> & { seq: number; ts: string; t: number };
    messages: MqttMessage[];
    rediscover: boolean;
  };
}

export interface MqttMapping {
  readonly baseTopic: string;
  readonly discoveryPrefix: string;
  readonly gatewayId: string | null;
  readonly gatewayAvailabilityTopic: string | null;
  readonly haStatusTopic: string;
  gatewayAvailability(online: boolean): MqttMessage;
  device(options: MqttDeviceOptions): MqttDeviceMapping;
}

export interface MqttMappingOptions {
  baseTopic?: string; discoveryPrefix?: string; gatewayId?: string | null; gatewayAvailabilityTopic?: string | null;
  origin?: { name?: string; sw?: string; url?: string }; qos?: 0 | 1 | 2;
}

/** Whether a device answers: the rule the Node-RED nodes and the gateway share (lib/availability.js). */
export class MqttAvailability {
  constructor(options?: { failuresBeforeOffline?: number });
  readonly state: 'unknown' | 'online' | 'offline';
  readonly reason: string | null;
  readonly code: string | null;
  readonly since: Date | null;
  /** A request was answered; true when the state changed. */
  success(): boolean;
  /** A request failed; true when the state changed. */
  failure(err: { code?: string; message?: string }): boolean;
  /** Offline for a reason known from elsewhere; true when the state changed. */
  offline(reason?: string | null, code?: string | null): boolean;
  /** A bus or client `state` event; true when the state changed. */
  linkState(st: { state: string; error?: { code?: string; message?: string } | null }): boolean;
  toJSON(): { state: 'unknown' | 'online' | 'offline'; since: string | null; reason: string | null; code: string | null };
}

export interface MqttPublisherOptions {
  mapping: MqttMapping; url: string; clientId?: string; username?: string; password?: string;
  ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean;
  qos?: 0 | 1 | 2; replay?: number; readingTopics?: boolean; keepalive?: number; reconnectPeriod?: number; stopTimeout?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', event: string, fields: object) => void;
}

export class MqttPublisher extends EventEmitter {
  constructor(options: MqttPublisherOptions);
  readonly connected: boolean;
  readonly stats: { published: number; held: number; dropped: number; announces: number; connects: number };
  addDevice(device: MqttDeviceMapping): void;
  start(): void;
  announceAll(why: string): void;
  publishState(id: string, reading: object, at?: number): Record<string, unknown>;
  setAvailability(id: string, online: boolean): void;
  publish(message: MqttMessage): boolean;
  removeDevice(id: string): boolean;
  stop(): Promise<void>;
  on(event: 'command', listener: (c: { device: string; command: string; payload: string }) => void): this;
  on(event: 'connect' | 'offline', listener: () => void): this;
  on(event: 'announced', listener: (why: string) => void): this;
}

export const mqtt: {
  createMapping(options?: MqttMappingOptions): MqttMapping;
  normalize(kind: MqttDeviceKind, reading: object): Record<string, unknown>;
  guessKind(payload: unknown): MqttDeviceKind | null;
  componentsOf(kind: MqttDeviceKind, options?: { temperatureUnit?: 'C' | 'F'; controls?: boolean }): MqttComponent[];
  KINDS: MqttDeviceKind[];
  MqttPublisher: typeof MqttPublisher;
  Availability: typeof MqttAvailability;
};

/** The gateway config after validation (defaults filled in, the password resolved). */
export interface GatewayConfig {
  gateway: { id: string; logLevel: 'debug' | 'info' | 'warn' | 'error' };
  mqtt: {
    url: string; clientId?: string; username?: string; password?: string; passwordEnv?: string; passwordFile?: string;
    ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean; baseTopic: string; discoveryPrefix: string;
    qos: 0 | 1 | 2; keepalive: number; readingTopics: boolean; replay: number;
  };
  modbus?: Array<{ port: string; baudRate?: number; parity?: 'none' | 'even' | 'odd'; dataBits?: 7 | 8; stopBits?: 1 | 2; timeout?: number; retries?: number; interval: number;
    sensors: Array<{ id: string; name?: string; unit: number; profile: BuiltInProfile; interval?: number }> }>;
  m307?: Array<{ id: string; name?: string; host: string; port: number; timeout: number; interval: number; commands: boolean }>;
  mate?: Array<{ port: string; timeout?: number; retries?: number; parityMode?: 'auto' | 'mark-space' | 'odd-even'; interval: number; allowControl: boolean;
    devices: Array<{ id: string; type: 'mx' | 'fx' | 'dc'; name?: string; hubPort: 'auto' | number; interval?: number; controls: boolean; iUnderstandThisCanCutPower: boolean }> }>;
}

export class GatewayConfigError extends Error {
  readonly code: 'ECONFIG';
  /** One line per problem: "file:line:col: key.path: what is wrong". */
  readonly problems: string[];
}

export class Gateway {
  constructor(config: GatewayConfig, options?: { log?: (level: string, event: string, fields: object) => void });
  readonly publisher: MqttPublisher;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const gateway: {
  parseConfig(text: string, options?: { file?: string; env?: Record<string, string | undefined>; readFile?: (path: string) => string }): GatewayConfig;
  loadConfig(file: string, options?: { env?: Record<string, string | undefined> }): GatewayConfig;
  ConfigError: typeof GatewayConfigError;
  Gateway: typeof Gateway;
  removeDevices(config: GatewayConfig, ids: string[]): Promise<void>;
};
