import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ueQueueName } from '../proto/index.js';
import { defined, mapGet } from '../runtime/defined.js';
import { startFleet, useSystem } from './system-fleet.js';
import { RunningSystem } from './system-harness.js';
import { waitUntil } from './wait-until.js';

/** Most intervals [start, end) open at once; an end at the same ms as a start closes first. */
function maxOverlap(intervals: readonly (readonly [number, number])[]): number {
  const events = intervals.flatMap(([start, end]): [number, number][] => [
    [start, 1],
    [end, -1],
  ]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of events) {
    open += step;
    most = Math.max(most, open);
  }
  return most;
}

describe('allocated concurrency across two edge worker processes', () => {
  const started = useSystem();

  it('never runs more than u tail jobs of a UE at once, and reaches u under load', async () => {
    // 2 workers x 3 units; two UEs with batches of 12 and 4 keep their queues full.
    const system = await RunningSystem.start({
      broker: 'embedded',
      workers: 2,
      units: 3,
      speedFactor: 4,
    });
    started.system = system;
    const fleet = await startFleet(system, 2, (index) => ({
      model: 'resnet18',
      batch: index === 0 ? 12 : 4,
      link: { uplinkMbps: 500, downlinkMbps: 500, rttMs: 2 },
    }));
    started.fleet = fleet;
    await waitUntil('decisions', () => system.observer.decisions.size === 2);
    const units = new Map(
      fleet.map((ue) => {
        const { id } = ue.agent;
        return [id, mapGet(system.observer.decisions, id, `the decision of ${id}`).units];
      }),
    );
    // ue-01 gets 4 units (3 on w1 and 1 on w2), ue-02 the other 2.
    expect(units).toEqual(
      new Map([
        ['ue-01', 4],
        ['ue-02', 2],
      ]),
    );

    const workersOf = new Map<string, Set<string>>();
    for (const ue of fleet) {
      const seen = new Set<string>();
      workersOf.set(ue.agent.id, seen);
      ue.agent.on('result', (result) => seen.add(result.worker));
    }
    await Promise.all(
      fleet.map(async (ue) => {
        for (let task = 0; task < 3; task++) {
          const result = await ue.agent.runTask();
          expect(result.ok).toBe(true);
          expect(result.units).toBe(units.get(ue.agent.id));
        }
      }),
    );

    for (const ue of fleet) {
      const queue = new Queue(ueQueueName(ue.agent.id), {
        connection: { url: system.redisUrl },
        prefix: system.redisPrefix,
      });
      const jobs = await queue.getJobs(['completed']);
      await queue.close();
      expect(jobs.length).toBe(3 * (ue.agent.id === 'ue-01' ? 12 : 4));
      const intervals = jobs.map(
        (job) =>
          [
            defined(job.processedOn, `the start of completed job ${job.id}`),
            defined(job.finishedOn, `the end of completed job ${job.id}`),
          ] as const,
      );
      const u = mapGet(units, ue.agent.id, `the units of ${ue.agent.id}`);
      const workers = mapGet(workersOf, ue.agent.id, `the workers of ${ue.agent.id}`);
      console.log(
        `${ue.agent.id}: ${u} units, at most ${maxOverlap(intervals)} jobs at once, workers ${[...workers].join(',')}`,
      );
      expect(maxOverlap(intervals)).toBeLessThanOrEqual(u);
      expect(maxOverlap(intervals)).toBe(u);
      if (u > 3) expect(workers.size).toBe(2);
    }
  });
});
