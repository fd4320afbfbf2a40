import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeProfile, planFleet, REAL_MODELS } from '../dnn/index.js';
import {
  type Decision,
  decodeMessage,
  type EdgeStatus,
  type ErrorReport,
  edgeStatusTopic,
  encodeMessage,
  type LinkEstimate,
  type Message,
  type Profile,
  type SchedulerStatus,
  schedulerStatusTopic,
  tryParseTopic,
  ueQueueName,
  ueTopic,
} from '../proto/index.js';
import { defined, mapGet } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { type Scheduler, type SolveReport, startScheduler } from '../scheduler/index.js';
import { quantile } from '../stats/quantile.js';
import { deleteKeys } from '../system/redis-keys.js';
import { startBroker, type TestBroker } from './bare-broker.js';
import { WAIT_MS } from './wait-until.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const AT = 1_700_000_000_000;

interface TestFleet {
  readonly ues: readonly string[];
  readonly profiles: ReadonlyMap<string, Profile>;
  readonly links: Map<string, LinkEstimate>;
}

/** A generated fleet of zoo models, as its agents would publish it. */
function testFleet(count: number, seed: number): TestFleet {
  const { instance, members } = planFleet({ ues: count, units: 0, seed });
  const profiles = new Map<string, Profile>();
  const links = new Map<string, LinkEstimate>();
  instance.ues.forEach((ue, i) => {
    profiles.set(ue.id, {
      model: defined(members[i], `member ${i} of the fleet`).model,
      batch: ue.batch,
      resultBytes: ue.resultBytes ?? 0,
      cuts: ue.cuts.map(({ name, deviceMs, bytes }) => ({ name, deviceMs, bytes })),
    });
    const link: LinkEstimate = { uplinkMbps: ue.uplinkMbps, rttMs: ue.rttMs ?? 0, measuredAt: AT };
    links.set(
      ue.id,
      ue.downlinkMbps === undefined ? link : { ...link, downlinkMbps: ue.downlinkMbps },
    );
  });
  return { ues: instance.ues.map((u) => u.id), profiles, links };
}

function edgeWorker(units: number, online = true): EdgeStatus {
  return {
    state: online ? 'online' : 'offline',
    units,
    models: REAL_MODELS.map((model) => ({ model, edgeMs: edgeProfile(model) })),
    at: AT,
  };
}

const RETAIN = { qos: 1, retain: true } as const;
const ONCE = { qos: 1, retain: false } as const;

/** Fake agents and workers publishing on one connection, and a listener on their outputs. */
class Field {
  /** The latest decision per UE; null once cleared. */
  readonly decisions = new Map<string, Decision | null>();
  readonly received: { ue: string; decision: Decision | null; at: number }[] = [];
  readonly errors = new Map<string, ErrorReport[]>();
  status: SchedulerStatus | undefined;

  private constructor(
    readonly client: MqttClient,
    readonly prefix: string,
  ) {}

  static async open(url: string, prefix: string): Promise<Field> {
    const client = await connectMqtt({ url, clean: true });
    const field = new Field(client, prefix);
    client.on('message', (topic, payload) => field.onMessage(topic, payload));
    await client.subscribeAsync({
      [`${prefix}/ue/+/decision`]: { qos: 1 },
      [`${prefix}/ue/+/error`]: { qos: 1 },
      [schedulerStatusTopic(prefix)]: { qos: 1 },
    });
    return field;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = tryParseTopic(this.prefix, topic);
    if (!parsed.ok) return;
    const where = parsed.value;
    if (where.kind === 'scheduler') {
      const status = decodeMessage('schedulerStatus', payload);
      if (status.ok) this.status = status.value;
    } else if (where.kind === 'ue' && where.channel === 'decision') {
      let decision: Decision | null = null;
      if (payload.length > 0) {
        const decoded = decodeMessage('decision', payload);
        if (!decoded.ok) throw decoded.error;
        decision = decoded.value;
      }
      this.decisions.set(where.ue, decision);
      this.received.push({ ue: where.ue, decision, at: performance.now() });
    } else if (where.kind === 'ue' && where.channel === 'error') {
      const report = decodeMessage('error', payload);
      if (!report.ok) throw report.error;
      this.errors.set(where.ue, [...(this.errors.get(where.ue) ?? []), report.value]);
    }
  }

  async publishUe(ue: string, channel: 'status' | 'profile' | 'link', value: Message) {
    await this.client.publishAsync(ueTopic(this.prefix, ue, channel), encodeMessage(value), RETAIN);
  }

  async publishRaw(topic: string, payload: Uint8Array) {
    await this.client.publishAsync(topic, Buffer.from(payload), ONCE);
  }

  async publishWorker(id: string, status: EdgeStatus) {
    await this.client.publishAsync(edgeStatusTopic(this.prefix, id), encodeMessage(status), RETAIN);
  }

  async publishFleet(fleet: TestFleet) {
    await Promise.all(
      fleet.ues.flatMap((ue) => [
        this.publishUe(ue, 'status', { state: 'online', agentVersion: 'test', at: AT }),
        this.publishUe(ue, 'profile', mapGet(fleet.profiles, ue, `the profile of ${ue}`)),
        this.publishUe(ue, 'link', mapGet(fleet.links, ue, `the link of ${ue}`)),
      ]),
    );
  }

  /** Clears every retained message this test left on the broker. */
  async clearRetained(fleet: TestFleet, workers: readonly string[]) {
    const empty = Buffer.alloc(0);
    const topics = [
      ...fleet.ues.flatMap((ue) =>
        (['status', 'profile', 'link', 'decision'] as const).map((c) =>
          ueTopic(this.prefix, ue, c),
        ),
      ),
      ...workers.map((w) => edgeStatusTopic(this.prefix, w)),
      schedulerStatusTopic(this.prefix),
    ];
    await Promise.all(topics.map((topic) => this.client.publishAsync(topic, empty, RETAIN)));
  }

  close() {
    return this.client.endAsync();
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function uniqueName(what: string): string {
  return `${what}-${randomBytes(4).toString('hex')}`;
}

async function queueConcurrency(redis: Redis, prefix: string, ue: string) {
  const queue = new Queue(ueQueueName(ue), { connection: redis, prefix, skipMetasUpdate: true });
  try {
    return await queue.getGlobalConcurrency();
  } finally {
    await queue.close();
  }
}

let broker: TestBroker;
let redis: Redis;

beforeAll(async () => {
  broker = await startBroker();
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await redis.quit();
  await broker.close();
});

describe('scheduler service (aedes + Redis)', () => {
  const topicPrefix = uniqueName('test/sched');
  const redisPrefix = uniqueName('essched');
  const fleet = testFleet(12, 11);
  const workers = ['edge-a', 'edge-b'];
  // Start-up reads the retained state until it has been quiet this long: generous, so that a
  // busy machine delivering it slowly still gives one first solve over all of it.
  const options = {
    topicPrefix,
    redisPrefix,
    redisUrl: REDIS_URL,
    id: 'sched-test-1',
    startupQuietMs: 1000,
    // The field's workers are retained statuses that are never announced again.
    edgeStatusExpiryMs: 0,
  };
  let field: Field;
  let scheduler: Scheduler;
  let target = '';

  /** Every UE queue's global concurrency equals max(1, its units); offline UEs drain at 1. */
  async function expectQueuesMatch(): Promise<void> {
    const decisions = scheduler.state().decisions;
    for (const ue of fleet.ues) {
      const units = decisions.get(ue)?.units ?? 0;
      expect(await queueConcurrency(redis, redisPrefix, ue), ue).toBe(Math.max(1, units));
    }
  }

  beforeAll(async () => {
    field = await Field.open(broker.url, topicPrefix);
    for (const ue of fleet.ues)
      fleet.links.set(ue, { ...mapGet(fleet.links, ue, `the link of ${ue}`), uplinkMbps: 50 });
    await Promise.all(workers.map((w) => field.publishWorker(w, edgeWorker(12))));
    await field.publishFleet(fleet);
    scheduler = await startScheduler({ ...options, mqttUrl: broker.url });
  });

  afterAll(async () => {
    await scheduler.close();
    await field.clearRetained(fleet, workers);
    await field.close();
    await deleteKeys(REDIS_URL, `${redisPrefix}:*`);
  });

  it('decides for every UE from the retained state and sets every queue to its units', async () => {
    await waitFor('a decision for every UE', () =>
      fleet.ues.every((ue) => field.decisions.get(ue)),
    );
    await scheduler.idle();
    const decisions = fleet.ues.map((ue) => mapGet(field.decisions, ue, `the decision of ${ue}`));
    const used = decisions.reduce((sum, d) => sum + d.units, 0);
    expect(used).toBeLessThanOrEqual(24);
    expect(new Set(decisions.map((d) => d.epoch))).toEqual(new Set([1]));
    // Each decision names the UE's model, so that edge workers can open its tail ahead.
    expect(decisions.map((d) => d.model)).toEqual(
      fleet.ues.map((ue) => mapGet(fleet.profiles, ue, `the profile of ${ue}`).model),
    );
    await waitFor('scheduler/status', () => field.status !== undefined);
    expect(field.status).toMatchObject({ leaderId: 'sched-test-1', epoch: 1, ues: 12, units: 24 });
    expect(field.status?.maxPredictedMs).toBe(Math.max(...decisions.map((d) => d.predictedMs)));
    await expectQueuesMatch();
    target = defined(
      fleet.ues.find((ue) => (field.decisions.get(ue)?.units ?? 0) > 0),
      'a UE with edge units',
    );
  });

  it('re-solves a 50 -> 2 Mbps link drop into a new decision with a higher epoch', async () => {
    const before = mapGet(field.decisions, target, `the decision of ${target}`);
    const count = field.received.length;
    const sent = performance.now();
    const link = mapGet(fleet.links, target, `the link of ${target}`);
    await field.publishUe(target, 'link', { ...link, uplinkMbps: 2 });
    await waitFor('the new decision', () =>
      field.received.slice(count).some((r) => r.ue === target),
    );
    const got = defined(
      field.received.slice(count).find((r) => r.ue === target),
      `the new decision of ${target}`,
    );
    console.info(`link change -> decision: ${(got.at - sent).toFixed(2)} ms`);
    const { epoch } = defined(got.decision, `the new decision of ${target}`);
    expect(epoch).toBeGreaterThan(before.epoch);
    await scheduler.idle();
    // Only decisions that changed were published, all under the new epoch.
    const epochs = field.received.slice(count).map((r) => r.decision?.epoch);
    expect(new Set(epochs)).toEqual(new Set([epoch]));
    await expectQueuesMatch();
  });

  it('answers invalid payloads on each input topic with an error to that UE, changing nothing', async () => {
    await scheduler.idle();
    const state = scheduler.state();
    const solves = scheduler.stats().solves;
    const count = field.received.length;
    const rejected: string[] = [];
    const off = scheduler.on('rejected', (r) => rejected.push(r.topic));
    const bad = (value: unknown) => encodeMessage(value as Message);
    const ue = target;
    await field.publishRaw(ueTopic(topicPrefix, ue, 'status'), bad({ state: 'zombie', at: AT }));
    await field.publishRaw(ueTopic(topicPrefix, ue, 'profile'), bad({ model: 'alexnet' }));
    await field.publishRaw(ueTopic(topicPrefix, ue, 'link'), bad({ uplinkMbps: -5, rttMs: 1 }));
    await field.publishRaw(ueTopic(topicPrefix, ue, 'link'), Uint8Array.from([0x93, 0x01]));
    await field.publishRaw(edgeStatusTopic(topicPrefix, 'edge-a'), bad({ state: 'online' }));
    await waitFor('4 errors', () => (field.errors.get(ue)?.length ?? 0) >= 4);
    await waitFor('5 rejections', () => rejected.length >= 5);
    off();
    const errors = mapGet(field.errors, ue, `the errors sent to ${ue}`);
    const issues = errors.map((e) => `${e.code} ${e.issues.join('; ')}`);
    expect(issues[0]).toMatch(/^INVALID_PAYLOAD .*status\.state/);
    expect(issues[1]).toMatch(/^INVALID_PAYLOAD .*profile\.batch/);
    expect(issues[2]).toMatch(/^INVALID_PAYLOAD .*link\.uplinkMbps/);
    expect(issues[3]).toMatch(/^UNDECODABLE link: truncated/);
    expect(errors.every((e) => e.topic?.startsWith(topicPrefix))).toBe(true);
    await scheduler.idle();
    expect(scheduler.state()).toEqual(state);
    expect(scheduler.stats().solves).toBe(solves);
    expect(field.received.length).toBe(count);
  });

  it('clears the decision of a UE going offline and drains its queue; a lost worker shrinks R', async () => {
    const leaving = defined(
      fleet.ues.find((ue) => ue !== target),
      'a UE other than the target',
    );
    await field.publishUe(leaving, 'status', { state: 'offline', agentVersion: 'test', at: AT });
    await waitFor('the cleared decision', () => field.decisions.get(leaving) === null);
    await field.publishWorker('edge-b', edgeWorker(12, false));
    await waitFor('R = 12', () => field.status?.units === 12);
    await scheduler.idle();
    const live = fleet.ues.filter((ue) => ue !== leaving);
    expect(live.every((ue) => field.decisions.get(ue))).toBe(true);
    const used = live.reduce(
      (sum, ue) => sum + mapGet(field.decisions, ue, `the decision of ${ue}`).units,
      0,
    );
    expect(used).toBeLessThanOrEqual(12);
    expect(field.status?.ues).toBe(11);
    expect(await queueConcurrency(redis, redisPrefix, leaving)).toBe(1);
    await expectQueuesMatch();
  });

  it('rebuilds from retained messages after a restart and continues the epoch', async () => {
    await scheduler.idle();
    const epoch = scheduler.stats().epoch;
    const decisions = scheduler.state().decisions;
    await scheduler.close();
    // A stale queue setting that the new scheduler must repair.
    await redis.hset(`${redisPrefix}:${ueQueueName(target)}:meta`, 'concurrency', '99');
    const count = field.received.length;
    const solved: SolveReport[] = [];
    scheduler = await startScheduler({ ...options, id: 'sched-test-2', mqttUrl: broker.url });
    scheduler.on('solved', (report) => solved.push(report));
    await scheduler.idle();
    expect(scheduler.stats().epoch).toBe(epoch);
    expect(scheduler.state().decisions).toEqual(decisions);
    expect(scheduler.state().fleet.ues.size).toBe(12);
    expect(field.received.length).toBe(count); // nothing changed, nothing republished
    await waitFor('status from the new scheduler', () => field.status?.leaderId === 'sched-test-2');
    await expectQueuesMatch();

    const other = defined(
      fleet.ues.find((ue) => ue !== target && field.decisions.get(ue)?.units),
      'another UE with edge units',
    );
    const link = mapGet(fleet.links, other, `the link of ${other}`);
    await field.publishUe(other, 'link', { ...link, uplinkMbps: 1 });
    await waitFor('a decision after the restart', () => field.received.length > count);
    expect(field.received.at(-1)?.decision?.epoch).toBe(epoch + 1);
    await scheduler.idle();
    expect(solved.at(-1)?.epoch).toBe(epoch + 1);
    await expectQueuesMatch();
  });
});

describe('scheduler service reaction time, N = 200', () => {
  it('turns each of 40 link changes into a new decision for that UE', async () => {
    const topicPrefix = uniqueName('test/sched200');
    const redisPrefix = uniqueName('essched200');
    const fleet = testFleet(200, 3);
    const workers = ['edge-1', 'edge-2', 'edge-3', 'edge-4'];
    const field = await Field.open(broker.url, topicPrefix);
    await Promise.all(workers.map((w) => field.publishWorker(w, edgeWorker(32))));
    await field.publishFleet(fleet);
    const scheduler = await startScheduler({
      topicPrefix,
      redisPrefix,
      redisUrl: REDIS_URL,
      mqttUrl: broker.url,
      // As above: the first solve over the whole retained fleet, however slowly it arrives.
      startupQuietMs: 1000,
      edgeStatusExpiryMs: 0,
    });
    try {
      await waitFor('200 decisions', () => fleet.ues.every((ue) => field.decisions.get(ue)));
      await scheduler.idle();
      const solveMs: number[] = [];
      const inside: number[] = [];
      scheduler.on('solved', (r) => {
        solveMs.push(r.solveMs);
        inside.push(r.reactionMs);
      });
      const reactions: number[] = [];
      const offloading = fleet.ues.filter(
        (ue) => mapGet(field.decisions, ue, `the decision of ${ue}`).units > 0,
      );
      for (const ue of offloading.slice(0, 40)) {
        const count = field.received.length;
        const link = mapGet(fleet.links, ue, `the link of ${ue}`);
        const sent = performance.now();
        await field.publishUe(ue, 'link', { ...link, uplinkMbps: link.uplinkMbps / 25 });
        await waitFor(`decision for ${ue}`, () =>
          field.received.slice(count).some((r) => r.ue === ue),
        );
        const got = defined(
          field.received.slice(count).find((r) => r.ue === ue),
          `the new decision of ${ue}`,
        );
        reactions.push(got.at - sent);
        await scheduler.idle();
      }
      const ms = (values: number[], q: number) => (quantile(values, q) ?? Number.NaN).toFixed(2);
      console.info(
        `N=200 reaction: p50 ${ms(reactions, 0.5)} ms, p99 ${ms(reactions, 0.99)} ms over ` +
          `${reactions.length}; solve p50 ${ms(solveMs, 0.5)} ms, max ${ms(solveMs, 1)} ms; ` +
          `in the scheduler p50 ${ms(inside, 0.5)} ms`,
      );
      // Every change got its decision (waited for above). How fast is bench:system's reaction
      // figure: here the broker, the scheduler and 200 fake agents share one busy process.
      expect(offloading.length).toBeGreaterThan(0);
      expect(reactions.length).toBe(Math.min(40, offloading.length));
      expect(inside.length).toBeGreaterThanOrEqual(reactions.length);
    } finally {
      await scheduler.close();
      await field.clearRetained(fleet, workers);
      await field.close();
      await deleteKeys(REDIS_URL, `${redisPrefix}:*`);
    }
  });
});
