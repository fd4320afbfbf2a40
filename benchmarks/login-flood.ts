/**
 * `npm run bench:login`: how long a legitimate login takes while 200 bad logins are being
 * checked, with the default login limits and with limits so high that nothing is throttled or
 * bounded (as the broker was before it throttled logins). Real broker, real mqtt.js clients,
 * real sockets bound to distinct loopback addresses; passwords at the default scrypt cost.
 *
 *   npm run bench:login            # table
 *   npm run bench:login -- --json  # rows as JSON
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MqttClient } from 'mqtt';
import {
  createBroker,
  hashPassword,
  type LoginLimits,
  type LoginStats,
  silentLogger,
} from '../broker/index.js';
import { renderTable } from '../runtime/table.js';

const FLOOD = 200;
const UNLIMITED: Partial<LoginLimits> = {
  freeFailures: 1_000_000,
  maxPerAddress: 1_000_000,
  maxHashing: 1_000_000,
  maxQueuedHashes: 1_000_000,
};

interface Scenario {
  readonly limits: 'default' | 'unlimited';
  /** Where the flood comes from: one address, or one address per bad login. */
  readonly flood: 'one address' | 'many addresses';
  /** The legitimate login: a user's first, or one from an address it logged in from before. */
  readonly legit: 'first login' | 'known address';
}

const SCENARIOS: readonly Scenario[] = [
  { limits: 'default', flood: 'one address', legit: 'first login' },
  { limits: 'default', flood: 'many addresses', legit: 'known address' },
  { limits: 'default', flood: 'many addresses', legit: 'first login' },
  { limits: 'unlimited', flood: 'one address', legit: 'first login' },
];

/** Connects from loopback address `from`; resolves 'connected' or the CONNACK return code. */
function loginFrom(port: number, from: string, username: string, password: string) {
  return new Promise<'connected' | number>((resolve, reject) => {
    const client = new MqttClient(
      () => createConnection({ host: '127.0.0.1', port, localAddress: from }),
      { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 300_000 },
    );
    client.once('connect', () => {
      client.end(true);
      resolve('connected');
    });
    client.once('error', (error: Error & { code?: unknown }) => {
      client.end(true);
      if (typeof error.code === 'number') resolve(error.code);
      else reject(error);
    });
  });
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

const seen = (s: LoginStats) => s.accepted + s.refused + s.throttled + s.busy + s.pending;

async function run(scenario: Scenario, dir: string) {
  const users = await Promise.all(
    ['known', 'baseline', 'first'].map(async (username) => ({
      username,
      role: 'ue',
      ue: username,
      passwordHash: await hashPassword(`pw-${username}`),
    })),
  );
  const credentialsFile = join(dir, 'credentials.json');
  writeFileSync(credentialsFile, JSON.stringify({ users }));
  const broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    auth: { credentialsFile },
    loginLimits: scenario.limits === 'default' ? {} : UNLIMITED,
    logger: silentLogger,
  });
  const stats = (): LoginStats => {
    const logins = broker.stats().logins;
    if (logins === undefined) throw new Error('authentication is off');
    return logins;
  };
  const login = (from: string, username: string) =>
    loginFrom(broker.port, from, username, `pw-${username}`);
  try {
    const baseline = await timed(() => login('127.0.10.1', 'baseline'));
    await login('127.0.10.2', 'known');
    const before = stats();
    const flood = Array.from({ length: FLOOD }, (_, i) =>
      loginFrom(
        broker.port,
        scenario.flood === 'one address' ? '127.0.11.1' : `127.0.12.${i + 1}`,
        `nobody-${i}`,
        'wrong',
      ),
    );
    // Every flood CONNECT read before the legitimate login starts.
    while (seen(stats()) < seen(before) + FLOOD)
      await new Promise((resolve) => setTimeout(resolve, 5));
    const legit = await timed(() =>
      scenario.legit === 'first login'
        ? login('127.0.10.3', 'first')
        : login('127.0.10.2', 'known'),
    );
    const floodTime = await timed(() => Promise.all(flood));
    const after = stats();
    return {
      ...scenario,
      baselineMs: Math.round(baseline.ms),
      legitMs: Math.round(legit.ms),
      outcome: legit.value === 'connected' ? 'connected' : `refused (CONNACK ${legit.value})`,
      floodHashes: after.hashes - before.hashes - (legit.value === 'connected' ? 1 : 0),
      floodRefusedAtOnce: after.throttled + after.busy - before.throttled - before.busy,
      floodDrainMs: Math.round(legit.ms + floodTime.ms),
    };
  } finally {
    await broker.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'edgesplit-bench-login-'));
const rows = [];
try {
  for (const scenario of SCENARIOS) rows.push(await run(scenario, dir));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
else {
  const [one, five] = loadavg();
  process.stdout.write(
    `${cpus().length} cores, load average ${one?.toFixed(1)} / ${five?.toFixed(1)}; ${FLOOD} bad logins, scrypt N=16384\n\n`,
  );
  process.stdout.write(
    `${renderTable(
      [
        'limits / flood / legitimate login',
        'baseline ms',
        'during flood ms',
        'outcome',
        'flood hashes',
        'refused unchecked',
      ],
      rows.map((row) => [
        `${row.limits} / ${row.flood} / ${row.legit}`,
        String(row.baselineMs),
        String(row.legitMs),
        row.outcome,
        String(row.floodHashes),
        String(row.floodRefusedAtOnce),
      ]),
      'first-left',
    )}\n`,
  );
}
process.exit(0);
