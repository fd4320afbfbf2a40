import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TailJobError } from '../edge-worker/errors.js';
import { tensorLoader } from '../edge-worker/tensor-loader.js';
import { claimKey } from '../proto/index.js';
import { ClaimFiles, FILE_CLAIM_MARKER } from '../runtime/claim-files.js';
import { deleteKeys } from '../system/redis-keys.js';
import { testRedisUrl } from './services.js';

const PREFIX = `edgesplit-test-${randomBytes(6).toString('hex')}`;
let redis: Redis;
let dir: string;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
  dir = mkdtempSync(join(tmpdir(), 'edgesplit-loader-'));
});
afterAll(async () => {
  await deleteKeys(testRedisUrl(), `${PREFIX}*`);
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

describe('an edge worker reading tail tensors', () => {
  const tensor = Buffer.from(Float32Array.from([0.5, 1.5]).buffer);

  it('from Redis: the claim key value, or null once it is gone', async () => {
    const key = claimKey(PREFIX, 'ue-1', 'r1');
    await redis.set(key, tensor);
    const load = tensorLoader(redis, undefined);
    expect(Buffer.from((await load(key)) ?? [])).toEqual(tensor);
    await redis.del(key);
    expect(await load(key)).toBeNull();
  });

  it('from the claim directory: the file of the key, or null when neither file nor key is there', async () => {
    const files = new ClaimFiles(dir);
    const key = claimKey(PREFIX, 'ue-1', 'r2');
    await redis.set(key, FILE_CLAIM_MARKER);
    files.commit(files.stage(key, tensor), key);
    const load = tensorLoader(redis, files);
    expect(Buffer.from((await load(key)) ?? [])).toEqual(tensor);
    files.remove(key);
    await redis.del(key);
    expect(await load(key)).toBeNull();
  });

  it('a worker without the directory, given a marker, fails the job naming EDGESPLIT_CLAIM_DIR', async () => {
    const key = claimKey(PREFIX, 'ue-1', 'r3');
    await redis.set(key, FILE_CLAIM_MARKER);
    const load = tensorLoader(redis, undefined);
    await expect(load(key)).rejects.toThrow(TailJobError);
    await expect(load(key)).rejects.toThrow(/claim directory.*EDGESPLIT_CLAIM_DIR/);
  });

  it('a worker with another directory than the ingress fails the job naming its directory', async () => {
    const key = claimKey(PREFIX, 'ue-1', 'r4');
    await redis.set(key, FILE_CLAIM_MARKER);
    const load = tensorLoader(redis, new ClaimFiles(dir));
    await expect(load(key)).rejects.toThrow(new RegExp(`not in ${dir}.*EDGESPLIT_CLAIM_DIR`));
  });
});
