/**
 * The bare path of `npm run bench:system`: what a request costs with the same libraries and none
 * of edgesplit's checks, written here rather than imported, so that it shares no code with the
 * project. A responder (mqtt.js) subscribed to every `infer` unpacks each message (msgpackr),
 * stores its tensor bytes in Redis (SET with a TTL, ioredis) and adds a BullMQ job naming the
 * key; a BullMQ worker reads the tensor, publishes a result of the same shape as an edge
 * worker's (msgpackr, QoS 1) and deletes the key. No validation, no finite check, no bounds,
 * no claim check of duplicates, no answer kept for resends, one queue for every UE.
 *
 * Two diagnostics (`system-profile.ts`, `system-bounds.ts`; not part of `bench:system`'s ratios)
 * add, one at a time, what the project's contract asks of every request, each done in the most
 * direct way with the same libraries:
 *
 * - `perUe`: each UE a queue of its own with a global concurrency and a Worker, as the
 *   allocation needs (its units are the queue's concurrency);
 * - `contract` (with `perUe`): also the Redis work of the queue contract. The responder writes
 *   the tensor, then in the same write runs a script that refuses a duplicate (its job exists)
 *   and checks and records the UE's backlog (a sorted set of requests and a byte count, with
 *   their time to live); the worker keeps the answer (one SET with a time to live) and deletes
 *   the tensor in one write with the result's publish. Still without validation, finite check,
 *   deferred acknowledgements or bookkeeping: what is left between this and the project is
 *   those and the project's own code.
 */
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Packr, Unpackr } from 'msgpackr';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import type { ServiceEnv } from './system-children.js';

/** A running bare path. */
export interface BarePath {
  stop(): Promise<void>;
}

interface BareJob {
  readonly ue: string;
  readonly requestId: string;
  readonly epoch: number;
  readonly cut: number;
  readonly sample: number;
  readonly key: string;
  readonly sentAt: number;
}

const TTL_SECONDS = 120;
const QUEUE = 'bare';

/** One queue per UE: their ids and the jobs each runs at once. */
export interface PerUeQueues {
  readonly ues: readonly string[];
  readonly unitsEach: number;
}

/** What the bare path does beyond one queue for every UE (see the file's comment). */
export interface BareShape {
  readonly perUe?: PerUeQueues;
  /** The queue contract's Redis work; needs `perUe`. */
  readonly contract?: boolean;
}

// KEYS: the UE's backlog (sorted set), its byte count, the request's job hash. ARGV: now ms,
// request id, bytes, max jobs, max bytes, life ms. 1: recorded; 0: a duplicate; -1: refused.
// The limits are set out of reach: every request pays for the check, none is refused, and the
// set is not emptied (its time to live is renewed), so no release is needed.
const ADMIT = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
if tonumber(redis.call('HGET', KEYS[2], 'total') or '0') + tonumber(ARGV[3]) > tonumber(ARGV[5]) then
  return -1
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], 'total', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1
`;
const OUT_OF_REACH = 1_000_000_000;
const LIFE_MS = 120_000;

/**
 * Starts the bare path on `env` (its own topic and Redis prefixes): requests on
 * `{topicPrefix}/ue/{ue}/infer`, results on `{topicPrefix}/ue/{ue}/result`, as the UEs of the
 * request scenario expect. `concurrency` jobs run at once (the project's UEs x units), in one
 * queue, or with `perUe` in a queue per UE.
 */
export async function startBarePath(
  env: ServiceEnv,
  concurrency: number,
  shape: BareShape = {},
): Promise<BarePath> {
  const { perUe, contract = false } = shape;
  if (contract && perUe === undefined) throw new Error('the contract arm needs a queue per UE');
  const packr = new Packr({ useRecords: false, skipValues: [undefined] } as never);
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: true });
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
  const workerRedis = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
  redis.defineCommand('bareAdmit', { numberOfKeys: 3, lua: ADMIT });
  const admit = (redis as unknown as { bareAdmit(...args: (string | number)[]): Promise<number> })
    .bareAdmit;
  const queueNames = perUe === undefined ? [QUEUE] : perUe.ues.map((ue) => `${QUEUE}.${ue}`);
  const queues = new Map(
    queueNames.map((name) => [
      name,
      new Queue<BareJob>(name, { connection: redis, prefix: env.redisPrefix }),
    ]),
  );
  if (perUe !== undefined)
    for (const queue of queues.values()) await queue.setGlobalConcurrency(perUe.unitsEach);
  const clientId = `bench-bare-${env.redisPrefix}`.slice(0, 64);
  const responder = await connectMqtt({ url: env.mqttUrl, clientId, clean: true });
  const results = await connectMqtt({ url: env.mqttUrl, clientId: `${clientId}-w`, clean: true });
  const at = env.topicPrefix.length + 4;
  responder.on('message', (topic, payload) => {
    const ue = topic.slice(at, topic.lastIndexOf('/'));
    const request = unpackr.unpack(payload) as {
      requestId: string;
      epoch: number;
      cut: number;
      sample: number;
      sentAt: number;
      tensor: { data: Uint8Array };
    };
    const key = `${env.redisPrefix}:bare:${ue}:${request.requestId}`;
    const { requestId, epoch, cut, sample, sentAt } = request;
    const queue = queues.get(perUe === undefined ? QUEUE : `${QUEUE}.${ue}`);
    if (queue === undefined) throw new Error(`bare responder: no queue for ${ue}`);
    const jobId = `${ue}.${requestId}`;
    const stored = redis.set(key, Buffer.from(request.tensor.data), 'EX', TTL_SECONDS);
    // Sent in the same turn as the SET, so after it: the duplicate and backlog check.
    const admitted = contract
      ? admit.call(
          redis,
          `${env.redisPrefix}:bare-backlog:${ue}`,
          `${env.redisPrefix}:bare-backlog:${ue}:bytes`,
          queue.toKey(jobId),
          Date.now(),
          requestId,
          request.tensor.data.byteLength,
          OUT_OF_REACH,
          OUT_OF_REACH,
          LIFE_MS,
        )
      : 1;
    Promise.all([stored, admitted])
      .then(([, verdict]) => {
        if (verdict !== 1) throw new Error(`bare responder: ${jobId} not admitted (${verdict})`);
        return queue.add(
          'tail',
          { ue, requestId, epoch, cut, sample, key, sentAt },
          { jobId, removeOnComplete: { age: 60 }, removeOnFail: { age: 600 } },
        );
      })
      .catch((error: unknown) => process.stderr.write(`bare responder: ${error}\n`));
  });
  await responder.subscribeAsync(`${env.topicPrefix}/ue/+/infer`, { qos: 1 });
  const output = new Uint8Array(4000);
  const run = async (job: Job<BareJob>) => {
    const { ue, key, requestId, epoch, cut, sample } = job.data;
    const startedAt = Date.now();
    const tensor = await workerRedis.getBuffer(key);
    if (tensor === null) throw new Error(`bare worker: ${key} is gone`);
    const payload = packr.pack({
      requestId,
      epoch,
      cut,
      sample,
      worker: 'bare',
      tensor: { dtype: 'float32', shape: [1, 1000], data: output },
      timings: { queueMs: startedAt - job.timestamp, computeMs: 0 },
      finishedAt: Date.now(),
    });
    const published = results.publishAsync(`${env.topicPrefix}/ue/${ue}/result`, payload, {
      qos: 1,
    });
    if (!contract) {
      await published;
      await workerRedis.del(key);
      return;
    }
    // The answer kept for a resend (a channel byte, then the payload), the tensor deleted.
    const kept = Buffer.allocUnsafe(payload.length + 1);
    kept[0] = 0x72;
    kept.set(payload, 1);
    await Promise.all([
      published,
      workerRedis.set(`${env.redisPrefix}:bare-answer:${ue}:${requestId}`, kept, 'EX', 60),
      workerRedis.del(key),
    ]);
  };
  const workers = queueNames.map(
    (name) =>
      new Worker<BareJob>(name, run, {
        connection: workerRedis,
        prefix: env.redisPrefix,
        concurrency: perUe === undefined ? concurrency : perUe.unitsEach,
      }),
  );
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  return {
    async stop() {
      await Promise.all(workers.map((worker) => worker.close()));
      await responder.endAsync();
      await results.endAsync();
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      redis.disconnect();
      workerRedis.disconnect();
    },
  };
}
