import type { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  answerKey,
  backlogKey,
  claimKey,
  decisionsKey,
  epochKey,
  incomingKey,
  ueQueueName,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { createRedis, scanKeys } from '../runtime/redis-connect.js';
import { leaderKey } from '../scheduler/service/leader-lock.js';
import { failOnStall } from './fleet-stall.js';
import { type OwnCluster, startOwnCluster } from './own-services.js';
import { everyUeOffloads, runRequests, startFleet, useSystem } from './system-fleet.js';
import { RunningSystem } from './system-harness.js';
import { missingTools, titled } from './tools.js';
import { waitUntil } from './wait-until.js';

const UES = 8;
const REQUESTS = 200;
const FAST_LINK = { uplinkMbps: 200, downlinkMbps: 200, rttMs: 2 };

const noTools = missingTools('redis-server', 'redis-cli');

describe(titled('the live system on a Redis Cluster of three masters', noTools), () => {
  // Registered before useSystem's: after-each hooks run in reverse, so the cluster stops last.
  const owned: { cluster: OwnCluster | undefined } = { cluster: undefined };
  afterEach(async () => {
    await owned.cluster?.stop();
    owned.cluster = undefined;
  });
  const started = useSystem();

  it(`a fleet of ${UES} UEs runs on it: ${REQUESTS} requests answered once each, every key of a UE in its UE's slot, the scheduler's keys in one slot, and the UEs' queues on different nodes`, async () => {
    const cluster = await startOwnCluster(3);
    owned.cluster = cluster;
    const system = await RunningSystem.start({
      broker: 'embedded',
      redisUrl: cluster.url,
      workers: 2,
      units: UES / 2,
    });
    started.system = system;
    system.observer.trackRequests = true;
    const fleet = await startFleet(system, UES, {
      model: 'tiny-cnn',
      device: { gflops: 0.01 },
      link: FAST_LINK,
    });
    started.fleet = fleet;
    await waitUntil('a decision for every UE', () => system.observer.decisions.size === UES);
    await waitUntil('every UE to offload', () => everyUeOffloads(fleet));

    // Fails within WAIT_MS of the last answer, naming the requests left and the components' logs.
    const sent = await failOnStall(system, fleet, runRequests(fleet, REQUESTS));
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    const delivered = fleet.flatMap((ue) => [...ue.delivered.values()]);
    expect(delivered.length).toBe(sent);
    expect(delivered.filter((count) => count !== 1)).toEqual([]);
    for (const ue of fleet) expect(ue.agent.counters().failed, ue.agent.id).toBe(0);

    const client = createRedis(cluster.url) as Cluster;
    try {
      const slotOf = async (key: string) => Number(await client.cluster('KEYSLOT', key));
      const prefix = system.redisPrefix;
      // Keys a script or a transaction touches together share a slot.
      const scheduler = await Promise.all(
        [leaderKey(prefix), epochKey(prefix), decisionsKey(prefix)].map(slotOf),
      );
      expect(new Set(scheduler).size).toBe(1);
      const slots = new Map<string, number>();
      for (const { agent } of fleet) {
        const ue = agent.id;
        const keys = [
          `${prefix}:${ueQueueName(ue)}:wait`,
          `${prefix}:${ueQueueName(ue)}:meta`,
          claimKey(prefix, ue, 'r-1'),
          incomingKey(prefix, ue, 'r-1'),
          answerKey(prefix, ue, 'r-1'),
          backlogKey(prefix, ue),
          `${backlogKey(prefix, ue)}:bytes`,
        ];
        const ueSlots = new Set(await Promise.all(keys.map(slotOf)));
        expect([...ueSlots], ue).toHaveLength(1);
        slots.set(ue, defined([...ueSlots][0], `the slot of ${ue}`));
      }

      // Where each UE's queue really is: every master's keys of the system, by UE.
      const nodeOfUe = new Map<string, Set<string>>();
      for (const node of client.nodes('master')) {
        const address = `${node.options.host}:${node.options.port}`;
        await scanKeys(node, `${prefix}:ue.*`, async (keys) => {
          for (const key of keys) {
            const ue = /^[^:]+:ue\.\{([^}]+)\}:/.exec(key)?.[1];
            if (ue === undefined) continue;
            const nodes = nodeOfUe.get(ue) ?? new Set<string>();
            nodes.add(address);
            nodeOfUe.set(ue, nodes);
          }
        });
      }
      expect([...nodeOfUe.keys()].sort()).toEqual(fleet.map((ue) => ue.agent.id).sort());
      for (const [ue, nodes] of nodeOfUe) expect([...nodes], ue).toHaveLength(1);
      const nodesUsed = new Set([...nodeOfUe.values()].flatMap((nodes) => [...nodes].slice(0, 1)));
      console.log(
        `queues by node: ${[...nodesUsed]
          .map((node) => {
            const ues = [...nodeOfUe].filter(([, nodes]) => nodes.has(node)).map(([ue]) => ue);
            return `${node} ${ues.join(',')}`;
          })
          .join('; ')}; slots ${[...slots].map(([ue, slot]) => `${ue}=${slot}`).join(' ')}`,
      );
      expect(nodesUsed.size).toBeGreaterThan(1);
    } finally {
      client.disconnect();
    }
    expect(system.group.dead()).toEqual([]);
  });
});
