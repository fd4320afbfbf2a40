import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker, silentLogger } from '../broker/index.js';
import {
  LeaderLock,
  leaderKey,
  type StandbyScheduler,
  startStandbyScheduler,
} from '../scheduler/index.js';
import { deleteKeys } from '../system/redis-keys.js';
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
  const redis = new Redis(testRedisUrl());
  const running: StandbyScheduler[] = [];
  const prefixes: string[] = [];
  const options = () => {
    const redisPrefix = uniquePrefix('standby');
    prefixes.push(redisPrefix);
    return {
      mqttUrl: `mqtt://127.0.0.1:${broker.port}`,
      redisUrl: testRedisUrl(),
      topicPrefix: 'standby/test',
      redisPrefix,
      startupQuietMs: 20,
    };
  };
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
    for (const prefix of prefixes) await deleteKeys(testRedisUrl(), `${prefix}:*`);
    await redis.quit();
  });

  it('hand over without waiting out the lock when the leader stops cleanly', async () => {
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

    await a.close();
    // Released, not left to expire: once a has closed, the lock no longer names it, so b's next
    // try (every third of the lock's life) takes it.
    const holder = await redis.get(leaderKey(shared.redisPrefix));
    expect(holder === null || holder === 'sched-b', `lock held by ${holder}`).toBe(true);
    await waitUntil('b to lead', () => b.role() === 'leader');
    expect(seen).toEqual(['a leads', 'b stands by for sched-a', 'b leads']);
  });

  it('refuses a lock life too short to renew', () => {
    expect(() => startStandbyScheduler(options(), { lockTtlMs: 100 })).toThrow(/lockTtlMs/);
  });
});
