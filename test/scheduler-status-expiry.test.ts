import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeProfile, planFleet, REAL_MODELS } from '../dnn/index.js';
import {
  type Decision,
  decodeMessage,
  edgeStatusTopic,
  encodeMessage,
  type UeStatus,
  ueTopic,
} from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { SilenceExpiry } from '../runtime/silence-expiry.js';
import { type Scheduler, startScheduler } from '../scheduler/index.js';
import { StatusExpiry } from '../scheduler/service/status-expiry.js';
import { deleteKeys } from '../system/redis-keys.js';
import { testRedisUrl } from './services.js';
import { waitUntil } from './wait-until.js';

const online = (protocol?: number): UeStatus => ({
  state: 'online',
  agentVersion: 'test',
  at: Date.now(),
  ...(protocol === undefined ? {} : { protocol }),
});

/** Publishes, retained, each planned UE's status (`statusOf` its id), profile and link. */
async function publishFleet(
  publish: (topic: string, value: object) => Promise<unknown>,
  prefix: string,
  { instance, members }: ReturnType<typeof planFleet>,
  statusOf: (ue: string) => UeStatus,
): Promise<void> {
  for (const [i, ue] of instance.ues.entries()) {
    await publish(ueTopic(prefix, ue.id, 'status'), statusOf(ue.id));
    await publish(ueTopic(prefix, ue.id, 'profile'), {
      model: members[i]?.model,
      batch: ue.batch,
      resultBytes: ue.resultBytes ?? 0,
      cuts: ue.cuts.map(({ name, deviceMs, bytes }) => ({ name, deviceMs, bytes })),
    });
    await publish(ueTopic(prefix, ue.id, 'link'), {
      uplinkMbps: ue.uplinkMbps,
      rttMs: ue.rttMs ?? 0,
      measuredAt: Date.now(),
    });
  }
}

describe('the status expiry rule', () => {
  it('expires a UE stating a protocol version once not heard for the expiry time, and forgets it', () => {
    const expiry = new StatusExpiry(1000);
    expiry.heard('a', online(1), 0);
    expiry.heard('b', online(), 0);
    expect(expiry.expired(999)).toEqual([]);
    expect(expiry.expired(1000)).toEqual(['a']);
    expect(expiry.expired(5000)).toEqual([]);
    expiry.heard('a', online(1), 6000);
    expiry.heard('a', { ...online(1), state: 'offline' }, 6500);
    expect(expiry.expired(9000)).toEqual([]);
    expect(expiry.size).toBe(0);
  });
});

describe('the silence rule of edge workers', () => {
  it('expires an id not heard for the expiry time, once, and never one forgotten', () => {
    const silence = new SilenceExpiry(1000);
    silence.heard('w1', 0);
    silence.heard('w2', 0);
    silence.heard('w2', 600);
    silence.heard('w3', 0);
    silence.forget('w3');
    expect(silence.expired(999)).toEqual([]);
    expect(silence.expired(1000)).toEqual(['w1']);
    expect(silence.expired(1599)).toEqual([]);
    expect(silence.expired(1600)).toEqual(['w2']);
    expect(silence.expired(9000)).toEqual([]);
    expect(silence.size).toBe(0);
  });
});

describe('a scheduler behind a broker that publishes no offline status', () => {
  const prefix = `expiry/${randomBytes(4).toString('hex')}`;
  const redisPrefix = `expiry-${randomBytes(4).toString('hex')}`;
  let aedes: Aedes;
  let close: () => Promise<void>;
  let url = '';
  let scheduler: Scheduler;

  beforeAll(async () => {
    aedes = await Aedes.createBroker();
    const server = createServer((socket) => aedes.handle(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
  });
  afterAll(async () => {
    await scheduler?.close();
    await close?.();
    await deleteKeys(testRedisUrl(), `${redisPrefix}:*`);
  });

  it('takes offline a UE whose versioned status is not refreshed, keeps an older UE, and takes it back when it refreshes', async () => {
    const planned = planFleet({ ues: 2, units: 0, seed: 3 });
    const { instance } = planned;
    const [fresh, older] = instance.ues.map((ue) => ue.id) as [string, string];
    const decisions = new Map<string, Decision | null>();
    const device = await connectMqtt({ url, clientId: `${redisPrefix}-devices` });
    device.on('message', (topic, payload) => {
      const ue = topic.split('/').at(-2) ?? '';
      if (payload.length === 0) decisions.set(ue, null);
      else {
        const decoded = decodeMessage('decision', payload);
        if (decoded.ok) decisions.set(ue, decoded.value);
      }
    });
    try {
      await device.subscribeAsync(`${prefix}/ue/+/decision`, { qos: 1 });
      const publish = (topic: string, value: object) =>
        device.publishAsync(topic, encodeMessage(value as never), { qos: 1, retain: true });
      await publish(edgeStatusTopic(prefix, 'w1'), {
        state: 'online',
        units: 4,
        models: REAL_MODELS.map((model) => ({ model, edgeMs: edgeProfile(model) })),
        at: Date.now(),
      });
      await publishFleet(publish, prefix, planned, (ue) => online(ue === fresh ? 1 : undefined));
      scheduler = await startScheduler({
        mqttUrl: url,
        redisUrl: testRedisUrl(),
        topicPrefix: prefix,
        redisPrefix,
        statusExpiryMs: 1500,
        // w1 is a retained status the test publishes once: not the subject here.
        edgeStatusExpiryMs: 0,
      });
      await waitUntil('a decision for both UEs', () =>
        [fresh, older].every((ue) => decisions.get(ue)),
      );
      // No refresh: the versioned UE's decision is cleared (it left the solve), the other stays.
      await waitUntil('the silent versioned UE taken offline', () => decisions.get(fresh) === null);
      expect(decisions.get(older)).toBeTruthy();
      // A refresh brings it back.
      await publish(ueTopic(prefix, fresh, 'status'), online(1));
      await waitUntil('a decision for the refreshed UE', () => Boolean(decisions.get(fresh)));
      expect(decisions.get(older)).toBeTruthy();
    } finally {
      await device.endAsync(true);
    }
  });

  it('takes for offline an edge worker whose retained online status is never announced again, keeps one that announces, and takes it back at its next announcement', async () => {
    const topicPrefix = `${prefix}-edge`;
    const planned = planFleet({ ues: 3, units: 0, seed: 5 });
    const device = await connectMqtt({ url, clientId: `${redisPrefix}-edge-devices` });
    const status = (units: number) => ({
      state: 'online' as const,
      units,
      models: REAL_MODELS.map((model) => ({ model, edgeMs: edgeProfile(model) })),
      at: Date.now(),
    });
    const publish = (topic: string, value: object) =>
      device.publishAsync(topic, encodeMessage(value as never), { qos: 1, retain: true });
    let edgeScheduler: Scheduler | undefined;
    // The live worker announces itself as edge workers do, only more often.
    const announcing = setInterval(() => {
      publish(edgeStatusTopic(topicPrefix, 'live'), status(2)).catch(() => {});
    }, 200);
    try {
      await publish(edgeStatusTopic(topicPrefix, 'live'), status(2));
      // What a broker that keeps retained messages replays of a worker that died while it was down.
      await publish(edgeStatusTopic(topicPrefix, 'ghost'), status(3));
      await publishFleet(publish, topicPrefix, planned, () => online());
      const expired: string[][] = [];
      const started = await startScheduler({
        mqttUrl: url,
        redisUrl: testRedisUrl(),
        topicPrefix,
        redisPrefix: `${redisPrefix}-edge`,
        edgeStatusExpiryMs: 1500,
      });
      edgeScheduler = started;
      started.on('workersExpired', ({ workers }) => expired.push([...workers]));
      const onlineWorkers = () => [...started.state().fleet.workers.keys()].sort();
      await waitUntil('both workers online', () => onlineWorkers().length === 2);
      await waitUntil('a solve over both workers', () => started.stats().units === 5);
      await waitUntil('the silent worker taken for offline', () => onlineWorkers().length === 1);
      expect(onlineWorkers()).toEqual(['live']);
      expect(expired).toEqual([['ghost']]);
      await started.idle();
      expect(started.stats().units).toBe(2);
      const units = [...started.state().decisions.values()].reduce((sum, d) => sum + d.units, 0);
      expect(units).toBeLessThanOrEqual(2);
      // An announcement brings it back.
      await publish(edgeStatusTopic(topicPrefix, 'ghost'), status(3));
      await waitUntil('the worker back online', () => onlineWorkers().length === 2);
      await started.idle();
      expect(started.stats().units).toBe(5);
    } finally {
      clearInterval(announcing);
      await edgeScheduler?.close();
      await device.endAsync(true);
      await deleteKeys(testRedisUrl(), `${redisPrefix}-edge:*`);
    }
  });
});
