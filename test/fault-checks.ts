/**
 * Checks and set-ups of the fault tests (system-faults.test.ts): that every request was answered
 * once, which acknowledged requests were lost, what each edge worker last logged of its packing,
 * and a report of the system's state for a failure message.
 */
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { answerKey, tailJobId, ueQueueName } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import type { CliProcess } from './cli-process.js';
import { PubackLog } from './puback-log.js';
import { type FleetUe, runRequests, startFleet, type useSystem } from './system-fleet.js';
import { RunningSystem, type SystemOptions } from './system-harness.js';
import { waitUntil } from './wait-until.js';

export const FAST_LINK = { uplinkMbps: 200, downlinkMbps: 200, rttMs: 2 };

export function requestsSent(fleet: readonly FleetUe[]): number {
  return fleet.reduce((sum, ue) => sum + ue.agent.counters().requests, 0);
}

/** Every request sent got exactly one result to the application, and none failed. */
export function expectEachAnsweredOnce(fleet: readonly FleetUe[], requests: number): void {
  const report = fleet
    .map(
      (ue) =>
        `${ue.agent.id} ${JSON.stringify(ue.agent.counters())} delivered ${ue.delivered.size}` +
        (ue.agent.counters().failed > 0 ? `\n  ${ue.warnings.slice(-20).join('\n  ')}` : ''),
    )
    .join('\n');
  expect(requestsSent(fleet), report).toBe(requests);
  const delivered = fleet.flatMap((ue) => [...ue.delivered.values()]);
  expect(delivered.length, report).toBe(requests);
  expect(delivered.filter((count) => count !== 1)).toEqual([]);
  for (const ue of fleet) expect(ue.agent.counters().failed, ue.agent.id).toBe(0);
}

/**
 * The acknowledged requests of `logs` (by UE) that their UE has no result for and Redis holds
 * neither as a job nor as a kept answer: requests the UE was told were taken, yet lost.
 */
export async function lostAcknowledged(
  system: RunningSystem,
  fleet: readonly FleetUe[],
  logs: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<string[]> {
  const redis = new Redis(system.redisUrl);
  try {
    const lost: string[] = [];
    for (const [ue, acked] of logs)
      for (const requestId of acked) {
        if (fleet.some((u) => u.agent.id === ue && u.delivered.has(requestId))) continue;
        const job = `${system.redisPrefix}:${ueQueueName(ue)}:${tailJobId(ue, requestId)}`;
        const answer = answerKey(system.redisPrefix, ue, requestId);
        if ((await redis.exists(job, answer)) === 0) lost.push(`${ue}/${requestId}`);
      }
    return lost;
  } finally {
    await redis.quit();
  }
}

/** A PUBACK log on every UE's connection. */
export function logPubacks(fleet: readonly FleetUe[]): Map<string, PubackLog> {
  return new Map(fleet.map((ue) => [ue.agent.id, new PubackLog(ue.agent.client)]));
}

/** The request ids each UE saw acknowledged so far, copied. */
export function ackedSoFar(logs: ReadonlyMap<string, PubackLog>): Map<string, Set<string>> {
  return new Map([...logs].map(([ue, log]) => [ue, new Set(log.acked)]));
}

/** The last packing an edge worker logged: its fingerprint and the units it serves. */
export function lastPacking(
  worker: CliProcess,
): { digest: string; units: number; workers: number } | undefined {
  const line = worker.logMatching(/: packing [0-9a-f]{12}: /).at(-1)?.msg;
  const match = line?.match(
    /packing ([0-9a-f]{12}): serves \d+ UEs with (\d+) units \(\d+ UEs on (\d+) workers\)/,
  );
  if (match === null || match === undefined) return undefined;
  return { digest: match[1] ?? '', units: Number(match[2]), workers: Number(match[3]) };
}

/**
 * What the system decided and logged, for the failure message of a fault test: the observer's
 * scheduler status, decisions and edge statuses, then the scheduler's, the workers' and the
 * broker's last log lines.
 */
export function systemReport(system: RunningSystem, workers: readonly CliProcess[]): string {
  const { observer } = system;
  const decisions = [...observer.decisions]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([ue, d]) => `${ue} epoch ${d.epoch} cut ${d.cut} units ${d.units}`)
    .join('; ');
  const edge = [...observer.edge].map(([id, s]) => `${id} ${s.state} ${s.units}`).join('; ');
  return [
    `scheduler status ${JSON.stringify(observer.scheduler)}`,
    `decisions ${decisions}`,
    `edge statuses ${edge}`,
    system.scheduler.tail(30),
    ...workers.map((worker) => worker.tail(15)),
    system.broker?.tail(15) ?? '',
  ].join('\n');
}

/** `waitUntil`, failing with the system's report. */
export async function waitOrReport(
  system: RunningSystem,
  workers: readonly CliProcess[],
  what: string,
  check: () => boolean,
): Promise<void> {
  await waitUntil(what, check).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${systemReport(system, workers)}`);
  });
}

/**
 * Two edge workers of 4 units (speed factor 3) and 6 UEs on fast links, each UE decided and
 * R = 8; registered in `started` for the after-test stop.
 */
export async function twoWorkersSixUes(
  started: ReturnType<typeof useSystem>,
  options: Pick<SystemOptions, 'broker' | 'mqttUrl' | 'workerArgs' | 'schedulerArgs'>,
): Promise<{
  system: RunningSystem;
  fleet: FleetUe[];
  wait: (what: string, check: () => boolean) => Promise<void>;
}> {
  const system = await RunningSystem.start({ ...options, workers: 2, units: 4, speedFactor: 3 });
  started.system = system;
  const fleet = await startFleet(system, 6, { link: FAST_LINK, requestTimeoutMs: 20_000 });
  started.fleet = fleet;
  const wait = (what: string, check: () => boolean) =>
    waitOrReport(system, system.workers, what, check);
  await wait('a decision for every UE', () => system.observer.decisions.size === 6);
  await wait('R = 8', () => system.observer.scheduler?.units === 8);
  return { system, fleet, wait };
}

/**
 * After w2 died unannounced: w1 alone serves every unit decided (some), and 100 requests are
 * answered once each.
 */
export async function expectSurvivorAlone(
  system: RunningSystem,
  fleet: readonly FleetUe[],
  wait: (what: string, check: () => boolean) => Promise<void>,
): Promise<void> {
  const survivor = defined(system.workers[0], 'edge worker w1');
  const unitsDecided = () =>
    [...system.observer.decisions.values()].reduce((sum, decision) => sum + decision.units, 0);
  await wait('the surviving worker to serve every unit decided, alone', () => {
    const packing = lastPacking(survivor);
    return packing?.workers === 1 && packing.units === unitsDecided();
  });
  expect(unitsDecided()).toBeGreaterThan(0);
  const sent = await runRequests(fleet, 100);
  expect(sent).toBeGreaterThanOrEqual(100);
  expectEachAnsweredOnce(fleet, sent);
}
