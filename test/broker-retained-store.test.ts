import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker, retainedKey } from '../broker/index.js';
import { encodeMessage } from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { recordingLogger } from './recording-logger.js';
import { testRedisUrl, uniquePrefix } from './services.js';
import { waitUntil } from './wait-until.js';

const P = 'retained/test';
const decision = (epoch: number) =>
  encodeMessage({ epoch, cut: 1, cutName: 'c1', units: 2, predictedMs: 50, solver: 'optimal' });
const status = encodeMessage({
  leaderId: 'sched-1',
  epoch: 4,
  ues: 1,
  units: 4,
  lastSolveMs: 0.5,
  maxPredictedMs: 50,
  solver: 'optimal',
  at: 1_700_000_000_000,
});
const link = encodeMessage({ uplinkMbps: 10, rttMs: 5, measuredAt: 1_700_000_000_000 });

describe('retained messages kept in Redis (real broker, real Redis)', () => {
  const redis = new Redis(testRedisUrl());
  const redisPrefix = uniquePrefix('retained');
  const { lines, logger } = recordingLogger();
  const brokers: Broker[] = [];
  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    await redis.del(retainedKey(redisPrefix));
    await redis.quit();
  });

  const start = async (maxEntries?: number) => {
    const broker = await createBroker({
      port: 0,
      host: '127.0.0.1',
      auth: 'off',
      topicPrefix: P,
      logger,
      retainedStore: {
        redisUrl: testRedisUrl(),
        redisPrefix,
        ...(maxEntries === undefined ? {} : { maxEntries }),
      },
    });
    brokers.push(broker);
    return broker;
  };

  /**
   * The retained messages a fresh subscriber to `{P}/#` gets, by topic: once `expected` have
   * arrived and the echo of a publish made after them has too.
   */
  const retainedOn = async (broker: Broker, expected: number): Promise<Map<string, Buffer>> => {
    const seen = new Map<string, Buffer>();
    let echoed = false;
    const client = await connectMqtt({ url: `mqtt://127.0.0.1:${broker.port}`, clean: true });
    client.on('message', (topic, payload, packet) => {
      if (packet.retain) seen.set(topic, payload);
      else if (topic === `${P}/ping`) echoed = true;
    });
    await client.subscribeAsync(`${P}/#`, { qos: 1 });
    await waitUntil(`${expected} retained messages`, () => seen.size >= expected);
    await client.publishAsync(`${P}/ping`, 'x', { qos: 1 });
    await waitUntil('the echo of a later publish', () => echoed);
    await client.endAsync();
    return seen;
  };

  it("keeps the scheduler's decisions and status across a restart, and nothing else", async () => {
    const first = await start();
    const client = await connectMqtt({ url: `mqtt://127.0.0.1:${first.port}`, clean: true });
    const retain = { qos: 1, retain: true } as const;
    await client.publishAsync(`${P}/ue/u1/decision`, decision(3), retain);
    await client.publishAsync(`${P}/ue/u2/decision`, decision(4), retain);
    await client.publishAsync(`${P}/scheduler/status`, status, retain);
    // Announced again by their owners on reconnect, or invalid: memory only.
    await client.publishAsync(`${P}/ue/u1/link`, link, retain);
    await client.publishAsync(`${P}/edge/w1/status`, link, retain);
    await client.publishAsync(`${P}/ue/u3/decision`, Buffer.from([0xc1]), retain);
    await client.publishAsync(`other/ue/u1/decision`, decision(3), retain);
    // u2 went offline: its decision is cleared.
    await client.publishAsync(`${P}/ue/u2/decision`, Buffer.alloc(0), retain);
    await client.endAsync();
    const kept = async () => (await redis.hkeys(retainedKey(redisPrefix))).sort().join(' ');
    // Written in the order received, without holding up the publish.
    const expected = `${P}/scheduler/status ${P}/ue/u1/decision`;
    await waitUntil('u1 and the status kept, u2 cleared', async () => (await kept()) === expected);
    // Nothing else arrives later.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await kept()).toBe(expected);
    await first.close();

    const second = await start();
    expect(lines.filter((l) => /2 retained messages restored from redis/.test(l))).toHaveLength(1);
    const retained = await retainedOn(second, 2);
    expect([...retained.keys()].sort()).toEqual([`${P}/scheduler/status`, `${P}/ue/u1/decision`]);
    expect(retained.get(`${P}/ue/u1/decision`)).toEqual(decision(3));
    expect(retained.get(`${P}/scheduler/status`)).toEqual(status);
    await second.close();
  });

  it('keeps at most maxEntries topics; a retained message beyond them stays in memory only', async () => {
    await redis.del(retainedKey(redisPrefix));
    const broker = await start(2);
    const client = await connectMqtt({ url: `mqtt://127.0.0.1:${broker.port}`, clean: true });
    const retain = { qos: 1, retain: true } as const;
    for (const ue of ['a', 'b', 'c'])
      await client.publishAsync(`${P}/ue/${ue}/decision`, decision(1), retain);
    // A topic already kept is still updated.
    await client.publishAsync(`${P}/ue/a/decision`, decision(2), retain);
    await client.endAsync();
    await waitUntil('the refusal logged', () =>
      lines.some((l) => l.includes('2 topics kept already')),
    );
    await waitUntil('the update of a in Redis', async () =>
      decision(2).equals(
        (await redis.hgetBuffer(retainedKey(redisPrefix), `${P}/ue/a/decision`)) ?? Buffer.alloc(0),
      ),
    );
    expect((await redis.hkeys(retainedKey(redisPrefix))).sort()).toEqual([
      `${P}/ue/a/decision`,
      `${P}/ue/b/decision`,
    ]);
    expect(await redis.hgetBuffer(retainedKey(redisPrefix), `${P}/ue/a/decision`)).toEqual(
      decision(2),
    );
    // The broker itself still retains all three.
    expect((await retainedOn(broker, 3)).size).toBe(3);
  });
});
