/**
 * What both ingress front ends do with one `ue/{ue}/infer` message (docs/live-system.md, "Queue
 * contract"): validate it, store the tensor's raw float32 bytes under the claim key, and add the
 * tail job, which carries metadata only. The front end delivers messages and publishes answers.
 */
import { Redis } from 'ioredis';
import {
  answerKey,
  asError,
  CLAIM_TTL_SECONDS,
  COMPLETED_JOB_AGE_SECONDS,
  claimKey,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  encodeMessage,
  FAILED_JOB_AGE_SECONDS,
  logText,
  type TailJobData,
  tailJobId,
  ueTopic,
} from '../proto/index.js';
import { readInferMessage } from './infer-request.js';
import type { Logger } from './log.js';
import { QueueCache } from './queue-cache.js';

/** Options shared by both ingress front ends. */
export interface IntakeOptions {
  /** Redis URL for claim checks and BullMQ (`REDIS_URL`). */
  redisUrl: string;
  /**
   * Prefix of claim keys and BullMQ's `prefix` (`EDGESPLIT_REDIS_PREFIX`).
   * @defaultValue 'edgesplit' (`DEFAULT_REDIS_PREFIX`)
   */
  redisPrefix?: string;
  /**
   * Topic prefix (`EDGESPLIT_TOPIC_PREFIX`).
   * @defaultValue 'edgesplit/v1' (`DEFAULT_TOPIC_PREFIX`)
   */
  topicPrefix?: string;
  /**
   * How long a stored tensor waits for its job, in seconds.
   * @defaultValue 600 (`CLAIM_TTL_SECONDS`)
   */
  claimTtlSeconds?: number;
  /**
   * Largest `infer` payload decoded; a bigger one gets a PAYLOAD_TOO_LARGE error.
   * @defaultValue 16 MiB (`DEFAULT_MAX_PAYLOAD_BYTES`)
   */
  maxPayloadBytes?: number;
  /**
   * Most per-UE Queue objects kept open while idle.
   * @defaultValue 1024
   */
  maxQueues?: number;
  /**
   * A UE's Queue object unused for this long is closed, in ms.
   * @defaultValue 60000
   */
  queueIdleMs?: number;
}

/** Counters since the ingress started. */
export interface IngressStats {
  /** Requests enqueued as new jobs. */
  readonly accepted: number;
  /** Requests whose job already existed (a QoS 1 redelivery or a resend): nothing enqueued. */
  readonly duplicates: number;
  /** Duplicates of finished requests answered again from the kept answer. */
  readonly answeredAgain: number;
  /** Invalid requests, answered with an `error` message. */
  readonly rejected: number;
  /** Valid requests that Redis failed to store or enqueue. */
  readonly failed: number;
  /** Requests being stored right now. */
  readonly inFlight: number;
  /** Per-UE Queue objects open. */
  readonly openQueues: number;
}

/** A running ingress, whichever way its messages arrive. */
export interface Ingress {
  /** Stops taking requests, finishes those in flight, and disconnects. Safe to call twice. */
  close(): Promise<void>;
  stats(): IngressStats;
}

/** Publishes an answer (QoS 1, not retained) to a UE; failures are the publisher's to log. */
export type AnswerPublisher = (topic: string, payload: Buffer) => void;

/** The front-end-independent ingress: one `take` per received message. */
export interface InferIntake {
  /** Handles one message to its end; never rejects. */
  take(topic: string, payload: Buffer): Promise<void>;
  /** Requests being handled right now. */
  readonly inFlight: number;
  stats(): IngressStats;
  /** Waits for the requests in flight, then closes the queues and Redis. */
  close(): Promise<void>;
}

/** Opens the Redis connection and the queue cache; `publish` sends answers to UEs. */
export function openInferIntake(
  options: IntakeOptions,
  publish: AnswerPublisher,
  logger: Logger,
): InferIntake {
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const redisPrefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  const ttl = options.claimTtlSeconds ?? CLAIM_TTL_SECONDS;
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isSafeInteger(ttl) || ttl < 1)
    throw new RangeError(`claimTtlSeconds must be a positive integer, not ${ttl}`);

  // Small commands (job checks, BullMQ adds) of requests handled at once share writes; the
  // tensors go on a connection of their own, as pipelining would copy each into its batch.
  const redis = new Redis(options.redisUrl, { enableAutoPipelining: true });
  const tensors = new Redis(options.redisUrl);
  for (const connection of [redis, tensors])
    connection.on('error', (error: Error) => logger.error(`redis: ${error.message}`));
  const queues = new QueueCache({
    connection: redis,
    prefix: redisPrefix,
    maxQueues: options.maxQueues ?? 1024,
    idleMs: options.queueIdleMs ?? 60_000,
    logger,
  });
  const counts = { accepted: 0, duplicates: 0, answeredAgain: 0, rejected: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();

  /**
   * A resend of a request whose job already finished: the UE missed the answer (e.g. a broker
   * restart lost its session), so the kept answer goes out again. A job still pending answers
   * by itself.
   */
  const answerAgain = async (ue: string, requestId: string) => {
    const answer = await redis.hgetallBuffer(answerKey(redisPrefix, ue, requestId));
    const channel = answer.channel?.toString();
    if (answer.payload === undefined || (channel !== 'result' && channel !== 'error')) return;
    counts.answeredAgain += 1;
    publish(ueTopic(topicPrefix, ue, channel), answer.payload);
  };

  const handle = async (topic: string, payload: Buffer): Promise<void> => {
    const outcome = readInferMessage(topicPrefix, topic, payload, maxBytes);
    if (!outcome.ok) {
      counts.rejected += 1;
      const issue = outcome.report.issues[0] ?? outcome.report.message;
      logger.warn(`rejected request on ${logText(topic)}: ${logText(issue)}`);
      if (outcome.errorTopic !== undefined)
        publish(outcome.errorTopic, encodeMessage(outcome.report));
      return;
    }
    const { ue, request } = outcome;
    const key = claimKey(redisPrefix, ue, request.requestId);
    const jobId = tailJobId(ue, request.requestId);
    const { data, shape } = request.tensor;
    const queue = queues.acquire(ue);
    try {
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      // Stored unless the request's job exists already (then it is a duplicate). Not in one
      // script: Redis spends about four times the CPU of a plain SET on a script given a 100 KiB
      // argument (measured: 210 against 49-85 us). Without a job the tensor is (re)written even
      // if a claim key is there: an ingress that died between storing and enqueueing leaves one
      // behind, and the resend must not be refused for it. Two copies racing here both store the
      // same bytes and BullMQ adds their job once; should the job of one copy finish between the
      // other's check and its store, that copy's tensor waits out its TTL.
      if ((await redis.exists(queue.toKey(jobId))) === 1) {
        counts.duplicates += 1;
        await answerAgain(ue, request.requestId);
        return;
      }
      await tensors.set(key, bytes, 'EX', ttl);
      const job: TailJobData = {
        ue,
        requestId: request.requestId,
        epoch: request.epoch,
        model: request.model,
        cut: request.cut,
        sample: request.sample,
        claimKey: key,
        dtype: 'float32',
        shape,
        sentAt: request.sentAt,
        enqueuedAt: Date.now(),
      };
      try {
        await queue.add('tail', job, {
          jobId,
          removeOnComplete: { age: COMPLETED_JOB_AGE_SECONDS },
          removeOnFail: { age: FAILED_JOB_AGE_SECONDS },
        });
      } catch (error) {
        // Let a resend of this request store its tensor again.
        await redis.del(key).catch(() => undefined);
        throw error;
      }
      counts.accepted += 1;
    } catch (error) {
      counts.failed += 1;
      logger.error(`enqueueing ${jobId}: ${asError(error).message}`);
    } finally {
      queues.release(ue);
    }
  };

  const take = (topic: string, payload: Buffer): Promise<void> => {
    const task = handle(topic, payload)
      .catch((error: unknown) => logger.error(`handling ${logText(topic)}: ${String(error)}`))
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    return task;
  };

  return {
    take,
    get inFlight() {
      return inFlight.size;
    },
    stats: () => ({ ...counts, inFlight: inFlight.size, openQueues: queues.size }),
    close: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await queues.close();
      for (const connection of [redis, tensors])
        await connection.quit().catch(() => connection.disconnect());
    },
  };
}
