import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  isInferTopic,
  startIngress,
  type TokenRecord,
} from '../broker/index.js';
import {
  answerKey,
  claimKey,
  connectMqtt,
  decodeMessage,
  type ErrorReport,
  encodeMessage,
  type InferRequest,
  type TailJobData,
  tailJobId,
  ueQueueName,
} from '../proto/index.js';
import { recordingLogger } from './recording-logger.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const P = 'edgesplit/v1';
const PREFIX = `edgesplit-test-${randomBytes(6).toString('hex')}`;
const TOKEN = (name: string) => `token-of-${name}-0123456789`;
const tokens: TokenRecord[] = [
  { username: 'ue-1', role: 'ue', ue: 'ue-1', token: TOKEN('ue-1') },
  { username: 'ingress', role: 'ingress', token: TOKEN('ingress') },
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

async function connect(url: string, username?: string): Promise<MqttClient> {
  const client = await connectMqtt({
    url,
    reconnectPeriod: 0,
    ...(username === undefined ? {} : { username, password: TOKEN(username) }),
  });
  (client.stream as Partial<Socket>).setNoDelay?.(true);
  return client;
}

function errorCollector(client: MqttClient, into: ErrorReport[]): void {
  client.on('message', (topic, payload) => {
    if (!topic.endsWith('/error')) return;
    const decoded = decodeMessage('error', payload);
    if (decoded.ok) into.push(decoded.value);
  });
}

/** The two ways requests reach the ingress: a subscribed MQTT client, or inside the broker. */
const FRONT_ENDS = ['as an MQTT client', 'inside the embedded broker'] as const;
type FrontEnd = (typeof FRONT_ENDS)[number];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length > 0) await redis.del(...keys);
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
          // Small, so that bursts below exercise the backpressure path.
          maxInFlight: 4,
          logger,
        })
      : attachIngress(broker, { ...common, logger });
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

function request(overrides: Partial<InferRequest> = {}): InferRequest {
  return {
    requestId: `r-${randomBytes(4).toString('hex')}`,
    epoch: 3,
    model: 'mobilenet-v2',
    cut: 2,
    sample: 1,
    tensor: { dtype: 'float32', shape: [1, 2, 2], data: new Float32Array([0.5, -1, 2, 3.25]) },
    sentAt: Date.now(),
    ...overrides,
  };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function jobTotal(): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

async function claimKeys(): Promise<string[]> {
  return redis.keys(`${prefix}:claim:*`);
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
      expect(job?.opts.removeOnComplete).toEqual({ age: 3600 });
      expect(job?.opts.removeOnFail).toEqual({ age: 3600 });
      const bytes = await redis.getBuffer(key);
      expect(bytes).toEqual(Buffer.from(new Float32Array([0.5, -1, 2, 3.25]).buffer));
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(50);
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
      await redis.hset(
        answerKey(prefix, 'ue-1', infer.requestId),
        'channel',
        'result',
        'payload',
        kept,
      );
      await send(encodeMessage(infer));
      await until(() => results.length > resultsBefore);
      expect(results.at(-1)).toEqual(Buffer.from(kept));
      expect(ingress.stats().answeredAgain).toBeGreaterThan(0);
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
      return errors.at(-1)!;
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
        expect.stringMatching(/^infer\.tensor\.data: must be a Float32Array/),
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
      expect(await redis.keys(`${openPrefix}:*`)).toEqual([]);
    } finally {
      client.end(true);
      await open.close();
      await second.close();
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
      logger,
    });
    const client = await connect(url);
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

/** A Mosquitto broker: the CI's (MOSQUITTO_URL), else one started here on a free port. */
async function mosquitto(): Promise<{ url: string; stop(): void } | undefined> {
  if (process.env.MOSQUITTO_URL !== undefined)
    return { url: process.env.MOSQUITTO_URL, stop: () => undefined };
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', () => resolve()));
  const { port } = free.address() as AddressInfo;
  await new Promise((resolve) => free.close(resolve));
  const config = join(tmpdir(), `${PREFIX}-mosquitto.conf`);
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
  const child = spawn('mosquitto', ['-c', config], { stdio: 'ignore' });
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('spawn', () => resolve(true));
  });
  if (!spawned) return undefined;
  const url = `mqtt://127.0.0.1:${port}`;
  await until(async () => {
    try {
      (await connect(url)).end(true);
      return true;
    } catch {
      return false;
    }
  });
  return {
    url,
    stop: () => {
      child.kill();
      rmSync(config, { force: true });
    },
  };
}

describe('on Mosquitto, with its persistent session', () => {
  it('enqueues the requests published while the ingress was away', async () => {
    const broker = await mosquitto();
    if (broker === undefined) return; // no mosquitto binary here
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
      const sent = Array.from({ length: 5 }, () => request());
      for (const infer of sent)
        await publisher.publishAsync(`${topicPrefix}/ue/ue-7/infer`, encodeMessage(infer), {
          qos: 1,
        });
      // Mosquitto sends the queued messages right behind the CONNACK.
      back = await startIngress(options);
      const running = back;
      await until(() => running.stats().accepted === 5);
      await back.close();
      const ue7 = new Queue(ueQueueName('ue-7'), { connection: redis, prefix: redisPrefix });
      const ids = (await ue7.getJobs(['waiting'])).map((job) => job.id).sort();
      await ue7.close();
      expect(ids).toEqual(sent.map((infer) => tailJobId('ue-7', infer.requestId)).sort());
    } finally {
      publisher.end(true);
      await back?.close();
      // Drop the persistent session so that a shared Mosquitto keeps nothing of this test.
      (await connectMqtt({ url: broker.url, clientId, clean: true, reconnectPeriod: 0 })).end(true);
      const keys = await redis.keys(`${redisPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      broker.stop();
    }
  });
});
