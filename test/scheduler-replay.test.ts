/**
 * A retained replay that a live message overtook must not undo it. Aedes reads the retained
 * messages a subscription replays and writes them out later; an edge worker's last will published
 * in between reached a (re)subscribing scheduler first, and the replay of the worker's `online`
 * of a moment before then gave its units back for a process that was gone.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { AedesPublishPacket } from 'aedes';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  edgeStatusFilter,
  edgeStatusTopic,
  encodeMessage,
  type Message,
  ueTopic,
} from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { RetainedReplayFilter } from '../runtime/retained-replay.js';
import { type Scheduler, startScheduler } from '../scheduler/index.js';
import { deleteKeys } from '../system/redis-keys.js';
import { startBroker, type TestBroker } from './bare-broker.js';
import { AT, link, profile, worker } from './scheduler-fixtures.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RETAIN = { qos: 1, retain: true } as const;

describe('retained replays', () => {
  it('a replay after a live message on the same topic is dropped; after a reconnect it is taken', () => {
    const filter = new RetainedReplayFilter();
    expect(filter.accepts('edge/w1/status', true)).toBe(true);
    expect(filter.accepts('edge/w1/status', false)).toBe(true);
    expect(filter.accepts('edge/w1/status', true)).toBe(false);
    // Another topic is unaffected.
    expect(filter.accepts('edge/w2/status', true)).toBe(true);
    filter.connected();
    expect(filter.accepts('edge/w1/status', true)).toBe(true);
  });
});

/** Aedes's in-memory persistence, whose retained replay the test steps into. */
interface MemoryPersistence {
  createRetainedStreamCombi(patterns: string[]): Readable;
}
const memoryPersistence = createRequire(import.meta.url)(
  'aedes-persistence',
) as () => MemoryPersistence;

describe('scheduler subscribing while an edge worker dies (aedes + Redis)', () => {
  const topicPrefix = `test/replay-${randomBytes(4).toString('hex')}`;
  const redisPrefix = `esreplay-${randomBytes(4).toString('hex')}`;
  const filter = edgeStatusFilter(topicPrefix);
  const statusTopic = edgeStatusTopic(topicPrefix, 'w1');
  let broker: TestBroker;
  let field: MqttClient;
  let scheduler: Scheduler | undefined;
  let willsSent = 0;

  beforeAll(async () => {
    // The replay of the edge statuses is read (`online`), then the worker's last will goes out
    // live, and only then is the replay written: the order a broker may produce when a worker
    // dies while another client subscribes. The will is published without retain, so the store
    // still says `online` to any later subscriber, which is not what is tested here.
    const persistence = memoryPersistence();
    const replay = persistence.createRetainedStreamCombi.bind(persistence);
    persistence.createRetainedStreamCombi = (patterns) => {
      if (!patterns.includes(filter)) return replay(patterns);
      async function* overtaken() {
        const read: unknown[] = await replay(patterns).toArray();
        willsSent++;
        const will = {
          cmd: 'publish',
          topic: statusTopic,
          payload: Buffer.from(encodeMessage(worker(4, { m: [60, 30, 0] }, false))),
          qos: 1,
          retain: false,
          dup: false,
        } as AedesPublishPacket;
        await new Promise<void>((resolve) => broker.aedes.publish(will, () => resolve()));
        yield* read;
      }
      return Readable.from(overtaken());
    };
    broker = await startBroker(0, { persistence });
    field = await connectMqtt({ url: broker.url, clean: true });
    const publish = (topic: string, value: Message) =>
      field.publishAsync(topic, Buffer.from(encodeMessage(value)), RETAIN);
    await publish(statusTopic, worker(4, { m: [60, 30, 0] }));
    for (const ue of ['a', 'b']) {
      await publish(ueTopic(topicPrefix, ue, 'status'), {
        state: 'online',
        agentVersion: 'test',
        at: AT,
      });
      await publish(ueTopic(topicPrefix, ue, 'profile'), profile());
      await publish(ueTopic(topicPrefix, ue, 'link'), link(50));
    }
  });

  afterAll(async () => {
    await scheduler?.close();
    await field.endAsync();
    await broker.close();
    await deleteKeys(REDIS_URL, `${redisPrefix}:*`);
  });

  it('takes the last will that overtook the replay of an `online` status: no worker online, R = 0, both UEs decided with 0 units', async () => {
    const started = await startScheduler({
      topicPrefix,
      redisPrefix,
      redisUrl: REDIS_URL,
      mqttUrl: broker.url,
      id: 'sched-replay',
      startupQuietMs: 300,
      // The worker's statuses are published by the test once, never announced again.
      edgeStatusExpiryMs: 0,
    });
    scheduler = started;
    await started.idle();
    expect(willsSent).toBe(1);
    expect([...started.state().fleet.workers.keys()]).toEqual([]);
    const decisions = started.state().decisions;
    expect([...decisions.keys()].sort()).toEqual(['a', 'b']);
    for (const decision of decisions.values()) expect(decision.units).toBe(0);
  }, 30_000);
});
