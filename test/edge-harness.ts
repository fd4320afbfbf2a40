/** Shared by the edge-worker tests: a broker, a fake scheduler, a fake ingress, a listener. */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { modelCuts } from '../dnn/index.js';
import {
  CLAIM_TTL_SECONDS,
  claimKey,
  type Decision,
  decodeMessage,
  type EdgeStatus,
  type ErrorReport,
  encodeMessage,
  type InferResult,
  type TailJobData,
  tailJobId,
  ueQueueName,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { deleteKeys } from '../system/redis-keys.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export { startBroker } from './bare-broker.js';

export interface Request {
  readonly ue: string;
  readonly requestId: string;
  readonly model?: string;
  readonly cut?: number;
}

/**
 * One test's world: unique topic and Redis prefixes, the fake scheduler (retained decisions)
 * and ingress (claim key + BullMQ job, as the real ingress does), and every message seen.
 */
export class EdgeTestBed {
  readonly topicPrefix = `edgetest/${randomUUID().slice(0, 8)}`;
  readonly redisPrefix = `edgetest-${randomUUID().slice(0, 8)}`;
  readonly results: Array<{ ue: string; result: InferResult; at: number }> = [];
  readonly errors: Array<{ ue: string; report: ErrorReport }> = [];
  readonly statuses: Array<{ worker: string; status: EdgeStatus; at: number }> = [];
  readonly redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  private readonly queues = new Map<string, Queue>();
  private epoch = 0;

  private constructor(
    readonly mqttUrl: string,
    private readonly client: MqttClient,
  ) {}

  static async create(mqttUrl: string): Promise<EdgeTestBed> {
    const client = await connectMqtt({ url: mqttUrl, clientId: `edgetest-${randomUUID()}` });
    const bed = new EdgeTestBed(mqttUrl, client);
    client.on('message', (topic, payload) => bed.record(topic, payload));
    await client.subscribeAsync(`${bed.topicPrefix}/#`, { qos: 1 });
    return bed;
  }

  private record(topic: string, payload: Buffer): void {
    const [, kind, id, channel] = topic.slice(this.topicPrefix.length).split('/');
    if (id === undefined || payload.length === 0) return;
    if (kind === 'ue' && channel === 'result') {
      const decoded = decodeMessage('result', payload);
      if (!decoded.ok) throw decoded.error;
      this.results.push({ ue: id, result: decoded.value, at: Date.now() });
    } else if (kind === 'ue' && channel === 'error') {
      const decoded = decodeMessage('error', payload);
      if (!decoded.ok) throw decoded.error;
      this.errors.push({ ue: id, report: decoded.value });
    } else if (kind === 'edge') {
      const decoded = decodeMessage('edgeStatus', payload);
      if (!decoded.ok) throw decoded.error;
      this.statuses.push({ worker: id, status: decoded.value, at: Date.now() });
    }
  }

  /** Latest status of `worker`, if any arrived. */
  statusOf(worker: string): EdgeStatus | undefined {
    return this.statuses.findLast((entry) => entry.worker === worker)?.status;
  }

  resultsFor(requestId: string): InferResult[] {
    return this.results
      .filter((entry) => entry.result.requestId === requestId)
      .map((e) => e.result);
  }

  /** What the scheduler does: a retained decision with the next epoch (naming `model`, if given). */
  async decide(ue: string, units: number, cut = 2, model?: string): Promise<void> {
    this.epoch++;
    const decision: Decision = {
      epoch: this.epoch,
      cut,
      cutName: modelCuts(model ?? 'tiny-cnn')[cut]?.name ?? 'cut',
      units,
      predictedMs: 1,
      solver: 'optimal',
      ...(model === undefined ? {} : { model }),
    };
    await this.client.publishAsync(
      `${this.topicPrefix}/ue/${ue}/decision`,
      encodeMessage(decision),
      {
        qos: 1,
        retain: true,
      },
    );
  }

  /** A retained status on `worker`'s topic, as its last will or its own announcement would be. */
  async publishStatus(worker: string, status: EdgeStatus): Promise<void> {
    await this.client.publishAsync(
      `${this.topicPrefix}/edge/${worker}/status`,
      encodeMessage(status),
      { qos: 1, retain: true },
    );
  }

  queue(ue: string): Queue {
    let queue = this.queues.get(ue);
    if (queue === undefined) {
      queue = new Queue(ueQueueName(ue), { connection: this.redis, prefix: this.redisPrefix });
      this.queues.set(ue, queue);
    }
    return queue;
  }

  /** What the ingress does: the tensor under its claim key, then the job. */
  async enqueue(request: Request, storeTensor = true): Promise<TailJobData> {
    const model = request.model ?? 'tiny-cnn';
    const cut = request.cut ?? 2;
    const input = defined(modelCuts(model)[cut], `cut ${cut} of ${model}`);
    const key = claimKey(this.redisPrefix, request.ue, request.requestId);
    if (storeTensor) {
      const data = new Float32Array(input.bytes / 4).map((_, k) => (k % 13) / 13);
      await this.redis.set(key, Buffer.from(data.buffer), 'EX', CLAIM_TTL_SECONDS);
    }
    const job: TailJobData = {
      ue: request.ue,
      requestId: request.requestId,
      epoch: this.epoch,
      model,
      cut,
      sample: 0,
      claimKey: key,
      dtype: 'float32',
      shape: [...input.shape],
      sentAt: Date.now(),
      enqueuedAt: Date.now(),
    };
    await this.queue(request.ue).add('tail', job, {
      jobId: tailJobId(request.ue, request.requestId),
      removeOnComplete: { age: 3600 },
    });
    return job;
  }

  async jobState(ue: string, requestId: string): Promise<string> {
    return this.queue(ue).getJobState(tailJobId(ue, requestId));
  }

  async claimExists(ue: string, requestId: string): Promise<boolean> {
    return (await this.redis.exists(claimKey(this.redisPrefix, ue, requestId))) === 1;
  }

  /** Clears retained messages and every Redis key of this test. */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    await deleteKeys(REDIS_URL, `${this.redisPrefix}:*`);
    await this.redis.quit();
    await this.client.endAsync();
  }
}
