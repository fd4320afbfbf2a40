/**
 * The bare path of `npm run bench:system`: what a request costs with the same libraries and none
 * of edgesplit's checks, written here rather than imported, so that it shares no code with the
 * project. A responder (mqtt.js) subscribed to every `infer` unpacks each message (msgpackr),
 * stores its tensor bytes in Redis (SET with a TTL, ioredis) and adds a BullMQ job naming the
 * key; a BullMQ worker reads the tensor, publishes a result of the same shape as an edge
 * worker's (msgpackr, QoS 1) and deletes the key. No validation, no finite check, no bounds,
 * no claim check of duplicates, no answer kept for resends, one queue for every UE.
 *
 * `perUe` (a diagnostic of `system-profile.ts`, not part of `bench:system`'s ratios) gives each UE
 * a queue of its own with a global concurrency and a Worker, as the project's allocation needs:
 * the part of the project's cost that this structure explains.
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

/**
 * Starts the bare path on `env` (its own topic and Redis prefixes): requests on
 * `{topicPrefix}/ue/{ue}/infer`, results on `{topicPrefix}/ue/{ue}/result`, as the UEs of the
 * request scenario expect. `concurrency` jobs run at once (the project's UEs x units), in one
 * queue, or with `perUe` in a queue per UE.
 */
export async function startBarePath(
  env: ServiceEnv,
  concurrency: number,
  perUe?: PerUeQueues,
): Promise<BarePath> {
  const packr = new Packr({ useRecords: false, skipValues: [undefined] } as never);
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: true });
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
  const workerRedis = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
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
    redis
      .set(key, Buffer.from(request.tensor.data), 'EX', TTL_SECONDS)
      .then(() =>
        queue.add(
          'tail',
          { ue, requestId, epoch, cut, sample, key, sentAt },
          {
            jobId: `${ue}.${requestId}`,
            removeOnComplete: { age: 60 },
            removeOnFail: { age: 600 },
          },
        ),
      )
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
    await results.publishAsync(`${env.topicPrefix}/ue/${ue}/result`, payload, { qos: 1 });
    await workerRedis.del(key);
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
