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
});
