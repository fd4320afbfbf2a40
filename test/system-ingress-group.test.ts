import { afterEach, describe, expect, it } from 'vitest';
import type { CliProcess } from './cli-process.js';
import { startOwnMosquitto } from './own-services.js';
import {
  everyUeOffloads,
  type FleetUe,
  runRequests,
  startFleet,
  useSystem,
} from './system-fleet.js';
import { RunningSystem } from './system-harness.js';
import { missingTools, titled } from './tools.js';
import { waitUntil } from './wait-until.js';
import { workerCounts } from './worker-counts.js';

/** As many UEs as units, so that every UE offloads. */
const UES = 12;
const REQUESTS = 3000;
const FAST_LINK = { uplinkMbps: 200, downlinkMbps: 200, rttMs: 2 };

const noMosquitto = missingTools('mosquitto');

function requestsSent(fleet: readonly FleetUe[]): number {
  return fleet.reduce((sum, ue) => sum + ue.agent.counters().requests, 0);
}

/** The last `accepted N` an ingress logged (its counters line), or 0. */
function lastAccepted(ingress: CliProcess): number {
  const lines = ingress.matching('stderr', /edgesplit ingress: (stopped: )?accepted \d+/);
  const last = lines.at(-1);
  return last === undefined ? 0 : Number(/accepted (\d+)/.exec(last)?.[1]);
}

/** The counters an ingress logged when it stopped cleanly. */
function stoppedCounters(ingress: CliProcess): { accepted: number; duplicates: number } {
  const line = ingress.matching('stderr', /edgesplit ingress: stopped: accepted \d+/).at(-1);
  expect(line, `${ingress.name} logged no final counters\n${ingress.tail()}`).toBeDefined();
  return {
    accepted: Number(/accepted (\d+)/.exec(line ?? '')?.[1]),
    duplicates: Number(/duplicates (\d+)/.exec(line ?? '')?.[1]),
  };
}

describe(titled('several ingresses sharing the requests (Mosquitto)', noMosquitto), () => {
  // Registered before useSystem's: after-each hooks run in reverse, so the broker stops last.
  const owned: { stop: (() => Promise<void>) | undefined } = { stop: undefined };
  afterEach(async () => {
    await owned.stop?.();
    owned.stop = undefined;
  });
  const started = useSystem();

  it.skipIf(noMosquitto !== undefined)(
    `3 ingresses of one group, ${REQUESTS} requests, one ingress SIGKILLed mid-run: each ingress takes a share, every request is answered once and run once, none lost`,
    async () => {
      const mosquitto = await startOwnMosquitto();
      owned.stop = mosquitto.stop;
      const system = await RunningSystem.start({
        broker: 'mosquitto',
        mqttUrl: mosquitto.url,
        workers: 2,
        units: UES / 2,
        ingressGroup: { name: 'intake', count: 3 },
      });
      started.system = system;
      const [first, victim, third] = system.ingresses as [CliProcess, CliProcess, CliProcess];
      // A small model on a slow device: every UE offloads at cut 0 with a 12 KiB tensor. What
      // the victim held unacknowledged dies with its clean session; its UEs resend after 5 s.
      const fleet = await startFleet(system, UES, {
        model: 'tiny-cnn',
        device: { gflops: 0.01 },
        link: FAST_LINK,
        requestTimeoutMs: 5000,
      });
      started.fleet = fleet;
      await waitUntil('a decision for every UE', () => system.observer.decisions.size === UES);
      await waitUntil('every UE to offload', () => everyUeOffloads(fleet));

      const progress = setInterval(() => {
        const counters = fleet.map((ue) => ue.agent.counters());
        const sum = (key: 'requests' | 'ok' | 'retried' | 'failed') =>
          counters.reduce((total, c) => total + c[key], 0);
        console.log(
          `t=${Math.round(performance.now() / 1000)}s sent ${sum('requests')} ok ${sum('ok')} ` +
            `resent ${sum('retried')} failed ${sum('failed')}; ingress shares ` +
            system.ingresses.map(lastAccepted).join('/'),
        );
      }, 10_000);
      const run = runRequests(fleet, REQUESTS).finally(() => clearInterval(progress));
      await waitUntil(
        'a third of the requests sent and every ingress logging a share',
        () =>
          requestsSent(fleet) >= REQUESTS / 3 &&
          system.ingresses.every((ingress) => lastAccepted(ingress) > 0),
      );
      const victimShare = lastAccepted(victim);
      await victim.kill();
      const sent = await run;
      expect(sent).toBeGreaterThanOrEqual(REQUESTS);

      // Every request reached its UE's application exactly once, and none failed.
      const report = fleet
        .map((ue) => `${ue.agent.id} ${JSON.stringify(ue.agent.counters())}`)
        .join('\n');
      expect(requestsSent(fleet), report).toBe(sent);
      const delivered = fleet.flatMap((ue) => [...ue.delivered.values()]);
      expect(delivered.length, report).toBe(sent);
      expect(delivered.filter((count) => count !== 1)).toEqual([]);
      for (const ue of fleet) expect(ue.agent.counters().failed, ue.agent.id).toBe(0);

      // Stopped cleanly, the survivors and the edge workers log their final counters.
      for (const process of [first, third, ...system.workers]) {
        const exit = await process.stop(30_000);
        expect(exit.signal, process.tail()).toBeNull();
      }
      const survivors = [stoppedCounters(first), stoppedCounters(third)];
      const workers = system.workers.map(workerCounts);
      const completed = workers.reduce((sum, worker) => sum + worker.completed, 0);
      const resent = fleet.reduce((sum, ue) => sum + ue.agent.counters().retried, 0);
      console.log(
        `shares: ingress-1 ${survivors[0]?.accepted}, ingress-2 at least ${victimShare} ` +
          `(killed), ingress-3 ${survivors[1]?.accepted}; duplicates ${survivors
            .map((s) => s.duplicates)
            .join(' and ')}; resent by agents ${resent}; jobs completed ${completed}`,
      );
      // Each ingress took a share, and nothing was enqueued twice: every request's job ran once.
      for (const survivor of survivors) expect(survivor.accepted).toBeGreaterThan(0);
      expect(victimShare).toBeGreaterThan(0);
      const accepted = survivors.reduce((sum, survivor) => sum + survivor.accepted, 0);
      expect(accepted + victimShare).toBeLessThanOrEqual(sent);
      expect(workers.map((worker) => worker.failed)).toEqual([0, 0]);
      expect(completed).toBe(sent);
    },
  );

  it.skipIf(noMosquitto !== undefined)(
    'ingress --group against the embedded broker (no shared subscriptions) exits with an error saying so',
    async () => {
      const system = await RunningSystem.start({ broker: 'embedded', workers: 1, units: 1 });
      started.system = system;
      const grouped = system.group.start(
        'grouped ingress',
        ['ingress', '--group', 'intake'],
        system.env(),
      );
      const exit = await grouped.exited;
      expect(exit.code).toBe(1);
      expect(
        grouped.matching('stderr', /refused the shared subscription \$share\/intake\//),
      ).toHaveLength(1);
      expect(grouped.matching('stderr', /does not/)).toHaveLength(1);
    },
  );
});
