/**
 * What one UE may leave in Redis: nothing without units, at most its waiting bound (jobs and
 * bytes) otherwise, and nothing for longer than a job's life. Real Redis (a prefix of this
 * file's own), a real aedes broker, both ingress front ends.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  attachIngress,
  type Broker,
  createBroker,
  type Ingress,
  type IntakeOptions,
  startIngress,
  type TokenRecord,
} from '../broker/index.js';
import {
  backlogKey,
  claimKey,
  type ErrorReport,
  encodeMessage,
  type InferRequest,
  type TailJobData,
  ueQueueName,
} from '../proto/index.js';
import { deleteKeys } from '../system/redis-keys.js';
import { connect, errorCollector, P, REDIS_URL, TOKEN } from './ingress-fixtures.js';
import { keysMatching } from './keys-matching.js';
import { recordingLogger } from './recording-logger.js';
import { decision, request } from './request-fixtures.js';
import { waitUntil } from './wait-until.js';

const PREFIX = `edgesplit-test-bounds-${randomBytes(5).toString('hex')}`;
const UES = ['ue-1', 'ue-2', 'ue-3'] as const;
const tokens: TokenRecord[] = [
  ...UES.map((ue) => ({ username: ue, role: 'ue' as const, ue, token: TOKEN(ue) })),
  { username: 'ingress', role: 'ingress', token: TOKEN('ingress') },
  { username: 'scheduler', role: 'scheduler', token: TOKEN('scheduler') },
];
const { logger } = recordingLogger();

const FRONT_ENDS = ['as an MQTT client', 'inside the embedded broker'] as const;
type FrontEnd = (typeof FRONT_ENDS)[number];

let redis: Redis;
let run = 0;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await deleteKeys(REDIS_URL, `${PREFIX}*`);
  await redis.quit();
});

/** A broker, an ingress of `frontEnd` with `bounds`, and connected UEs, on a fresh prefix. */
class World {
  readonly errors = new Map<string, ErrorReport[]>();
  readonly ues = new Map<string, MqttClient>();
  private readonly queues: Queue<TailJobData>[] = [];

  private constructor(
    readonly prefix: string,
    readonly broker: Broker,
    readonly ingress: Ingress,
  ) {}

  static async open(frontEnd: FrontEnd, bounds: Partial<IntakeOptions>): Promise<World> {
    run += 1;
    const prefix = `${PREFIX}-${run}`;
    const broker = await createBroker({ port: 0, host: '127.0.0.1', auth: { tokens }, logger });
    const common = {
      redisUrl: REDIS_URL,
      redisPrefix: prefix,
      topicPrefix: P,
      decisionGraceMs: 0,
      ...bounds,
    };
    const ingress =
      frontEnd === 'as an MQTT client'
        ? await startIngress({
            ...common,
            mqttUrl: `mqtt://127.0.0.1:${broker.port}`,
            username: 'ingress',
            password: TOKEN('ingress'),
            clientId: `ingress-${prefix}`,
            logger,
          })
        : attachIngress(broker, { ...common, logger });
    const world = new World(prefix, broker, ingress);
    for (const ue of UES) {
      const client = await connect(world.url, ue);
      await client.subscribeAsync(`${P}/ue/${ue}/error`, { qos: 1 });
      const reports: ErrorReport[] = [];
      errorCollector(client, reports);
      world.errors.set(ue, reports);
      world.ues.set(ue, client);
    }
    return world;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.broker.port}`;
  }

  /** Publishes `ue`'s retained decision and waits until the ingress knows `known` UEs. */
  async decide(ue: string, units: number, known: number): Promise<void> {
    const scheduler = await connect(this.url, 'scheduler');
    await scheduler.publishAsync(`${P}/ue/${ue}/decision`, encodeMessage(decision(units)), {
      qos: 1,
      retain: true,
    });
    await scheduler.endAsync();
    await waitUntil('the decision', () => this.ingress.stats().decisions === known);
  }

  /** Publishes every request as `ue` (QoS 1) and waits for all their PUBACKs. */
  async send(ue: string, requests: readonly InferRequest[]): Promise<void> {
    const client = this.ues.get(ue);
    if (client === undefined) throw new Error(`no client ${ue}`);
    await Promise.all(
      requests.map((r) => client.publishAsync(`${P}/ue/${ue}/infer`, encodeMessage(r), { qos: 1 })),
    );
  }

  /** Error reports `ue` received, once `count` of them have arrived. */
  async errorsOf(ue: string, count: number): Promise<ErrorReport[]> {
    const reports = this.errors.get(ue) ?? [];
    await waitUntil(`${count} errors for ${ue}`, () => reports.length >= count);
    return reports;
  }

  async jobCount(ue: string): Promise<number> {
    const queue = new Queue<TailJobData>(ueQueueName(ue), {
      connection: redis,
      prefix: this.prefix,
    });
    this.queues.push(queue);
    const counts = await queue.getJobCounts();
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  /** Keys of this world that name `ue`. */
  keysOf(ue: string): Promise<string[]> {
    return keysMatching(redis, `${this.prefix}:*${ue}*`);
  }

  /** Total bytes of `ue`'s stored tensors. */
  async storedBytes(ue: string): Promise<number> {
    const keys = await keysMatching(redis, `${claimKey(this.prefix, ue, '')}*`);
    const sizes = await Promise.all(keys.map((key) => redis.strlen(key)));
    return sizes.reduce((sum, n) => sum + n, 0);
  }

  async close(): Promise<void> {
    for (const client of this.ues.values()) client.end(true);
    await this.broker.close();
    await this.ingress.close();
    await Promise.all(this.queues.map((queue) => queue.close()));
  }
}

/** A request whose tensor holds `floats` float32 values. */
function sized(floats: number): InferRequest {
  const data = new Float32Array(floats).fill(0.5);
  return request({ tensor: { dtype: 'float32', shape: [floats], data } });
}

const ids = (requests: readonly { requestId?: string | undefined }[]) =>
  requests.map((r) => r.requestId).sort();

describe.each(FRONT_ENDS)('the ingress %s', (frontEnd) => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('answers every request of a UE without a decision, or with 0 units, with NO_UNITS and stores nothing of it', async () => {
    world = await World.open(frontEnd, {});
    await world.decide('ue-2', 0, 1);
    const undecided = Array.from({ length: 5 }, () => request());
    const unitless = Array.from({ length: 5 }, () => request());
    await world.send('ue-1', undecided);
    await world.send('ue-2', unitless);

    const toUndecided = await world.errorsOf('ue-1', 5);
    const toUnitless = await world.errorsOf('ue-2', 5);
    expect(toUndecided.map((e) => e.code)).toEqual(Array(5).fill('NO_UNITS'));
    expect(toUnitless.map((e) => e.code)).toEqual(Array(5).fill('NO_UNITS'));
    expect(ids(toUndecided)).toEqual(ids(undecided));
    expect(ids(toUnitless)).toEqual(ids(unitless));
    expect(toUndecided[0]?.message).toMatch(/no decision/);
    expect(toUnitless[0]?.message).toMatch(/0 edge units/);
    expect(await world.keysOf('ue-1')).toEqual([]);
    expect(await world.keysOf('ue-2')).toEqual([]);
    expect(world.ingress.stats().noUnits).toBe(10);
  });

  it('answers each request beyond a UE’s waiting bound (jobs, then bytes) with QUEUE_FULL; jobs and stored bytes stay within it', async () => {
    const maxWaitingBytes = 250 * 1024;
    world = await World.open(frontEnd, { maxWaitingJobs: 5, maxWaitingBytes });
    await world.decide('ue-1', 2, 1);
    await world.decide('ue-3', 2, 2);

    // ue-1: small requests, the job bound binds: 5 queued, 25 refused, one error each.
    const small = Array.from({ length: 30 }, () => request());
    await world.send('ue-1', small);
    const full = await world.errorsOf('ue-1', 25);
    expect(full.map((e) => e.code)).toEqual(Array(25).fill('QUEUE_FULL'));
    expect(new Set(ids(full)).size).toBe(25);
    expect(await world.jobCount('ue-1')).toBe(5);
    expect((await keysMatching(redis, `${claimKey(world.prefix, 'ue-1', '')}*`)).length).toBe(5);
    const queued = small.filter((r) => !full.some((e) => e.requestId === r.requestId));
    expect(queued).toHaveLength(5);

    // ue-3: 100 KiB requests, the byte bound binds after 2.
    const big = Array.from({ length: 10 }, () => sized(25_600));
    await world.send('ue-3', big);
    const tooBig = await world.errorsOf('ue-3', 8);
    expect(tooBig.map((e) => e.code)).toEqual(Array(8).fill('QUEUE_FULL'));
    expect(await world.jobCount('ue-3')).toBe(2);
    expect(await world.storedBytes('ue-3')).toBeLessThanOrEqual(maxWaitingBytes);
    expect(await world.storedBytes('ue-3')).toBe(2 * 102_400);

    // A job that finished (its tensor deleted, as the edge worker does) frees its place.
    const done = queued[0];
    if (done === undefined) throw new Error('no queued request');
    await redis.del(claimKey(world.prefix, 'ue-1', done.requestId));
    const next = [request(), request()];
    await world.send('ue-1', next);
    const after = await world.errorsOf('ue-1', 26);
    expect(after).toHaveLength(26);
    expect(await world.jobCount('ue-1')).toBe(6);
    const stats = world.ingress.stats();
    expect(stats.queueFull).toBe(25 + 8 + 1);
    expect(stats.accepted).toBe(5 + 2 + 1);
  });

  it('removes jobs left waiting past their life with their tensors and backlog, and tells the UE EXPIRED for each', async () => {
    world = await World.open(frontEnd, {
      jobTtlSeconds: 1,
      claimTtlSeconds: 2,
      sweepIntervalMs: 200,
    });
    await world.decide('ue-1', 2, 1);
    const requests = [request(), request(), request()];
    await world.send('ue-1', requests);
    // Through another broker the UE's PUBACK comes from that broker, before the ingress has it.
    await waitUntil('3 requests queued', () => world?.ingress.stats().accepted === 3);
    expect(await world.jobCount('ue-1')).toBe(3);
    const claims = await keysMatching(redis, `${claimKey(world.prefix, 'ue-1', '')}*`);
    expect(claims).toHaveLength(3);
    for (const key of claims) expect(await redis.ttl(key)).toBeLessThanOrEqual(2);

    // No edge worker serves ue-1: the jobs expire.
    const expired = await world.errorsOf('ue-1', 3);
    expect(expired.map((e) => e.code)).toEqual(['EXPIRED', 'EXPIRED', 'EXPIRED']);
    expect(ids(expired)).toEqual(ids(requests));
    expect(await world.jobCount('ue-1')).toBe(0);
    expect(await keysMatching(redis, `${claimKey(world.prefix, 'ue-1', '')}*`)).toEqual([]);
    expect(await redis.zcard(backlogKey(world.prefix, 'ue-1'))).toBe(0);
    expect(world.ingress.stats().expired).toBe(3);
  });
});
