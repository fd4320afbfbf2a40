import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindError, freePort, startStack } from '../system/index.js';
import { keysMatching } from './keys-matching.js';
import { testRedisUrl } from './services.js';
import { waitUntil } from './wait-until.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe('startStack', () => {
  it('starts broker, scheduler and edge workers in one process; close() frees the port and deletes its own keys', async () => {
    const warnings: string[] = [];
    const port = await freePort();
    const stack = await startStack({
      port,
      host: '127.0.0.1',
      redisUrl: testRedisUrl(),
      workers: 2,
      unitsPerWorker: 3,
      onWarning: (source, error) => warnings.push(`${source}: ${error.message}`),
    });
    try {
      expect(stack.mqttUrl).toBe(`mqtt://127.0.0.1:${port}`);
      expect(stack.workers.map((worker) => worker.id)).toEqual(['edge-1', 'edge-2']);
      // The scheduler counts both workers' units once their status has come through the broker.
      await waitUntil('the scheduler sees 6 units', () => stack.view().units === 6);
      expect(await keysMatching(redis, `${stack.redisPrefix}:*`)).not.toEqual([]);
    } finally {
      await stack.close();
    }
    expect(await bindError('127.0.0.1', port)).toBeUndefined();
    expect(await keysMatching(redis, `${stack.redisPrefix}:*`)).toEqual([]);
    // A second close does nothing more and does not throw.
    await stack.close();
    // Authentication is off in a stack, and the broker says so; nothing else went wrong.
    expect(warnings.filter((line) => !line.includes('AUTHENTICATION IS OFF'))).toEqual([]);
  });

  it('a part that cannot start (the dashboard port taken) closes those started: the broker port is free again', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    const dashboardPort = typeof address === 'object' && address !== null ? address.port : 0;
    const port = await freePort();
    try {
      await expect(
        startStack({
          port,
          host: '127.0.0.1',
          redisUrl: testRedisUrl(),
          workers: 1,
          unitsPerWorker: 1,
          dashboardPort,
          onWarning: () => {},
        }),
      ).rejects.toThrow(/EADDRINUSE|in use/);
      expect(await bindError('127.0.0.1', port)).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
