/**
 * The embedded broker under a flood from one address (127.0.0.1), seen by a legitimate client
 * on another (127.0.0.2): its login time (TCP, TLS handshake, CONNECT, scrypt check, CONNACK)
 * and the round trip of a QoS 1 publish back to itself through the broker, first without a
 * flood, then during a flood of logins with wrong passwords, then during a flood of half-open
 * TLS sockets (6 bytes of a ClientHello, then nothing). The broker is `edgesplit broker` with
 * TLS, a credentials file (scrypt) and its default connection limits, in a process of its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { hashPassword } from '../broker/index.js';
import { renderTable } from '../runtime/table.js';
import { quantileSorted } from '../stats/quantile.js';
import { freePort } from '../system/index.js';
import { selfSignedCert } from '../test/self-signed-cert.js';
import { type Child, startCli } from './system-children.js';
import { FLOOD_FROM, type FloodKind } from './system-flood-load.js';

/** Latencies of one phase, in ms. */
export interface FloodPhase {
  readonly flood: 'none' | 'wrong-password logins' | 'half-open TLS';
  readonly loginP50Ms: number;
  readonly loginP95Ms: number;
  readonly roundTripP50Ms: number;
  readonly roundTripP99Ms: number;
  /** Logins of the legitimate client that failed (should be 0). */
  readonly failedLogins: number;
  /** Flood connections the broker closed during the phase (refused or timed out). */
  readonly floodClosed: number;
}

export interface FloodResult {
  /** Parallel flood connections kept open (wrong-password logins or half-open sockets). */
  readonly floodWidth: number;
  readonly logins: number;
  readonly roundTrips: number;
  readonly phases: readonly FloodPhase[];
}

export interface FloodPlan {
  readonly floodWidth: number;
  readonly logins: number;
  readonly roundTrips: number;
}

const CLIENT_FROM = '127.0.0.2';
const USER = 'bench-scheduler';
const PASSWORD = 'bench-scheduler-password';
const TOPIC = 'bench-flood/v1/ue/ue-1/decision';
/** How long the legitimate client waits for its CONNACK (the broker's own deadline is 10 s). */
const LOGIN_TIMEOUT_MS = 30_000;

function selfSigned(dir: string): { key: string; cert: string } {
  const { keyFile, certFile } = selfSignedCert(dir);
  return { key: keyFile, cert: certFile };
}

/** A flood running in a process of its own (system-flood-load.ts), so that its client-side
 * work does not slow the legitimate client down. */
interface Flood {
  /** Stops it; resolves with the number of its connections that ended meanwhile. */
  stop(): Promise<number>;
}

const LOAD_SCRIPT = fileURLToPath(new URL('./system-flood-load.ts', import.meta.url));

async function startFlood(
  kind: FloodKind,
  port: number,
  caFile: string,
  width: number,
): Promise<Flood> {
  const args = ['--import', 'tsx', LOAD_SCRIPT, kind, `${port}`, caFile, `${width}`];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!output.includes('flooding')) return;
      child.stdout.off('data', check);
      resolve();
    };
    child.stdout.on('data', check);
    exited.then(() => reject(new Error(`flood ${kind} exited early: ${output}`)));
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      const closed = /closed (\d+)/.exec(output);
      return closed === null ? Number.NaN : Number(closed[1]);
    },
  };
}

/** One login: the client once connected, undefined if refused, closed or timed out. */
function login(options: IClientOptions & { url: string }): Promise<MqttClient | undefined> {
  const { url, ...rest } = options;
  const client = mqtt.connect(url, { ...rest, connectTimeout: LOGIN_TIMEOUT_MS });
  // Errors after the outcome (a late connack timeout) must not go unheard.
  client.on('error', () => undefined);
  return new Promise((resolve) => {
    client.once('connect', () => resolve(client));
    client.once('close', () => {
      client.end(true);
      resolve(undefined);
    });
  });
}

async function measurePhase(
  flood: FloodPhase['flood'],
  url: string,
  ca: Buffer,
  plan: FloodPlan,
  flooding: () => Promise<Flood | undefined>,
  log: (line: string) => void,
): Promise<FloodPhase> {
  log(`flood: ${flood} ...`);
  const running = await flooding();
  let stopped = false;
  const stopFlood = async () => {
    if (stopped) return 0;
    stopped = true;
    return (await running?.stop()) ?? 0;
  };
  try {
    // Let the flood build up first.
    if (running !== undefined) await new Promise((resolve) => setTimeout(resolve, 2000));
    const options = {
      url,
      username: USER,
      password: PASSWORD,
      ca,
      reconnectPeriod: 0,
      ...{ localAddress: CLIENT_FROM },
    };
    const logins: number[] = [];
    let failedLogins = 0;
    for (let i = 0; i < plan.logins; i++) {
      const started = performance.now();
      const client = await login(options);
      if (client === undefined) failedLogins += 1;
      else {
        logins.push(performance.now() - started);
        await client.endAsync(true);
      }
    }
    log(`flood: ${flood}: ${logins.length} logins, ${failedLogins} failed; round trips ...`);
    const client = await login(options);
    if (client === undefined)
      throw new Error(`flood ${flood}: the legitimate client cannot log in`);
    const trips: number[] = [];
    try {
      await client.subscribeAsync(TOPIC, { qos: 1 });
      for (let i = 0; i < plan.roundTrips; i++) {
        const started = performance.now();
        const back = new Promise<void>((resolve) => client.once('message', () => resolve()));
        await client.publishAsync(TOPIC, 'x', { qos: 1 });
        await back;
        trips.push(performance.now() - started);
      }
    } finally {
      await client.endAsync(true);
    }
    const floodClosed = await stopFlood();
    logins.sort((a, b) => a - b);
    trips.sort((a, b) => a - b);
    // NaN where nothing was measured (every login failed), which the table prints as such.
    const percentile = (sorted: number[], q: number) => quantileSorted(sorted, q) ?? Number.NaN;
    return {
      flood,
      loginP50Ms: percentile(logins, 0.5),
      loginP95Ms: percentile(logins, 0.95),
      roundTripP50Ms: percentile(trips, 0.5),
      roundTripP99Ms: percentile(trips, 0.99),
      failedLogins,
      floodClosed,
    };
  } finally {
    await stopFlood();
  }
}

/** Sizes of a full run and of `--quick`. */
export function floodPlanOf(quick: boolean): FloodPlan {
  return { floodWidth: 200, logins: quick ? 5 : 20, roundTrips: quick ? 50 : 200 };
}

const FLOOD_ROWS: readonly (readonly [string, (phase: FloodPhase) => string])[] = [
  ['login p50 ms', (p) => ms(p.loginP50Ms)],
  ['login p95 ms', (p) => ms(p.loginP95Ms)],
  ['round trip p50 ms', (p) => ms(p.roundTripP50Ms)],
  ['round trip p99 ms', (p) => ms(p.roundTripP99Ms)],
  ['failed logins', (p) => `${p.failedLogins}`],
  ['flood connections closed', (p) => `${p.floodClosed}`],
];

function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** The flood table and what it measured, as lines. */
export function floodLines(result: FloodResult): string[] {
  const header = ['', ...result.phases.map((p) => (p.flood === 'none' ? 'no flood' : p.flood))];
  const body = FLOOD_ROWS.map(([label, cell]) => [label, ...result.phases.map(cell)]);
  return [
    `Flood: edgesplit broker (TLS, scrypt credentials, default connection limits) in a process of ` +
      `its own; ${result.floodWidth} flood connections from ${FLOOD_FROM} kept going (wrong-password ` +
      `logins, or sockets that send 6 bytes of a ClientHello and nothing more); a legitimate client ` +
      `on ${CLIENT_FROM} logs in ${result.logins} times one after the other, then times ` +
      `${result.roundTrips} QoS 1 round trips to itself through the broker.`,
    '',
    renderTable(header, body, 'first-left'),
  ];
}

/** Runs the three phases against one fresh broker process. */
export async function measureFlood(
  plan: FloodPlan,
  log: (line: string) => void = () => undefined,
): Promise<FloodResult> {
  const dir = mkdtempSync(join(tmpdir(), 'edgesplit-bench-flood-'));
  let broker: Child | undefined;
  try {
    const { key, cert } = selfSigned(dir);
    const ca = readFileSync(cert);
    const credentials = join(dir, 'credentials.json');
    const passwordHash = await hashPassword(PASSWORD);
    writeFileSync(
      credentials,
      JSON.stringify({ users: [{ username: USER, role: 'scheduler', passwordHash }] }),
    );
    const port = await freePort();
    const args = ['broker', '--no-ingress', '--host', '0.0.0.0', '--port', `${port}`];
    args.push('--tls-key', key, '--tls-cert', cert, '--credentials', credentials);
    const env = {
      mqttUrl: `mqtts://127.0.0.1:${port}`,
      redisUrl: 'redis://127.0.0.1:6379',
      topicPrefix: 'bench-flood/v1',
      redisPrefix: 'bench-flood',
    };
    broker = await startCli('flood broker', args, env, /listening on/, 30_000, {
      fromSource: true,
      extraEnv: { EDGESPLIT_TOPIC_PREFIX: env.topicPrefix },
    });
    const url = env.mqttUrl;
    // The broker keeps a password scrypt has accepted: the first login pays for it, not the
    // measured ones.
    const first = await login({ url, username: USER, password: PASSWORD, ca, reconnectPeriod: 0 });
    if (first === undefined) throw new Error('flood broker: the legitimate client cannot log in');
    await first.endAsync(true);
    const phases: FloodPhase[] = [];
    const caFile = cert;
    const none = async () => undefined;
    phases.push(await measurePhase('none', url, ca, plan, none, log));
    phases.push(
      await measurePhase(
        'wrong-password logins',
        url,
        ca,
        plan,
        () => startFlood('logins', port, caFile, plan.floodWidth),
        log,
      ),
    );
    phases.push(
      await measurePhase(
        'half-open TLS',
        url,
        ca,
        plan,
        () => startFlood('half-open', port, caFile, plan.floodWidth),
        log,
      ),
    );
    return { ...plan, phases };
  } finally {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
