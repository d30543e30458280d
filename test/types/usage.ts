// Compiled by test/api/typings.test.js with `tsc --noEmit --strict`: the public typings
// must accept the documented usage and reject misuse (the @ts-expect-error lines).
import { ModbusBus, ModbusSensor, listPorts, errors, FieldlinkError, SensorReading, BusStats, PortInfo, configureEngine, engineStats, EngineStats } from '../../lib';

async function main(): Promise<void> {
  const bus: ModbusBus = await ModbusBus.open('/dev/ttyUSB0', { baudRate: 9600, parity: 'none', timeout: 500 });
  const tcp = await ModbusBus.open('tcp://192.168.1.50:502', { retries: 1, interFrameDelay: 'auto' });
  const s: ModbusSensor = bus.sensor(1, { profile: 'xy-md02' });
  const r: SensorReading = await s.read();
  const t: number | undefined = r.temperature;
  const when: Date = r.timestamp;
  const cfg = await s.readConfig();
  const addr: number | undefined = cfg.address;
  await s.setTemperatureCorrection(-2.0);
  await s.setHumidityCorrection(1.5);
  const moved = await s.setAddress(5);
  const active: boolean = moved.active;
  await s.setBaudRate(19200);
  const regs: number[] = await bus.readInputRegisters(1, 0x0001, 2);
  await bus.readHoldingRegisters(1, 0x0101, 4);
  await bus.writeRegister(1, 0x0103, 0xffec);
  await bus.writeRegisters(1, 0x0103, [0, 0]);
  const st: BusStats = await bus.stats();
  const p99: number | null = st.latency.p99;
  bus.on('state', (e) => {
    const state: 'connecting' | 'open' | 'reconnecting' | 'closed' = e.state;
    void state;
  });
  bus.sensor(2, { profile: { extends: 'xy-md02', functionCode: 3, temperature: { register: 0, scale: 10, signed: true } } });
  const ports: PortInfo[] = await listPorts();
  const rs485: boolean = ports[0].isRs485;
  const eng: EngineStats = configureEngine({ spinMicros: 0 });
  const hits: number = engineStats().spinHits + eng.spins;
  void hits;
  try {
    await bus.readInputRegisters(1, 1, 1);
  } catch (e) {
    if (e instanceof errors.DeviceError) {
      const code: number | undefined = e.exceptionCode;
      void code;
    }
    if (e instanceof FieldlinkError) console.log(e.code);
  }
  // @ts-expect-error parity must be none/even/odd
  await ModbusBus.open('/dev/ttyUSB0', { parity: 'mark' });
  // @ts-expect-error unknown profile name
  bus.sensor(1, { profile: 'nope' });
  // @ts-expect-error values must be an array
  await bus.writeRegisters(1, 0, 5);
  await tcp.close();
  await bus.close();
  void [t, when, addr, active, regs, p99, rs485];
}

void main;

import { M307Client, MateBus, mate, m307, M307Status } from '../../lib';

async function devices(): Promise<void> {
  const m = await M307Client.connect('192.168.1.100', { port: 10001, timeout: 5000 });
  const s: M307Status = await m.readStatus();
  const t: number | null = s.temperatureSensor1.reading;
  const door: 'open' | 'closed' = s.door1.state;
  await m.setSensorLimits({ tempSensor1: { lowerLimit: -20, upperLimit: 5, timeDelay: 15 }, door1TimeDelay: 5 });
  await m.setDeviceSettings({ buzzerEnabled: false });
  const recs = await m.readLog({ resetPointer: true, onProgress: (p) => void p.percent });
  for await (const r of m.logRecords()) void r.temp1;
  // @ts-expect-error sensor 3 does not exist
  await m.getTemperature(3);
  const bus = await MateBus.open('/dev/ttyUSB0', { parityMode: 'auto', timeout: 100, retries: 2 });
  const found = await bus.scan();
  const mx = await bus.find('mx');
  const st = await mx.getStatus();
  const v: string = st.format('batteryVoltage');
  const page = await mx.getLogPage(-1);
  const fx = await bus.find('fx');
  await fx.setControl('inverter', 'search');
  // @ts-expect-error 'search' is not an acIn value
  await fx.setControl('acIn', 'search');
  const dc = await bus.find('dc');
  const soc: number = (await dc.getStatus()).stateOfCharge;
  const decoded = mate.decode.mxStatus(Buffer.alloc(13));
  const hour: number | null = m307.decodeHour(0x72);
  void [t, door, recs, found, v, page, soc, decoded, hour];
}
void devices;

import { diagnose, runFullDiagnostic, scanModbus, testM307, DiagnosticResult } from '../../lib';

async function diagnostics(): Promise<void> {
  const r: DiagnosticResult = await diagnose('/dev/ttyUSB0', { address: 1, baudRate: 9600 });
  const ok: boolean = r.ok;
  const steps = await runFullDiagnostic('/dev/ttyUSB0');
  const hits = await scanModbus('/dev/ttyUSB0', { baudRates: [9600, 19200], signal: new AbortController().signal });
  const m = await testM307('192.168.1.100');
  // @ts-expect-error not a code
  const bad: DiagnosticResult['code'] = 'NOPE';
  void [ok, steps, hits, m, bad];
}
void diagnostics;

import { mqtt, gateway, GatewayConfig, MqttDeviceMapping } from '../../lib';

function mqttMapping(): void {
  const map = mqtt.createMapping({ gatewayId: 'shed', baseTopic: 'fieldlink' });
  const dev: MqttDeviceMapping = map.device({ id: 'room1', kind: 'modbus', name: 'Room 1' });
  const d = dev.discovery();
  const topic: string = d.topic;
  const out = dev.state({ temperature: 21.5, humidity: 40 }, { at: Date.now() });
  const seq: number = out.values.seq;
  const cfg: GatewayConfig = gateway.parseConfig('gateway: { id: g }', { file: 'g.yaml' });
  const gw = new gateway.Gateway(cfg);
  void gw.start();
  // @ts-expect-error not a device kind
  map.device({ id: 'x', kind: 'plc' });
  void [topic, seq];
}
void mqttMapping;
