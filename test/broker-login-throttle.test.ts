import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  addressKey,
  type Broker,
  createBroker,
  DEFAULT_LOGIN_LIMITS,
  HashGate,
  HashGateFullError,
  hashPassword,
  type LoginLimits,
  type LoginStats,
} from '../broker/index.js';
import { deriveUeKey } from '../runtime/ue-key.js';
import { CliProcess, type Exit } from './cli-process.js';
import { runCli } from './cli-run.js';
import { messageText } from './log-lines.js';
import { recordingLogger } from './recording-logger.js';

// CONNACK return codes (MQTT 3.1.1).
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const CHEAP = { N: 1024, r: 8, p: 1 } as const;
const FLEET_KEY = 'fleet-key-for-throttle-tests-0123456789';

const dir = mkdtempSync(join(tmpdir(), 'edgesplit-login-throttle-'));
const brokers: Broker[] = [];
const clients: MqttClient[] = [];
afterAll(async () => {
  for (const client of clients) client.end(true);
  await Promise.all(brokers.map((broker) => broker.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** A broker on a free port with these users in a credentials file (role ue, UE = username). */
async function brokerWith(
  users: Record<string, string>,
  loginLimits: Partial<LoginLimits>,
  cost: { N: number; r: number; p: number } = CHEAP,
  ueFleetKey?: string,
) {
  const records = await Promise.all(
    Object.entries(users).map(async ([username, password]) => ({
      username,
      role: 'ue',
      ue: username,
      passwordHash: await hashPassword(password, cost),
    })),
  );
  const credentialsFile = join(dir, `credentials-${brokers.length}.json`);
  writeFileSync(credentialsFile, JSON.stringify({ users: records }));
  const { lines, logger } = recordingLogger();
  const broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    auth: { credentialsFile, ...(ueFleetKey === undefined ? {} : { ueFleetKey }) },
    loginLimits,
    logger,
  });
  brokers.push(broker);
  return { broker, lines };
}

/** How one login ended: connected, or the CONNACK return code that refused it. */
type Outcome = 'connected' | number;

/**
 * Logs in over a socket bound to the loopback address `from` (127.0.0.0/8 is all loopback), so
 * the broker sees the client at that address; resolves connected or the refusing return code.
 */
function loginFrom(port: number, from: string, username: string, password: string) {
  return new Promise<Outcome>((resolve, reject) => {
    const client = new MqttClient(
      () => createConnection({ host: '127.0.0.1', port, localAddress: from }),
      {
        username,
        password,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 60_000,
      },
    );
    clients.push(client);
    client.once('connect', () => {
      resolve('connected');
      client.end(true);
    });
    client.once('error', (error: Error & { code?: unknown }) => {
      client.end(true);
      if (typeof error.code === 'number') resolve(error.code);
      else reject(error);
    });
    client.once('close', () =>
      reject(new Error(`${username} from ${from}: closed before a CONNACK`)),
    );
  });
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

function loginStats(broker: Broker): LoginStats {
  const stats = broker.stats().logins;
  if (stats === undefined) throw new Error('authentication is off');
  return stats;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops the clock the broker's throttle reads (Date; timers and sockets run as usual): a wait
 * ends only when the test moves the clock on (`advanceClock`), never because the machine was
 * slow, so a check made inside a wait is inside it however long the logins took.
 */
function stopTheClock(): void {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
}

function advanceClock(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

/** Logins the broker has decided or is checking. */
function loginsSeen(broker: Broker): number {
  const { accepted, refused, throttled, busy, pending } = loginStats(broker);
  return accepted + refused + throttled + busy + pending;
}

/** Waits until the broker has seen `count` more logins than `from` (every flood CONNECT read). */
async function untilSeen(broker: Broker, from: number, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (loginsSeen(broker) < from + count) {
    if (Date.now() > deadline)
      throw new Error(`the broker saw ${loginsSeen(broker) - from} of ${count} logins`);
    await sleep(5);
  }
}

describe('login throttling', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses an address past its free failures without hashing, even with the right password, and logs why; other and known addresses still log in; it gets in once its wait is over, not a millisecond before', async () => {
    const backoffMs = 6000;
    stopTheClock();
    const { broker, lines } = await brokerWith(
      { 'ue-1': 'pw-1', 'ue-2': 'pw-2' },
      { freeFailures: 3, backoffMs, maxBackoffMs: backoffMs },
    );
    const login = (from: string, username: string, password: string) =>
      loginFrom(broker.port, from, username, password);
    // ue-1 logs in from 127.0.2.6 first, which makes that address known for it.
    expect(await login('127.0.2.6', 'ue-1', 'pw-1')).toBe('connected');

    for (let i = 0; i < 4; i++)
      expect(await login('127.0.2.4', 'ue-1', `wrong-${i}`)).toBe(BAD_USERNAME_OR_PASSWORD);
    const before = loginStats(broker);
    // The right passwords, from the address in backoff: refused without a hash. The clock stands
    // still, so every check below is made inside the wait.
    expect(await login('127.0.2.4', 'ue-1', 'pw-1')).toBe(NOT_AUTHORIZED);
    expect(await login('127.0.2.4', 'ue-2', 'pw-2')).toBe(NOT_AUTHORIZED);
    // ue-1 is held back from addresses not known for it...
    expect(await login('127.0.2.5', 'ue-1', 'pw-1')).toBe(NOT_AUTHORIZED);
    const after = loginStats(broker);
    expect(after.hashes).toBe(before.hashes);
    expect(after.throttled).toBe(before.throttled + 3);
    // ...but not from the address it used before, and other users are not held back at all.
    expect(await login('127.0.2.6', 'ue-1', 'pw-1')).toBe('connected');
    expect(await login('127.0.2.5', 'ue-2', 'pw-2')).toBe('connected');

    const refused = lines.filter((line) => line.startsWith('refused connect'));
    expect(
      refused.some((line) =>
        /username="ue-1" remote=127\.0\.2\.4:\d+ reason="throttled: 4 failed logins from 127\.0\.2\.4; next try allowed in 6\.0 s"/.test(
          line,
        ),
      ),
    ).toBe(true);
    expect(
      refused.some((line) =>
        /username="ue-1" remote=127\.0\.2\.5:\d+ reason="throttled: 4 failed logins as ue-1 from addresses not known for it/.test(
          line,
        ),
      ),
    ).toBe(true);

    // A millisecond before the wait is over the address is still held back; once it is over it
    // gets a try, and the right password logs in.
    advanceClock(backoffMs - 1);
    expect(await login('127.0.2.4', 'ue-1', 'pw-1')).toBe(NOT_AUTHORIZED);
    advanceClock(1);
    expect(await login('127.0.2.4', 'ue-1', 'pw-1')).toBe('connected');
  });

  it('doubles the wait with each failure after it; failures from an address known for a user hold back only that pair', async () => {
    stopTheClock();
    const { broker } = await brokerWith(
      { 'ue-1': 'pw-1' },
      { freeFailures: 1, backoffMs: 2000, maxBackoffMs: 60_000 },
    );
    const login = (from: string, username: string, password: string) =>
      loginFrom(broker.port, from, username, password);
    expect(await login('127.0.5.1', 'ue-1', 'pw-1')).toBe('connected');
    // Failures of the known pair itself: after the second, a 2 s wait.
    expect(await login('127.0.5.1', 'ue-1', 'wrong')).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await login('127.0.5.1', 'ue-1', 'wrong')).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await login('127.0.5.1', 'ue-1', 'pw-1')).toBe(NOT_AUTHORIZED);
    // Other addresses are not held back by the failures of a known pair.
    expect(await login('127.0.5.2', 'ue-1', 'pw-1')).toBe('connected');
    advanceClock(2000); // the 2 s wait is over
    // The third failure doubles the wait to 4 s: a millisecond short of that it is still waiting.
    expect(await login('127.0.5.1', 'ue-1', 'wrong')).toBe(BAD_USERNAME_OR_PASSWORD);
    advanceClock(3999);
    expect(await login('127.0.5.1', 'ue-1', 'pw-1')).toBe(NOT_AUTHORIZED);
    advanceClock(1);
    expect(await login('127.0.5.1', 'ue-1', 'pw-1')).toBe('connected');
  });

  it('lets a first login through during a flood of 200 parallel bad logins from another address, within 10 times a baseline login, the flood costing few hashes and few log lines', async () => {
    const limits = DEFAULT_LOGIN_LIMITS;
    // Real password cost (scrypt N = 2^14, about 50 ms a hash) and the default limits.
    const { broker, lines } = await brokerWith(
      { 'cam-a': 'pw-a', 'cam-b': 'pw-b', 'cam-c': 'pw-c' },
      {},
      { N: 16_384, r: 8, p: 1 },
    );
    const login = (from: string, username: string, password: string) =>
      loginFrom(broker.port, from, username, password);
    const baseline = await timed(() => login('127.0.3.1', 'cam-a', 'pw-a'));
    expect(baseline.value).toBe('connected');

    const hashesBefore = loginStats(broker).hashes;
    const seen = loginsSeen(broker);
    const flood = Array.from({ length: 200 }, (_, i) =>
      login('127.0.3.2', i % 2 === 0 ? 'cam-c' : `nobody-${i}`, `wrong-${i}`),
    );
    // The legitimate login comes while the flood is being checked, as in a flood that lasts.
    await untilSeen(broker, seen, 200);
    const legit = await timed(() => login('127.0.3.3', 'cam-b', 'pw-b'));
    const refusals = await Promise.all(flood);

    expect(legit.value).toBe('connected');
    expect(
      legit.ms,
      `login during the flood ${legit.ms.toFixed(0)} ms, baseline ${baseline.ms.toFixed(0)} ms`,
    ).toBeLessThan(10 * baseline.ms);
    // Every flooding login is refused (none hangs, none gets in).
    expect(
      refusals.every((code) =>
        [SERVER_UNAVAILABLE, BAD_USERNAME_OR_PASSWORD, NOT_AUTHORIZED].includes(code as number),
      ),
      refusals.join(','),
    ).toBe(true);
    // An address hashes at most its free failures plus what it may have in flight at once.
    const floodHashes = loginStats(broker).hashes - hashesBefore - 1;
    expect(floodHashes).toBeLessThanOrEqual(limits.freeFailures + limits.maxPerAddress);
    // Refused unchecked, and logged once per kind (busy, throttled) in the quiet window, not 190 times.
    const heldBack = lines.filter(
      (line) => line.includes('remote=127.0.3.2:') && /reason="(busy|throttled): /.test(line),
    );
    expect(heldBack.length).toBeGreaterThan(0);
    expect(heldBack.length).toBeLessThanOrEqual(2);
  });

  it('lets a user in from an address it used before during a flood of 200 bad logins from 200 addresses, within 10 times a baseline login; the hash queue refuses the excess at once (server unavailable)', async () => {
    const { broker } = await brokerWith(
      { 'cam-a': 'pw-a', 'cam-b': 'pw-b' },
      {},
      { N: 16_384, r: 8, p: 1 },
    );
    const login = (from: string, username: string, password: string) =>
      loginFrom(broker.port, from, username, password);
    const baseline = await timed(() => login('127.0.6.1', 'cam-a', 'pw-a'));
    expect(baseline.value).toBe('connected');
    expect(await login('127.0.6.2', 'cam-b', 'pw-b')).toBe('connected');

    const before = loginStats(broker);
    const seen = loginsSeen(broker);
    // Each address tries one unknown name: no address or name reaches its free failures.
    const flood = Array.from({ length: 200 }, (_, i) =>
      login(`127.0.7.${i + 1}`, `nobody-${i}`, `wrong-${i}`),
    );
    await untilSeen(broker, seen, 200);
    const legit = await timed(() => login('127.0.6.2', 'cam-b', 'pw-b'));
    const refusals = await Promise.all(flood);
    const after = loginStats(broker);

    expect(legit.value).toBe('connected');
    expect(
      legit.ms,
      `login during the flood ${legit.ms.toFixed(0)} ms, baseline ${baseline.ms.toFixed(0)} ms`,
    ).toBeLessThan(10 * baseline.ms);
    expect(refusals.every((code) => code !== 'connected')).toBe(true);
    // More logins than the queue holds arrived at once: the excess was refused, not queued.
    expect(after.busy).toBeGreaterThan(before.busy);
    expect(refusals.filter((code) => code === SERVER_UNAVAILABLE).length).toBe(
      after.busy - before.busy,
    );
  });

  it('keeps its tables bounded: 240 bad logins from 60 addresses leave exactly maxTracked addresses and usernames tracked, all forgotten after forgetMs', async () => {
    const forgetMs = 8000;
    // However long the 240 logins take, none of the records is forgotten before the count.
    stopTheClock();
    const { broker } = await brokerWith(
      {},
      { maxTracked: 20, freeFailures: 2, backoffMs: 1000, maxBackoffMs: 1000, forgetMs },
      CHEAP,
      FLEET_KEY,
    );
    // Fleet-key logins of unknown UE ids: failures that cost no hash, as fast as they come.
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, async (_, a) => {
        const results: Outcome[] = [];
        for (let n = 0; n < 4; n++)
          results.push(await loginFrom(broker.port, `127.0.8.${a + 1}`, `ue-${a}-${n}`, 'wrong'));
        return results;
      }),
    );
    // Every one refused: the first three tries of an address are checked and fail; the fourth is
    // held back, unless 40 other addresses failing since pushed the address's record out.
    for (const results of outcomes) {
      expect(results.slice(0, 3)).toEqual(Array(3).fill(BAD_USERNAME_OR_PASSWORD));
      expect([BAD_USERNAME_OR_PASSWORD, NOT_AUTHORIZED]).toContain(results[3]);
    }
    const full = loginStats(broker).tracked;
    expect(full.addresses).toBe(20);
    expect(full.usernames).toBe(20);
    expect(full.inFlight).toBe(0);
    advanceClock(forgetMs);
    const forgotten = loginStats(broker).tracked;
    expect([forgotten.addresses, forgotten.usernames, forgotten.pairs]).toEqual([0, 0, 0]);
    // A UE with its derived key logs in from one of those addresses again.
    expect(await loginFrom(broker.port, '127.0.8.1', 'ue-9', deriveUeKey(FLEET_KEY, 'ue-9'))).toBe(
      'connected',
    );
  });
});

describe('the hash gate', () => {
  it('runs at most its concurrency of real hashes at once, in order, and refuses one beyond its queue at once', async () => {
    const gate = new HashGate({ concurrency: 2, maxQueued: 2 });
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const hash = (name: string) => async () => {
      order.push(name);
      running += 1;
      most = Math.max(most, running);
      await hashPassword(name, CHEAP);
      running -= 1;
    };
    const admitted = ['a', 'b', 'c', 'd'].map((name) => gate.run(hash(name)));
    await expect(gate.run(hash('e'))).rejects.toThrow(HashGateFullError);
    expect(running).toBe(2);
    await Promise.all(admitted);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(most).toBe(2);
    expect(gate.started).toBe(4);
  });
});

describe('client addresses', () => {
  it('throttles IPv4 (also IPv4-mapped) by address and IPv6 by its /64', () => {
    expect(addressKey('10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});

describe('edgesplit broker login limits from the environment', () => {
  it('throttles as EDGESPLIT_LOGIN_* say, logging why, and exits 0 on SIGTERM', async () => {
    const token = 'sched-token-0123456789';
    const broker = CliProcess.start(
      'broker',
      ['broker', '--port', '0', '--host', '127.0.0.1', '--no-ingress'],
      {
        EDGESPLIT_TOKENS: `sched:scheduler:${token}`,
        EDGESPLIT_LOGIN_FREE_FAILURES: '1',
        EDGESPLIT_LOGIN_BACKOFF_MS: '60000',
        EDGESPLIT_LOGIN_MAX_BACKOFF_MS: '60000',
      },
    );
    let exit: Exit | undefined;
    try {
      const listening = await broker.waitForLog(/listening on mqtt:\/\/127\.0\.0\.1:\d+/);
      const port = Number(listening.port);
      expect(await loginFrom(port, '127.0.9.1', 'sched', 'wrong-1')).toBe(BAD_USERNAME_OR_PASSWORD);
      expect(await loginFrom(port, '127.0.9.1', 'sched', 'wrong-2')).toBe(BAD_USERNAME_OR_PASSWORD);
      expect(await loginFrom(port, '127.0.9.1', 'sched', token)).toBe(NOT_AUTHORIZED);
      await broker.waitForLog(
        /throttled: 2 failed logins from 127\.0\.9\.1; next try allowed in (59|60)\.\d s/,
      );
    } finally {
      exit = await broker.stop(30_000);
    }
    // SIGTERM ends it by exiting on its own, not by the signal or a SIGKILL.
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('refuses limits that do not fit together, naming the variables', () => {
    const result = runCli(['broker', '--port', '0', '--no-ingress'], undefined, {
      EDGESPLIT_TOKENS: 'sched:scheduler:sched-token-0123456789',
      EDGESPLIT_LOGIN_FORGET_MS: '1000',
    });
    expect(result.code).toBe(2);
    expect(messageText(result.stderr)).toMatch(
      /EDGESPLIT_LOGIN_FORGET_MS must be at least EDGESPLIT_LOGIN_MAX_BACKOFF_MS/,
    );
    const bad = runCli(['broker', '--port', '0', '--no-ingress'], undefined, {
      EDGESPLIT_TOKENS: 'sched:scheduler:sched-token-0123456789',
      EDGESPLIT_LOGIN_MAX_HASHING: 'two',
    });
    expect(bad.code).toBe(2);
    expect(messageText(bad.stderr)).toMatch(/EDGESPLIT_LOGIN_MAX_HASHING: must be a whole number/);
  });
});
