/**
 * The ingress on particular brokers: inside the embedded one (topics it takes, flow control),
 * either front end on a broker without authentication, and the MQTT client on Mosquitto.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachIngress,
  createBroker,
  type Ingress,
  isInferTopic,
  startIngress,
} from '../broker/index.js';
import { type ErrorReport, encodeMessage, tailJobId, ueQueueName } from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { deleteKeys } from '../system/redis-keys.js';
import { connect, errorCollector, P, REDIS_URL } from './ingress-fixtures.js';
import { keysMatching } from './keys-matching.js';
import { startPersistentMosquitto } from './own-services.js';
import { recordingLogger } from './recording-logger.js';
import { decision, request } from './request-fixtures.js';
import { mosquittoMissing, testMosquittoUrl } from './services.js';
import { titled } from './tools.js';
import { waitUntil } from './wait-until.js';

const PREFIX = `edgesplit-test-${randomBytes(6).toString('hex')}`;
const FRONT_ENDS = ['as an MQTT client', 'inside the embedded broker'] as const;
const { lines, logger } = recordingLogger();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await deleteKeys(REDIS_URL, `${PREFIX}*`);
  await redis.quit();
});

const until = (check: () => boolean | Promise<boolean>) => waitUntil('the ingress', check);

describe.each(FRONT_ENDS)('a UE id in the topic that is not an id, ingress %s', (frontEnd) => {
  it("is answered on that topic's error channel, naming the topic, with no job", async () => {
    const open = await createBroker({ port: 0, host: '127.0.0.1', auth: 'off', logger });
    const url = `mqtt://127.0.0.1:${open.port}`;
    const openPrefix = `${PREFIX}-open-${FRONT_ENDS.indexOf(frontEnd)}`;
    const common = { redisUrl: REDIS_URL, redisPrefix: openPrefix, topicPrefix: P, logger };
    const second =
      frontEnd === 'as an MQTT client'
        ? await startIngress({ ...common, mqttUrl: url, clientId: 'ingress-open' })
        : attachIngress(open, common);
    const client = await connect(url);
    try {
      const bad = 'not an id!';
      await client.subscribeAsync(`${P}/ue/${bad}/error`, { qos: 1 });
      const reports: ErrorReport[] = [];
      errorCollector(client, reports);
      await client.publishAsync(`${P}/ue/${bad}/infer`, encodeMessage(request()), { qos: 1 });
      await until(() => reports.length > 0);
      expect(reports[0]?.code).toBe('INVALID_TOPIC');
      expect(reports[0]?.issues).toEqual([
        'topic: UE id "not an id!" must be 1-64 characters of [A-Za-z0-9._-]',
      ]);
      expect(second.stats()).toMatchObject({ accepted: 0, rejected: 1 });
      expect(await keysMatching(redis, `${openPrefix}:*`)).toEqual([]);
    } finally {
      client.end(true);
      await open.close();
      await second.close();
    }
  });
});

describe('the ingress as an MQTT client of the embedded broker (no shared subscriptions)', () => {
  it('falls back to one connection subscribed to the filter itself, and logs why', async () => {
    const open = await createBroker({ port: 0, host: '127.0.0.1', auth: 'off', logger });
    const logged = lines.length;
    const ingress = await startIngress({
      redisUrl: REDIS_URL,
      redisPrefix: `${PREFIX}-fallback`,
      topicPrefix: P,
      mqttUrl: `mqtt://127.0.0.1:${open.port}`,
      clientId: 'ingress-fallback',
      logger,
    });
    try {
      const started = lines.slice(logged);
      expect(
        started.filter((line) =>
          line.startsWith('the broker refused the shared subscription $share/ingress-fallback/'),
        ),
      ).toHaveLength(1);
      expect(
        started.filter((line) => line.includes(`subscribed to ${P}/ue/+/infer on 1 connection,`)),
      ).toHaveLength(1);
      expect(ingress.connected().mqtt).toBe(true);
    } finally {
      await ingress.close();
      await open.close();
    }
  });
});

describe('the ingress inside the embedded broker', () => {
  it('takes exactly the topics {prefix}/ue/+/infer', () => {
    expect(isInferTopic(P, `${P}/ue/ue-1/infer`)).toBe(true);
    expect(isInferTopic(P, `${P}/ue/not an id!/infer`)).toBe(true);
    expect(isInferTopic(P, `${P}/ue//infer`)).toBe(true);
    for (const topic of [
      `${P}/ue/infer`,
      `${P}/ue/a/b/infer`,
      `${P}/ue/ue-1/result`,
      `${P}/ue/ue-1/inferx`,
      `other/ue/ue-1/infer`,
      `${P}x/ue/ue-1/infer`,
    ])
      expect(isInferTopic(P, topic), topic).toBe(false);
  });

  it('reads a UE that floods only as fast as its requests are stored', async () => {
    const open = await createBroker({
      port: 0,
      host: '127.0.0.1',
      auth: 'off',
      maxInterceptedPerClient: 4,
      logger,
    });
    const url = `mqtt://127.0.0.1:${open.port}`;
    const openPrefix = `${PREFIX}-flood`;
    const inside = attachIngress(open, {
      redisUrl: REDIS_URL,
      redisPrefix: openPrefix,
      topicPrefix: P,
      maxWaitingJobs: 200,
      logger,
    });
    const client = await connect(url);
    await client.publishAsync(`${P}/ue/ue-9/decision`, encodeMessage(decision(2)), {
      qos: 1,
      retain: true,
    });
    const ue9 = new Queue(ueQueueName('ue-9'), { connection: redis, prefix: openPrefix });
    try {
      // 64 KiB tensors: a socket read holds one or two of them.
      const data = new Float32Array(16_384).fill(0.5);
      const tensor = { dtype: 'float32' as const, shape: [16_384], data };
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, inside.stats().inFlight);
      }, 0);
      const sent = Array.from({ length: 200 }, () => request({ tensor }));
      await Promise.all(
        sent.map((infer) =>
          client.publishAsync(`${P}/ue/ue-9/infer`, encodeMessage(infer), { qos: 1 }),
        ),
      );
      await until(() => inside.stats().accepted === 200);
      clearInterval(sampler);
      expect(inside.stats()).toMatchObject({ accepted: 200, failed: 0, inFlight: 0 });
      expect(peak).toBeGreaterThan(0);
      // One socket read may hold a second request before the broker stops reading.
      expect(peak).toBeLessThanOrEqual(5);
      const ids = new Set((await ue9.getJobs(['waiting'])).map((job) => job.id));
      for (const infer of sent) expect(ids.has(tailJobId('ue-9', infer.requestId))).toBe(true);
    } finally {
      client.end(true);
      await ue9.close();
      await open.close();
      await inside.close();
    }
  });
});

const noMosquitto = mosquittoMissing();

describe('on Mosquitto, with its persistent session', () => {
  it.skipIf(noMosquitto !== undefined)(
    titled(
      'enqueues the requests published while the ingress (8 connections) was away, also those held by the sessions of connections it no longer opens when restarted with 2',
      noMosquitto,
    ),
    async () => {
      const broker = { url: testMosquittoUrl() };
      const topicPrefix = `${PREFIX}/mosq`;
      const redisPrefix = `${PREFIX}-mosq`;
      const clientId = `${PREFIX}-ingress`;
      const options = {
        mqttUrl: broker.url,
        redisUrl: REDIS_URL,
        redisPrefix,
        topicPrefix,
        clientId,
        logger,
      };
      const publisher = await connect(broker.url);
      let back: Ingress | undefined;
      try {
        await (await startIngress(options)).close();
        // Mosquitto spreads them over the 8 sessions of the share group, held while away.
        const sent = Array.from({ length: 16 }, () => request());
        for (const infer of sent)
          await publisher.publishAsync(`${topicPrefix}/ue/ue-7/infer`, encodeMessage(infer), {
            qos: 1,
          });
        // Mosquitto sends the queued messages right behind the CONNACK; the ingress has read the
        // retained decisions before, on a connection of its own.
        await publisher.publishAsync(
          `${topicPrefix}/ue/ue-7/decision`,
          encodeMessage(decision(1)),
          { qos: 1, retain: true },
        );
        const logged = lines.length;
        back = await startIngress({ ...options, connections: 2, decisionGraceMs: 0 });
        const running = back;
        await until(() => running.stats().accepted === 16);
        const restart = lines.slice(logged);
        expect(restart.filter((line) => /on 2 connections/.test(line))).toHaveLength(1);
        expect(
          restart.filter((line) => /closed 6 sessions of an earlier run/.test(line)),
        ).toHaveLength(1);
        await back.close();
        const ue7 = new Queue(ueQueueName('ue-7'), { connection: redis, prefix: redisPrefix });
        const ids = (await ue7.getJobs(['waiting'])).map((job) => job.id).sort();
        await ue7.close();
        expect(ids).toEqual(sent.map((infer) => tailJobId('ue-7', infer.requestId)).sort());
      } finally {
        await publisher.publishAsync(`${topicPrefix}/ue/ue-7/decision`, '', {
          qos: 1,
          retain: true,
        });
        publisher.end(true);
        await back?.close();
        // Drop the persistent sessions so that a shared Mosquitto keeps nothing of this test.
        for (const id of [clientId, `${clientId}-1`]) {
          const dropping = await connectMqtt({
            url: broker.url,
            clientId: id,
            clean: true,
            reconnectPeriod: 0,
          });
          await dropping.endAsync();
        }
        await deleteKeys(REDIS_URL, `${redisPrefix}:*`);
      }
    },
  );

  it.skipIf(noMosquitto !== undefined)(
    titled(
      'keeps taking requests after a Mosquitto that persists sessions restarts (cleanly, then killed), though the resumed sessions lost their shared subscription',
      noMosquitto,
    ),
    async () => {
      const broker = await startPersistentMosquitto();
      const topicPrefix = `${PREFIX}/persist`;
      const redisPrefix = `${PREFIX}-persist`;
      let ingress: Ingress | undefined;
      const publisher = await connectMqtt({
        url: broker.url,
        clientId: `${PREFIX}-publisher`,
        reconnectPeriod: 100,
      });
      try {
        await publisher.publishAsync(
          `${topicPrefix}/ue/ue-7/decision`,
          encodeMessage(decision(1)),
          { qos: 1, retain: true },
        );
        ingress = await startIngress({
          mqttUrl: broker.url,
          redisUrl: REDIS_URL,
          redisPrefix,
          topicPrefix,
          clientId: `${PREFIX}-persist-ingress`,
          connections: 2,
          mqttOptions: { reconnectPeriod: 100 },
          logger,
        });
        const running = ingress;
        let sent = 0;
        const send = async (count: number) => {
          for (let k = 0; k < count; k++)
            await publisher.publishAsync(`${topicPrefix}/ue/ue-7/infer`, encodeMessage(request()), {
              qos: 1,
            });
          sent += count;
          await until(() => running.stats().accepted === sent);
        };
        await send(4);
        for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
          // Its sessions saved (SIGKILL keeps the last save, at most a second old).
          await new Promise((resolve) => setTimeout(resolve, 1500));
          const down = await broker.down(signal);
          const logged = lines.length;
          await down.start();
          // A request published before a connection subscribed again would have no subscriber.
          const resumed = () =>
            lines.slice(logged).filter((line) => /session resumed, subscribed to/.test(line));
          await until(() => publisher.connected && resumed().length === 2);
          await send(4);
        }
        expect(running.stats().accepted).toBe(12);
      } finally {
        await ingress?.close();
        publisher.end(true);
        await broker.stop();
        await deleteKeys(REDIS_URL, `${redisPrefix}:*`);
      }
    },
  );
});
