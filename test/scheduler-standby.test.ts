import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker, silentLogger } from '../broker/index.js';
import {
  LeaderLock,
  leaderKey,
  type StandbyScheduler,
  startStandbyScheduler,
} from '../scheduler/index.js';
import { testRedisUrl, uniquePrefix } from './services.js';
import { waitUntil } from './wait-until.js';

describe('the leadership lock', () => {
  const redis = new Redis(testRedisUrl());
  afterAll(() => redis.quit());

  it('has one holder; only the holder renews or releases it', async () => {
    const key = leaderKey(uniquePrefix('lock'));
    const a = new LeaderLock(redis, key, 'a', 1000);
    const b = new LeaderLock(redis, key, 'b', 1000);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await b.renew()).toBe(false);
    await b.release();
    expect(await a.holder()).toBe('a');
    expect(await a.renew()).toBe(true);
    await a.release();
    expect(await b.acquire()).toBe(true);
    // a lost it: it can neither extend nor delete b's leadership.
    expect(await a.renew()).toBe(false);
    await a.release();
    expect(await b.holder()).toBe('b');
    await redis.del(key);
  });

  it('expires when its holder stops renewing', async () => {
    const key = leaderKey(uniquePrefix('lock'));
    const a = new LeaderLock(redis, key, 'a', 300);
    const b = new LeaderLock(redis, key, 'b', 300);
    expect(await a.acquire()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await b.acquire()).toBe(true);
    await redis.del(key);
  });
});

describe('scheduler processes sharing a fleet', () => {
  let broker: Broker;
  const running: StandbyScheduler[] = [];
  const options = () => ({
    mqttUrl: `mqtt://127.0.0.1:${broker.port}`,
    redisUrl: testRedisUrl(),
    topicPrefix: 'standby/test',
    redisPrefix: uniquePrefix('standby'),
    startupQuietMs: 20,
  });
  beforeAll(async () => {
    broker = await createBroker({
      port: 0,
      host: '127.0.0.1',
      auth: 'off',
      logger: silentLogger,
      topicPrefix: 'standby/test',
    });
  });
  afterAll(async () => {
    await Promise.all(running.map((scheduler) => scheduler.close()));
    await broker.close();
  });

  it('hand over at once when the leader stops cleanly', async () => {
    const shared = options();
    const seen: string[] = [];
    const a = startStandbyScheduler(
      { ...shared, id: 'sched-a' },
      { onLeading: () => seen.push('a leads') },
    );
    running.push(a);
    await waitUntil('a to lead', () => a.role() === 'leader');
    const b = startStandbyScheduler(
      { ...shared, id: 'sched-b' },
      {
        onLeading: () => seen.push('b leads'),
        onStandby: (leader) => seen.push(`b stands by for ${leader}`),
      },
    );
    running.push(b);
    await waitUntil('b to stand by', () => seen.includes('b stands by for sched-a'));
    expect(b.role()).toBe('standby');
    expect(b.current()).toBeUndefined();

    const stoppedAt = performance.now();
    await a.close();
    await waitUntil('b to lead', () => b.role() === 'leader');
    // Released, not expired: the next try (every third of the 3 s life) takes it.
    expect(performance.now() - stoppedAt).toBeLessThan(2500);
    expect(seen).toEqual(['a leads', 'b stands by for sched-a', 'b leads']);
  });

  it('refuses a lock life too short to renew', () => {
    expect(() => startStandbyScheduler(options(), { lockTtlMs: 100 })).toThrow(/lockTtlMs/);
  });
});
