import { describe, expect, it } from 'vitest';
import type { TaskResult } from '../agents/index.js';
import { defined, mapGet } from '../runtime/defined.js';
import { startFleet, useSystem } from './system-fleet.js';
import { RunningSystem } from './system-harness.js';
import { waitUntil } from './wait-until.js';

interface Timed {
  readonly ue: string;
  readonly start: number;
  readonly end: number;
  readonly task: TaskResult;
}

describe('live reconfiguration', () => {
  const started = useSystem();

  it('a 50 -> 2 Mbps step re-plans that UE under a higher epoch; requests in flight complete', async () => {
    const system = await RunningSystem.start({
      broker: 'embedded',
      workers: 2,
      units: 4,
      speedFactor: 2,
    });
    started.system = system;
    const observer = system.observer;
    const link = { uplinkMbps: 50, downlinkMbps: 50, rttMs: 10 };
    const fleet = await startFleet(system, 4, { link, batch: 2 });
    started.fleet = fleet;
    await waitUntil('a decision for every UE', () => observer.decisions.size === 4);
    const target = defined(fleet[0], 'the first UE').agent;
    const before = mapGet(observer.decisions, target.id, `the decision of ${target.id}`);
    expect(before.cut).toBeLessThan(target.profile.cuts.length - 1);

    const timed: Timed[] = [];
    let running = true;
    const loops = fleet.map(async (ue) => {
      while (running) {
        const start = Date.now();
        const task = await ue.agent.runTask();
        timed.push({ ue: ue.agent.id, start, end: Date.now(), task });
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const changedAt = Date.now();
    target.setLink({ uplinkMbps: 2, downlinkMbps: 50, rttMs: 10 });
    await waitUntil(
      'a new decision for the UE whose link dropped',
      () => (observer.decisions.get(target.id)?.epoch ?? 0) > before.epoch,
    );
    const after = mapGet(observer.decisions, target.id, `the new decision of ${target.id}`);
    const reactionMs = Date.now() - changedAt;
    // Less bandwidth: the planner moves the cut to a smaller tensor (or runs locally).
    expect(target.profile.cuts[after.cut]?.bytes).toBeLessThan(
      defined(target.profile.cuts[before.cut], `cut ${before.cut}`).bytes,
    );
    await waitUntil(
      'a task under the new decision',
      () => timed.some((t) => t.ue === target.id && t.task.epoch === after.epoch),
      30_000,
    );
    running = false;
    await Promise.all(loops);

    const inFlight = timed.filter((t) => t.start < changedAt && t.end > changedAt);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.every((t) => t.task.ok)).toBe(true);
    expect(timed.every((t) => t.task.ok)).toBe(true);
    // A task keeps the decision it started under; the target's later tasks use the new one.
    const targetTasks = timed.filter((t) => t.ue === target.id);
    expect(
      targetTasks.filter((t) => t.start < changedAt).every((t) => t.task.epoch === before.epoch),
    ).toBe(true);
    expect(targetTasks.at(-1)?.task.cut).toBe(after.cut);
    const delivered = fleet.flatMap((ue) => [...ue.delivered.values()]);
    expect(delivered.every((count) => count === 1)).toBe(true);
    expect(delivered.length).toBe(fleet.reduce((sum, ue) => sum + ue.agent.counters().requests, 0));
    console.log(
      `link drop -> new decision seen by an observer in ${reactionMs} ms (polled every 20 ms)`,
    );
  });
});
