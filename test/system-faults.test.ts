import { describe, expect, it } from 'vitest';
import { defined } from '../runtime/defined.js';
import {
  ackedSoFar,
  expectEachAnsweredOnce,
  expectSurvivorAlone,
  FAST_LINK,
  lastPacking,
  logPubacks,
  lostAcknowledged,
  requestsSent,
  systemReport,
  twoWorkersSixUes,
  waitOrReport,
} from './fault-checks.js';
import { startPersistentMosquitto } from './own-services.js';
import { runRequests, startFleet, useSystem } from './system-fleet.js';
import { RunningSystem } from './system-harness.js';
import { SystemObserver } from './system-observer.js';
import { missingTools } from './tools.js';
import { waitUntil } from './wait-until.js';
import { workerCounts } from './worker-counts.js';

const noMosquitto = missingTools('mosquitto');

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
