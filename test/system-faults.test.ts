import { describe, expect, it } from 'vitest';
import { type FleetUe, runRequests, startFleet, useSystem } from './system-fleet.js';
import { RunningSystem } from './system-harness.js';
import { waitUntil } from './wait-until.js';

const FAST_LINK = { uplinkMbps: 200, downlinkMbps: 200, rttMs: 2 };

function requestsSent(fleet: readonly FleetUe[]): number {
  return fleet.reduce((sum, ue) => sum + ue.agent.counters().requests, 0);
}

/** Every request sent got exactly one result to the application, and none failed. */
function expectEachAnsweredOnce(fleet: readonly FleetUe[], requests: number): void {
  const report = fleet
    .map(
      (ue) =>
        `${ue.agent.id} ${JSON.stringify(ue.agent.counters())} delivered ${ue.delivered.size}`,
    )
    .join('\n');
  expect(requestsSent(fleet), report).toBe(requests);
  const delivered = fleet.flatMap((ue) => [...ue.delivered.values()]);
  expect(delivered.length, report).toBe(requests);
  expect(delivered.filter((count) => count !== 1)).toEqual([]);
  for (const ue of fleet) expect(ue.agent.counters().failed, ue.agent.id).toBe(0);
}

describe('faults', () => {
  const started = useSystem();

  it('SIGKILL of an edge worker mid-run: all 300 requests answered once, R drops, re-solved', async () => {
    const system = await RunningSystem.start({
      broker: 'embedded',
      workers: 2,
      units: 4,
      speedFactor: 3,
      workerArgs: ['--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'],
    });
    started.system = system;
    const observer = system.observer;
    const fleet = await startFleet(system, 8, { link: FAST_LINK, requestTimeoutMs: 20_000 });
    started.fleet = fleet;
    await waitUntil('a decision for every UE', () => observer.decisions.size === 8);
    await waitUntil('R = 8', () => observer.scheduler?.units === 8);
    const epochBefore = observer.scheduler!.epoch;

    const run = runRequests(fleet, 300);
    await waitUntil('100 requests sent', () => requestsSent(fleet) >= 100);
    const victim = system.workers[1]!;
    expect(victim.alive()).toBe(true);
    await victim.kill();
    await waitUntil('R to drop to 4', () => observer.scheduler?.units === 4);
    expect(observer.scheduler!.epoch).toBeGreaterThan(epochBefore);
    const sent = await run;

    expect(sent).toBeGreaterThanOrEqual(300);
    expectEachAnsweredOnce(fleet, sent);
    expect(system.workers[0]!.alive()).toBe(true);
    expect(system.scheduler.alive()).toBe(true);
  });

  it('a broker restart mid-run: agents reconnect and continue, no request lost', async () => {
    const system = await RunningSystem.start({
      broker: 'embedded',
      workers: 2,
      units: 4,
      speedFactor: 3,
    });
    started.system = system;
    const observer = system.observer;
    const fleet = await startFleet(system, 8, { link: FAST_LINK, requestTimeoutMs: 5000 });
    started.fleet = fleet;
    await waitUntil('a decision for every UE', () => observer.decisions.size === 8);

    const run = runRequests(fleet, 300);
    await waitUntil('100 requests sent', () => requestsSent(fleet) >= 100);
    await system.broker!.kill();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await system.startBroker();
    const sent = await run;
    expect(sent).toBeGreaterThanOrEqual(300);
    expectEachAnsweredOnce(fleet, sent);
    // The restarted broker knows the fleet again: every UE re-announced itself and holds a
    // decision from the scheduler, which is still the same process.
    await waitUntil('the scheduler to see all 8 UEs again', () => observer.scheduler?.ues === 8);
    expect(system.scheduler.alive()).toBe(true);
    for (const worker of system.workers) expect(worker.alive()).toBe(true);
  });
});
