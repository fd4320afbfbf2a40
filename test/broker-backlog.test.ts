/**
 * The backlog script on its own (real Redis, a prefix of this file's own): what it does with the
 * incoming tensor, the claim key and the UE's entries.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backlog } from '../broker/backlog.js';
import { backlogKey, claimKey, incomingKey, sweptQueuesKey } from '../proto/index.js';
import { deleteKeys } from '../system/redis-keys.js';
import { REDIS_URL } from './ingress-fixtures.js';

const PREFIX = `edgesplit-test-backlog-${randomBytes(5).toString('hex')}`;
const LIMITS = { maxJobs: 4, maxBytes: 1000, lifeMs: 60_000 };

let redis: Redis;
let backlog: Backlog;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  backlog = new Backlog(redis, PREFIX, LIMITS);
});

afterAll(async () => {
  await deleteKeys(REDIS_URL, `${PREFIX}*`);
  await redis.quit();
});

const jobKey = (requestId: string) => `${PREFIX}:job:${requestId}`;

describe('Backlog.admit', () => {
  it('moves the incoming tensor to the claim key and counts the request', async () => {
    await redis.set(incomingKey(PREFIX, 'ue-1', 'r1'), 'tensor', 'EX', 60);
    expect(await backlog.admit('ue-1', 'r1', 100, jobKey('r1'))).toEqual({
      ok: true,
      jobs: 1,
      bytes: 100,
    });
    expect(await redis.get(claimKey(PREFIX, 'ue-1', 'r1'))).toBe('tensor');
    expect(await redis.exists(incomingKey(PREFIX, 'ue-1', 'r1'))).toBe(0);
    expect(await redis.zscore(sweptQueuesKey(PREFIX), 'ue-1')).not.toBeNull();
  });

  it('records nothing when the tensor is not there', async () => {
    expect(await backlog.admit('ue-2', 'lost', 100, jobKey('lost'))).toEqual({
      ok: false,
      limit: 'unstored',
    });
    expect(await redis.zcard(backlogKey(PREFIX, 'ue-2'))).toBe(0);
  });

  it('counts a copy of a request whose claim key another copy made meanwhile', async () => {
    await redis.set(incomingKey(PREFIX, 'ue-3', 'twice'), 'tensor', 'EX', 60);
    expect((await backlog.admit('ue-3', 'twice', 100, jobKey('twice'))).ok).toBe(true);
    expect(await backlog.admit('ue-3', 'twice', 100, jobKey('twice'))).toEqual({
      ok: true,
      jobs: 1,
      bytes: 100,
    });
  });

  it('drops the incoming tensor of a request whose job exists', async () => {
    await redis.set(jobKey('done'), 'job');
    await redis.set(incomingKey(PREFIX, 'ue-4', 'done'), 'tensor', 'EX', 60);
    expect(await backlog.admit('ue-4', 'done', 100, jobKey('done'))).toEqual({
      ok: false,
      limit: 'duplicate',
    });
    expect(await redis.exists(incomingKey(PREFIX, 'ue-4', 'done'))).toBe(0);
    expect(await redis.exists(claimKey(PREFIX, 'ue-4', 'done'))).toBe(0);
  });

  const stored = async (ue: string, requestId: string) =>
    redis.set(incomingKey(PREFIX, ue, requestId), 'tensor', 'EX', 60);
  /** Stores a request's tensor under its incoming key, as the ingress does, then admits it. */
  const storeAndAdmit = async (ue: string, requestId: string, bytes: number) => {
    await stored(ue, requestId);
    return backlog.admit(ue, requestId, bytes, jobKey(requestId));
  };

  it('drops entries of finished requests only when a request would pass a bound, and refuses by the exact count', async () => {
    for (const id of ['a', 'b', 'c', 'd']) {
      expect((await storeAndAdmit('ue-5', id, 10)).ok).toBe(true);
    }
    // a and b finished: their claim keys are gone, their entries still there.
    await redis.del(claimKey(PREFIX, 'ue-5', 'a'), claimKey(PREFIX, 'ue-5', 'b'));
    expect(await redis.zcard(backlogKey(PREFIX, 'ue-5'))).toBe(4);
    expect(await storeAndAdmit('ue-5', 'e', 10)).toEqual({
      ok: true,
      jobs: 3,
      bytes: 30,
    });
    expect(await redis.zrange(backlogKey(PREFIX, 'ue-5'), 0, -1)).toEqual(['c', 'd', 'e']);
    expect((await storeAndAdmit('ue-5', 'f', 10)).ok).toBe(true);
    expect(await storeAndAdmit('ue-5', 'g', 10)).toEqual({
      ok: false,
      limit: 'jobs',
      jobs: 4,
      bytes: 40,
    });
  });

  it('keeps the sum of the bytes through admissions, drops and releases', async () => {
    const total = () => redis.hget(`${backlogKey(PREFIX, 'ue-6')}:bytes`, ':total');
    expect((await storeAndAdmit('ue-6', 'big', 600)).ok).toBe(true);
    expect((await storeAndAdmit('ue-6', 'mid', 300)).ok).toBe(true);
    expect(await total()).toBe('900');
    await redis.del(claimKey(PREFIX, 'ue-6', 'big'));
    expect(await storeAndAdmit('ue-6', 'more', 300)).toEqual({
      ok: true,
      jobs: 2,
      bytes: 600,
    });
    expect(await total()).toBe('600');
    // A copy of a request already counted replaces its entry, not adds to it.
    expect((await backlog.admit('ue-6', 'more', 300, jobKey('more'))).ok).toBe(true);
    expect(await total()).toBe('600');
    await backlog.release('ue-6', 'more');
    expect(await total()).toBe('300');
    expect(await storeAndAdmit('ue-6', 'huge', 800)).toEqual({
      ok: false,
      limit: 'bytes',
      jobs: 1,
      bytes: 300,
    });
  });

  it('sums the bytes of entries recorded without a sum (by an earlier version) before counting on it', async () => {
    const key = backlogKey(PREFIX, 'ue-7');
    await redis.set(claimKey(PREFIX, 'ue-7', 'old'), 'tensor', 'EX', 60);
    await redis.zadd(key, Date.now(), 'old');
    await redis.hset(`${key}:bytes`, 'old', 900);
    expect(await storeAndAdmit('ue-7', 'new', 200)).toEqual({
      ok: false,
      limit: 'bytes',
      jobs: 1,
      bytes: 900,
    });
    expect(await redis.hget(`${key}:bytes`, ':total')).toBe('900');
  });
});
