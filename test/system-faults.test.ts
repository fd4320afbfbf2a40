import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { answerKey, tailJobId, ueQueueName } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import type { CliProcess } from './cli-process.js';
import { startPersistentMosquitto } from './own-services.js';
import { PubackLog } from './puback-log.js';
import { type FleetUe, runRequests, startFleet, useSystem } from './system-fleet.js';
import { RunningSystem, type SystemOptions } from './system-harness.js';
import { SystemObserver } from './system-observer.js';
import { missingTools } from './tools.js';
import { waitUntil } from './wait-until.js';
import { workerCounts } from './worker-counts.js';

const FAST_LINK = { uplinkMbps: 200, downlinkMbps: 200, rttMs: 2 };
const noMosquitto = missingTools('mosquitto');

function requestsSent(fleet: readonly FleetUe[]): number {
  return fleet.reduce((sum, ue) => sum + ue.agent.counters().requests, 0);
}

/** Every request sent got exactly one result to the application, and none failed. */
function expectEachAnsweredOnce(fleet: readonly FleetUe[], requests: number): void {
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
async function lostAcknowledged(
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
function logPubacks(fleet: readonly FleetUe[]): Map<string, PubackLog> {
  return new Map(fleet.map((ue) => [ue.agent.id, new PubackLog(ue.agent.client)]));
}

/** The request ids each UE saw acknowledged so far, copied. */
function ackedSoFar(logs: ReadonlyMap<string, PubackLog>): Map<string, Set<string>> {
  return new Map([...logs].map(([ue, log]) => [ue, new Set(log.acked)]));
}

/** The last packing an edge worker logged: its fingerprint and the units it serves. */
function lastPacking(
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
function systemReport(system: RunningSystem, workers: readonly CliProcess[]): string {
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
async function waitOrReport(
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
async function twoWorkersSixUes(
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
async function expectSurvivorAlone(
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
    const epochBefore = defined(observer.scheduler, 'the scheduler status').epoch;

    const run = runRequests(fleet, 300);
    await waitUntil('100 requests sent', () => requestsSent(fleet) >= 100);
    const victim = defined(system.workers[1], 'edge worker w2');
    expect(victim.alive()).toBe(true);
    await victim.kill();
    await waitUntil('R to drop to 4', () => observer.scheduler?.units === 4).catch((error) => {
      throw new Error(`${error}\n${system.scheduler.tail(40)}\n${system.broker?.tail(40)}`);
    });
    expect(observer.scheduler?.epoch).toBeGreaterThan(epochBefore);
    const sent = await run;

    expect(sent).toBeGreaterThanOrEqual(300);
    expectEachAnsweredOnce(fleet, sent);
    expect(system.workers[0]?.alive()).toBe(true);
    expect(system.scheduler.alive()).toBe(true);
  });

  it('SIGKILL of the broker mid-run: every request acknowledged before is in Redis (job or answer), and after a restart all are answered once', async () => {
    const system = await RunningSystem.start({
      broker: 'embedded',
      workers: 2,
      units: 4,
      speedFactor: 3,
    });
    started.system = system;
    const observer = system.observer;
    // A restarted broker loses the UEs' sessions: a result published before a UE subscribed
    // again is recovered by its resends, which must outlast the restart (about 10 s on a loaded
    // machine): 6 resends 5 s apart.
    const fleet = await startFleet(system, 8, {
      link: FAST_LINK,
      requestTimeoutMs: 5000,
      maxRetries: 6,
    });
    started.fleet = fleet;
    await waitUntil('a decision for every UE', () => observer.decisions.size === 8);

    const pubacks = logPubacks(fleet);
    const run = runRequests(fleet, 300);
    await waitUntil('100 requests sent', () => requestsSent(fleet) >= 100);
    await defined(system.broker, 'the broker process').kill();
    // The broker acknowledges a request only once its job is stored: none of those is lost.
    const acked = ackedSoFar(pubacks);
    const ackedCount = [...acked.values()].reduce((sum, ids) => sum + ids.size, 0);
    expect(ackedCount).toBeGreaterThanOrEqual(90);
    expect(await lostAcknowledged(system, fleet, acked)).toEqual([]);
    await system.startBroker();
    const sent = await run;
    expect(sent).toBeGreaterThanOrEqual(300);
    expectEachAnsweredOnce(fleet, sent);
    // The restarted broker knows the fleet again: every UE re-announced itself and holds a
    // decision from the scheduler, which is still the same process.
    await waitUntil('the scheduler to see all 8 UEs again', () => observer.scheduler?.ues === 8);
    expect(system.scheduler.alive()).toBe(true);
    for (const worker of system.workers) expect(worker.alive()).toBe(true);
  }, 300_000);

  it('SIGKILL of the standalone ingress (Mosquitto, 8 request connections) mid-run: the broker delivers again what it had not finished; every request answered once, none resent by its agent, each job run once', async () => {
    const system = await RunningSystem.start({
      broker: 'mosquitto',
      workers: 2,
      units: 4,
      speedFactor: 3,
    });
    started.system = system;
    const observer = system.observer;
    // Its requests spread over 8 connections, each with a persistent session of its own.
    expect(system.ingress.logMatching(/subscribed to \$share\/.* on 8 connections/)).toHaveLength(
      1,
    );
    // Agents that would wait a minute before resending: the run must not need them to.
    const fleet = await startFleet(system, 8, { link: FAST_LINK, requestTimeoutMs: 60_000 });
    started.fleet = fleet;
    await waitUntil('a decision for every UE', () => observer.decisions.size === 8);

    const run = runRequests(fleet, 200);
    await waitUntil('60 requests sent', () => requestsSent(fleet) >= 60, 60_000);
    await system.ingress.kill();
    await system.startIngress();
    const sent = await run;
    expect(sent).toBeGreaterThanOrEqual(200);
    expectEachAnsweredOnce(fleet, sent);
    for (const ue of fleet)
      expect(ue.agent.counters().retried, `${ue.agent.id}\n${ue.warnings.join('\n')}`).toBe(0);
    // A request stored before the kill and delivered again is a duplicate: no job ran twice.
    for (const worker of system.workers) {
      const exit = await worker.stop(30_000);
      expect(exit.signal, worker.tail()).toBeNull();
    }
    const workers = system.workers.map(workerCounts);
    expect(workers.map((worker) => worker.failed)).toEqual([0, 0]);
    expect(workers.reduce((sum, worker) => sum + worker.completed, 0)).toBe(sent);
  }, 300_000);

  it('SIGKILL of the broker, then of an edge worker: decisions and status come back from Redis, R drops to 4 and back to 8, both workers log the same packing covering every unit, all 200 requests answered once', async () => {
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
    const wait = (what: string, check: () => boolean, workers = system.workers) =>
      waitOrReport(system, workers, what, check);
    await wait('a decision for every UE', () => observer.decisions.size === 8);
    await wait('R = 8', () => observer.scheduler?.units === 8);
    const firstBroker = defined(system.broker, 'the broker process');
    expect(firstBroker.logMatching(/retained decisions kept in redis/)).toHaveLength(1);

    await firstBroker.kill();
    const broker = await system.startBroker();
    // Every decision (one per UE) and the scheduler status, read back before any client connects.
    await broker.waitForLog(/retained store: \d+ retained messages restored from redis/);
    expect(broker.logMatching(/retained store: 9 retained messages restored/)).toHaveLength(1);
    // A client subscribing afresh finds them retained.
    const fresh = await SystemObserver.open(system.mqttUrl, system.topicPrefix);
    try {
      await wait('retained decisions for all 8 UEs', () => fresh.decisions.size === 8);
      await wait('the retained scheduler status', () => fresh.scheduler !== undefined);
      for (const [ue, decision] of observer.decisions)
        expect(fresh.decisions.get(ue)?.epoch, ue).toBeGreaterThanOrEqual(decision.epoch);
      // Both workers reconnected to the new broker (a fresh subscriber sees their statuses), so
      // it holds their last wills.
      await wait('both workers online on the new broker', () => fresh.onlineUnits() === 8);
    } finally {
      await fresh.close();
    }

    const victim = defined(system.workers[1], 'edge worker w2');
    await victim.kill();
    await wait('R to drop to 4', () => observer.scheduler?.units === 4);
    const restarted = system.startWorker('w2');
    await restarted.waitForLog(/online with 4 units/);
    const workers = [defined(system.workers[0], 'edge worker w1'), restarted];
    await wait('R = 8 again', () => observer.scheduler?.units === 8, workers);
    const unitsDecided = () =>
      [...observer.decisions.values()].reduce((sum, decision) => sum + decision.units, 0);
    await wait(
      'both workers to log the same packing on 2 workers, covering every unit decided',
      () => {
        const [a, b] = workers.map(lastPacking);
        return (
          a !== undefined &&
          b !== undefined &&
          a.digest === b.digest &&
          a.workers === 2 &&
          b.workers === 2 &&
          a.units + b.units === unitsDecided()
        );
      },
      workers,
    );
    expect(unitsDecided()).toBeGreaterThan(4);

    const sent = await runRequests(fleet, 200);
    expect(sent).toBeGreaterThanOrEqual(200);
    expectEachAnsweredOnce(fleet, sent);
    const [a, b] = workers.map(lastPacking);
    expect(a?.digest, systemReport(system, workers)).toBe(b?.digest);
  }, 180_000);

  it('an edge worker killed while the broker is down is taken for offline once the broker is back: R drops to 4, the other serves every unit alone, all 100 requests answered once', async () => {
    const { system, fleet, wait } = await twoWorkersSixUes(started, { broker: 'embedded' });
    const observer = system.observer;

    await defined(system.broker, 'the broker process').kill();
    await defined(system.workers[1], 'edge worker w2').kill();
    await system.startBroker();
    // No last will tells anyone: the scheduler and the other worker notice it did not come back.
    await wait('R to drop to 4', () => observer.scheduler?.units === 4);
    await expectSurvivorAlone(system, fleet, wait);
  }, 180_000);

  it.skipIf(noMosquitto !== undefined)(
    'an edge worker killed with a Mosquitto that keeps retained messages (both SIGKILL): the restarted broker replays its last online, and it is taken for offline once unheard for the expiry time; R drops to 4, the other serves every unit alone, all 100 requests answered once',
    async () => {
      const mosquitto = await startPersistentMosquitto();
      // Stopped once the system is: its processes publish their `offline` as they close.
      started.afterSystem = () => mosquitto.stop();
      // Short expiry and announcements, so that the test waits seconds rather than 30 s.
      const expiry = ['--edge-status-expiry-ms', '6000'];
      const { system, fleet, wait } = await twoWorkersSixUes(started, {
        broker: 'mosquitto',
        mqttUrl: mosquitto.url,
        workerArgs: [...expiry, '--announce-ms', '1000'],
        schedulerArgs: expiry,
      });
      const observer = system.observer;

      // Both workers' `online` (announced every second) in the broker's last save, then the
      // host of the broker and of w2 goes down at once.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const down = await mosquitto.down('SIGKILL');
      await defined(system.workers[1], 'edge worker w2').kill();
      await down.start();
      // The broker replays the dead worker's `online`: a fresh subscriber takes it as online.
      const fresh = await SystemObserver.open(system.mqttUrl, system.topicPrefix);
      try {
        await wait(
          'the replayed online status of w2',
          () => fresh.edge.get('w2')?.state === 'online',
        );
      } finally {
        await fresh.close();
      }
      await wait('R to drop to 4', () => observer.scheduler?.units === 4);
      const survivor = defined(system.workers[0], 'edge worker w1');
      // By the silence rule, or (a replay later than the grace period after the reconnect) by
      // the reconnect's rule first: a replay counted as hearing from w2 would keep it forever.
      await wait('both to log w2 taken offline', () =>
        [survivor, system.scheduler].every((p) => p.logMatching(/taken offline \[w2\]/).length > 0),
      );
      await expectSurvivorAlone(system, fleet, wait);
    },
    180_000,
  );
});
