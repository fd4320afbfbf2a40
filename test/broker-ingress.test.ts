import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachIngress,
  type Broker,
  createBroker,
  type Ingress,
  startIngress,
  type TokenRecord,
} from '../broker/index.js';
import {
  answerKey,
  claimKey,
  type ErrorReport,
  encodeMessage,
  keptAnswer,
  type TailJobData,
  tailJobId,
  ueQueueName,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { deleteKeys } from '../system/redis-keys.js';
import { connect, errorCollector, P, REDIS_URL, TOKEN } from './ingress-fixtures.js';
import { keysMatching } from './keys-matching.js';
import { recordingLogger } from './recording-logger.js';
import { decision, request } from './request-fixtures.js';
import { waitUntil } from './wait-until.js';

const PREFIX = `edgesplit-test-${randomBytes(6).toString('hex')}`;
const tokens: TokenRecord[] = [
  { username: 'ue-1', role: 'ue', ue: 'ue-1', token: TOKEN('ue-1') },
  { username: 'ingress', role: 'ingress', token: TOKEN('ingress') },
  { username: 'scheduler', role: 'scheduler', token: TOKEN('scheduler') },
];
const { logger } = recordingLogger();

let broker: Broker;
let ingress: Ingress;
let redis: Redis;
let queue: Queue<TailJobData>;
/** Redis prefix of the front end under test. */
let prefix: string;
let ue: MqttClient;
const errors: ErrorReport[] = [];
/** Raw payloads ue-1 received on its result topic. */
const results: Buffer[] = [];

/** The two ways requests reach the ingress: a subscribed MQTT client, or inside the broker. */
const FRONT_ENDS = ['as an MQTT client', 'inside the embedded broker'] as const;
type FrontEnd = (typeof FRONT_ENDS)[number];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await deleteKeys(REDIS_URL, `${PREFIX}*`);
  await redis.quit();
});

/** A broker with an ingress of `frontEnd` on a Redis prefix of its own, and ue-1 connected. */
async function setUp(frontEnd: FrontEnd): Promise<void> {
  prefix = `${PREFIX}-${FRONT_ENDS.indexOf(frontEnd)}`;
  broker = await createBroker({ port: 0, host: '127.0.0.1', auth: { tokens }, logger });
  const common = { redisUrl: REDIS_URL, redisPrefix: prefix, topicPrefix: P, claimTtlSeconds: 60 };
  ingress =
    frontEnd === 'as an MQTT client'
      ? await startIngress({
          ...common,
          mqttUrl: `mqtt://127.0.0.1:${broker.port}`,
          username: 'ingress',
          password: TOKEN('ingress'),
          logger,
        })
      : attachIngress(broker, { ...common, logger });
  // ue-1 has units: the ingress queues only requests of UEs with units.
  const scheduler = await connect(`mqtt://127.0.0.1:${broker.port}`, 'scheduler');
  await scheduler.publishAsync(`${P}/ue/ue-1/decision`, encodeMessage(decision(2)), {
    qos: 1,
    retain: true,
  });
  await scheduler.endAsync();
  await until(() => ingress.stats().decisions === 1);
  queue = new Queue<TailJobData>(ueQueueName('ue-1'), { connection: redis, prefix });
  ue = await connect(`mqtt://127.0.0.1:${broker.port}`, 'ue-1');
  await ue.subscribeAsync([`${P}/ue/ue-1/error`, `${P}/ue/ue-1/result`], { qos: 1 });
  errorCollector(ue, errors);
  ue.on('message', (topic, payload) => {
    if (topic.endsWith('/result')) results.push(payload);
  });
}

async function tearDown(): Promise<void> {
  ue?.end(true);
  await broker?.close();
  await ingress?.close();
  await queue?.close();
}

const until = (check: () => boolean | Promise<boolean>) => waitUntil('the ingress', check);

async function jobTotal(): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

async function claimKeys(): Promise<string[]> {
  return keysMatching(redis, `${prefix}:claim:*`);
}

/** Publishes `payload` as ue-1 and waits for the ingress to count one more outcome. */
async function send(payload: Buffer, topic = `${P}/ue/ue-1/infer`): Promise<void> {
  const { accepted, duplicates, rejected, failed } = ingress.stats();
  const before = accepted + duplicates + rejected + failed;
  await ue.publishAsync(topic, payload, { qos: 1 });
  await until(() => {
    const s = ingress.stats();
    return s.accepted + s.duplicates + s.rejected + s.failed > before && s.inFlight === 0;
  });
}

describe.each(FRONT_ENDS)('the ingress %s', (frontEnd) => {
  beforeAll(() => setUp(frontEnd));
  afterAll(tearDown);

  describe('valid requests', () => {
    it('become one job with metadata only, the tensor bytes under the claim key with a TTL', async () => {
      const infer = request();
      const sentAt = performance.now();
      await send(encodeMessage(infer));
      const id = tailJobId('ue-1', infer.requestId);
      const job = await queue.getJob(id);
      const key = claimKey(prefix, 'ue-1', infer.requestId);
      expect(job?.name).toBe('tail');
      expect(job?.data).toEqual({
        ue: 'ue-1',
        requestId: infer.requestId,
        epoch: 3,
        model: 'mobilenet-v2',
        cut: 2,
        sample: 1,
        claimKey: key,
        dtype: 'float32',
        shape: [1, 2, 2],
        sentAt: infer.sentAt,
        enqueuedAt: expect.any(Number),
      });
      expect(job?.opts.removeOnComplete).toEqual({ age: 30 });
      expect(job?.opts.removeOnFail).toEqual({ age: 3600 });
      const bytes = await redis.getBuffer(key);
      expect(bytes).toEqual(Buffer.from(new Float32Array([0.5, -1, 2, 3.25]).buffer));
      const ttl = await redis.ttl(key);
      // The claim's 60 s life, less at most the whole seconds since it was sent.
      const elapsedS = Math.ceil((performance.now() - sentAt) / 1000);
      expect(ttl).toBeGreaterThanOrEqual(60 - elapsedS - 1);
      expect(ttl).toBeLessThanOrEqual(60);
    });

    it('enqueue once when sent twice, without overwriting the stored tensor', async () => {
      const infer = request();
      const jobsBefore = await jobTotal();
      const { duplicates } = ingress.stats();
      await send(encodeMessage(infer));
      const changed = { ...infer.tensor, data: new Float32Array([9, 9, 9, 9]) };
      await send(encodeMessage({ ...infer, tensor: changed }));
      expect(await jobTotal()).toBe(jobsBefore + 1);
      expect(ingress.stats().duplicates).toBe(duplicates + 1);
      const key = claimKey(prefix, 'ue-1', infer.requestId);
      expect(await redis.getBuffer(key)).toEqual(Buffer.from(infer.tensor.data.buffer));
      // Once the edge worker has deleted the tensor (job done), a late copy stores nothing.
      await redis.del(key);
      await send(encodeMessage(infer));
      expect(await redis.exists(key)).toBe(0);
      expect(await jobTotal()).toBe(jobsBefore + 1);
    });

    it('enqueue a resend whose tensor an ingress that died before enqueueing left behind', async () => {
      const infer = request();
      const key = claimKey(prefix, 'ue-1', infer.requestId);
      await redis.set(key, Buffer.from([1, 2, 3, 4]), 'EX', 60);
      const jobsBefore = await jobTotal();
      await send(encodeMessage(infer));
      expect(await jobTotal()).toBe(jobsBefore + 1);
      expect(await redis.getBuffer(key)).toEqual(Buffer.from(infer.tensor.data.buffer));
    });

    it('answer a resend of a finished request again from the kept answer', async () => {
      const infer = request();
      const resultsBefore = results.length;
      await send(encodeMessage(infer));
      const kept = encodeMessage({
        requestId: infer.requestId,
        epoch: infer.epoch,
        cut: infer.cut,
        sample: infer.sample,
        worker: 'w1',
        tensor: { dtype: 'float32', shape: [1, 2], data: new Float32Array([0.25, 0.75]) },
        timings: { queueMs: 1, computeMs: 2 },
      });
      await redis.set(
        answerKey(prefix, 'ue-1', infer.requestId),
        keptAnswer('result', kept),
        'EX',
        60,
      );
      await send(encodeMessage(infer));
      await until(() => results.length > resultsBefore);
      expect(results.at(-1)).toEqual(Buffer.from(kept));
      expect(ingress.stats().answeredAgain).toBeGreaterThan(0);
    });

    it('take a resend whose answer an earlier version kept as a hash as a duplicate with nothing to send again, failing nothing', async () => {
      const infer = request();
      await send(encodeMessage(infer));
      const resultsBefore = results.length;
      const { answeredAgain, failed } = ingress.stats();
      await redis.hset(answerKey(prefix, 'ue-1', infer.requestId), 'channel', 'result');
      await send(encodeMessage(infer));
      expect(ingress.stats()).toMatchObject({ answeredAgain, failed });
      expect(results.length).toBe(resultsBefore);
    });
  });

  describe('invalid requests', () => {
    async function rejectedWith(payload: Buffer): Promise<ErrorReport> {
      const jobs = await jobTotal();
      const claims = (await claimKeys()).length;
      const count = errors.length;
      await send(payload);
      await until(() => errors.length > count);
      expect(await jobTotal()).toBe(jobs);
      expect((await claimKeys()).length).toBe(claims);
      return defined(errors.at(-1), 'the error report');
    }

    it('answer garbage bytes with UNDECODABLE', async () => {
      const report = await rejectedWith(Buffer.from([0xc1, 0xff, 0x00, 0x13]));
      expect(report.code).toBe('UNDECODABLE');
      expect(report.topic).toBe(`${P}/ue/ue-1/infer`);
    });

    it('name the field of a wrong schema and echo the request id', async () => {
      const { model: _model, ...noModel } = request({ requestId: 'bad-schema' });
      const report = await rejectedWith(pack({ ...noModel, epoch: 'three' }));
      expect(report.code).toBe('INVALID_PAYLOAD');
      expect(report.requestId).toBe('bad-schema');
      expect(report.issues.some((issue) => issue.startsWith('infer.model:'))).toBe(true);
      expect(report.issues.some((issue) => issue.startsWith('infer.epoch:'))).toBe(true);
    });

    it('name a NaN field, and a NaN inside the tensor', async () => {
      const nanEpoch = await rejectedWith(encodeMessage(request({ epoch: Number.NaN })));
      expect(nanEpoch.issues).toEqual([expect.stringMatching(/^infer\.epoch:/)]);
      const data = new Float32Array([1, Number.NaN, 3, 4]);
      const tensor = { dtype: 'float32' as const, shape: [4], data };
      const nanData = await rejectedWith(encodeMessage(request({ tensor, requestId: 'nan-data' })));
      expect(nanData.issues).toEqual(['infer.tensor.data[1]: must be a finite number, not NaN']);
      expect(nanData.requestId).toBe('nan-data');
    });

    it('refuse a tensor sent as a number array', async () => {
      const infer = request();
      const report = await rejectedWith(
        pack({ ...infer, tensor: { ...infer.tensor, data: [0.5, -1, 2, 3.25] } }),
      );
      expect(report.issues).toEqual([
        expect.stringMatching(
          /^infer\.tensor\.data: must be the little-endian float32 values as msgpack bin/,
        ),
      ]);
    });

    it('survive a burst of random payloads mixed with valid requests', async () => {
      const { rejected, accepted } = ingress.stats();
      const jobs = await jobTotal();
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) {
        const junk = i % 2 === 0 ? randomBytes(i) : pack({ requestId: i, tensor: randomBytes(i) });
        sends.push(ue.publishAsync(`${P}/ue/ue-1/infer`, junk, { qos: 1 }));
        if (i % 10 === 0)
          sends.push(ue.publishAsync(`${P}/ue/ue-1/infer`, encodeMessage(request()), { qos: 1 }));
      }
      await Promise.all(sends);
      await until(() => ingress.stats().rejected === rejected + 100);
      await until(() => ingress.stats().accepted === accepted + 10);
      expect(await jobTotal()).toBe(jobs + 10);
      expect(ingress.stats().inFlight).toBe(0);
    });

    it("never see a UE publish on another UE's infer topic (the broker cuts it off)", async () => {
      const other = await connect(`mqtt://127.0.0.1:${broker.port}`, 'ue-1');
      const closed = new Promise<void>((resolve) => other.once('close', () => resolve()));
      other.publish(`${P}/ue/ue-2/infer`, encodeMessage(request()), { qos: 1 });
      await closed;
      const ue2 = new Queue(ueQueueName('ue-2'), { connection: redis, prefix });
      const counts = await ue2.getJobCounts();
      await ue2.close();
      expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    });
  });
});
