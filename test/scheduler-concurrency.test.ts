import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ueQueueName } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { BullmqConcurrency, MAX_KEPT_QUEUES } from '../scheduler/service/bullmq-concurrency.js';
import { deleteKeys } from '../system/redis-keys.js';
import { testRedisUrl, uniquePrefix } from './services.js';

const prefix = uniquePrefix('sched-conc');
const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 3 });

afterAll(async () => {
  await deleteKeys(testRedisUrl(), `${prefix}*`);
  redis.disconnect();
});

describe('BullmqConcurrency', () => {
  it('sets every UE queue of a fleet larger than the queues it keeps, all at once', async () => {
    const errors: Error[] = [];
    const port = new BullmqConcurrency(redis, prefix, (error) => errors.push(error));
    const ues = Array.from({ length: MAX_KEPT_QUEUES + 200 }, (_, k) => `ue-${k}`);
    // As the scheduler's first solve does: every UE's queue in parallel.
    await Promise.all(ues.map((ue, k) => port.setConcurrency(ue, 1 + (k % 5))));
    // Set again, in another order: a closed queue is made anew.
    await Promise.all([...ues].reverse().map((ue, k) => port.setConcurrency(ue, 2 + (k % 3))));
    expect((port as unknown as { queues: Map<string, Queue> }).queues.size).toBeLessThanOrEqual(
      MAX_KEPT_QUEUES,
    );
    await port.close();
    expect(errors).toEqual([]);
    const reader = (ue: string) => new Queue(ueQueueName(ue), { connection: redis, prefix });
    for (const k of [0, 1, 500, MAX_KEPT_QUEUES + 199]) {
      const ue = defined(ues[k], `UE ${k}`);
      const queue = reader(ue);
      const expected = 2 + ((ues.length - 1 - k) % 3);
      expect(await queue.getGlobalConcurrency()).toBe(expected);
      await queue.close();
    }
  });
});
