import { describe, expect, it } from 'vitest';
import { percentile } from '../agents/index.js';
import { predictionErrors, runRequests, startFleet, useSystem } from './system-fleet.js';
import { type BrokerKind, RunningSystem } from './system-harness.js';
import { waitUntil } from './wait-until.js';

const UES = 20;
const REQUESTS = 500;
/**
 * Each UE pauses between tasks, as a camera between frames. With tasks back to back the worst
 * UE's median error ranged 10-21% over nine runs on the 2-core test machine (once above the
 * bound); with this pause, 8.6-16.5%.
 */
const THINK_MS = 100;

describe.each<BrokerKind>(['embedded', 'mosquitto'])('the live system on the %s broker', (kind) => {
  const started = useSystem();

  it(`serves ${UES} UEs: ${REQUESTS} requests, each answered exactly once, latency as predicted`, async () => {
    const system = await RunningSystem.start({
      broker: kind,
      workers: 2,
      units: 10,
      speedFactor: 2,
    });
    started.system = system;
    const fleet = await startFleet(system, UES);
    started.fleet = fleet;
    await waitUntil('a decision for every UE', () => system.observer.decisions.size === UES);
    // Until the fleet has settled, an early decision may still say local and change under a
    // task; with one unit each available, every UE ends up offloading.
    await waitUntil('every UE to offload', () =>
      fleet.every((ue) => {
        const decision = ue.agent.decision;
        return decision !== undefined && decision.cut < ue.agent.profile.cuts.length - 1;
      }),
    );

    const sent = await runRequests(fleet, REQUESTS, THINK_MS);
    expect(sent).toBe(REQUESTS);

    const requests = fleet.reduce((sum, ue) => sum + ue.agent.counters().requests, 0);
    expect(requests).toBe(REQUESTS);
    const delivered = fleet.flatMap((ue) => [...ue.delivered.values()]);
    expect(delivered.length).toBe(REQUESTS);
    expect(delivered.every((count) => count === 1)).toBe(true);
    for (const ue of fleet) {
      expect(ue.agent.counters().failed, ue.agent.id).toBe(0);
      expect(ue.tasks.every((task) => task.ok)).toBe(true);
    }
    // The machine running every process is not free: the per-UE median error is the claim.
    const errors = fleet.map(predictionErrors);
    expect(errors.flat().length).toBe(REQUESTS);
    const medians = errors.map((list) => percentile(list, 0.5) ?? 0);
    const all = errors.flat();
    console.log(
      `${kind}: prediction error p50 ${pct(percentile(all, 0.5))}, p90 ${pct(percentile(all, 0.9))}; ` +
        `per-UE median: worst ${pct(Math.max(...medians))}`,
    );
    expect(percentile(all, 0.5)).toBeLessThanOrEqual(0.2);
    for (const [index, median] of medians.entries())
      expect(median, fleet[index]!.agent.id).toBeLessThanOrEqual(0.2);
    expect(system.group.dead()).toEqual([]);
  });
});

function pct(value: number | null): string {
  return value === null ? '-' : `${(value * 100).toFixed(1)}%`;
}
