/**
 * What both ingress front ends do with one `ue/{ue}/infer` message (docs/live-system.md, "Queue
 * contract"): validate it, store the tensor's raw float32 bytes under the claim key, and add the
 * tail job, which carries metadata only. The front end delivers messages and publishes answers.
 */
import {
  answerKey,
  CLAIM_TTL_SECONDS,
  COMPLETED_JOB_AGE_SECONDS,
  checkRedisPrefix,
  claimKey,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_WAITING_BYTES,
  DEFAULT_MAX_WAITING_JOBS,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  EdgesplitError,
  encodeMessage,
  errorReportFrom,
  FAILED_JOB_AGE_SECONDS,
  incomingKey,
  JOB_TTL_SECONDS,
  type TailJobData,
  tailJobId,
  ueTopic,
  ValidationError,
  type WireErrorCode,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { ClaimFiles, FILE_CLAIM_MARKER } from '../runtime/claim-files.js';
import { logText, MAX_LOGGED_CHARS } from '../runtime/log-text.js';
import { createRedis, isClusterUrl } from '../runtime/redis-connect.js';
import { gatherWrites } from '../runtime/redis-writes.js';
import { withTimeout } from '../runtime/with-timeout.js';
import { type Admission, Backlog } from './backlog.js';
import { DecisionBook } from './decision-book.js';
import { readInferMessage } from './infer-request.js';
import type { Logger } from './log.js';
import { QueueCache } from './queue-cache.js';
import { QueueSweeper } from './queue-sweeper.js';

/** Options shared by both ingress front ends. */
export interface IntakeOptions {
  /** Redis URL for claim checks and BullMQ (`REDIS_URL`; `redis+cluster://` for a cluster). */
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
   * How long a stored tensor waits for its job, in seconds; at least `jobTtlSeconds`.
   * @defaultValue 600 (`CLAIM_TTL_SECONDS`)
   */
  claimTtlSeconds?: number;
  /**
   * How long a job may wait unstarted before it is removed and its UE gets `EXPIRED`, in
   * seconds; also how long a request counts against its UE's backlog at most.
   * @defaultValue 120 (`JOB_TTL_SECONDS`), or `claimTtlSeconds` if that is shorter
   */
  jobTtlSeconds?: number;
  /**
   * Time between sweeps of expired and old jobs, in ms.
   * @defaultValue a quarter of the job life, at most 30 s
   */
  sweepIntervalMs?: number;
  /**
   * Most requests one UE may have stored and not finished; one more gets `QUEUE_FULL`.
   * @defaultValue 64 (`DEFAULT_MAX_WAITING_JOBS`)
   */
  maxWaitingJobs?: number;
  /**
   * Most tensor bytes one UE may have stored and not finished; more gets `QUEUE_FULL`.
   * @defaultValue 32 MiB (`DEFAULT_MAX_WAITING_BYTES`)
   */
  maxWaitingBytes?: number;
  /**
   * Longest a request may take to be stored; beyond it (or at once while Redis is not
   * connected) its UE gets `UNAVAILABLE` and may send it again.
   * @defaultValue 5000
   */
  redisTimeoutMs?: number;
  /**
   * After a UE's decision drops to 0 units, its requests made under an earlier epoch are still
   * taken for this long, in ms (they were sent before the UE learnt of the change).
   * @defaultValue 10000
   */
  drainMs?: number;
  /**
   * For this long after the ingress starts, a UE whose decision it has not seen yet is served
   * as if it had units, in ms: retained decisions may still be arriving (a persistent session
   * delivers its kept requests first; after a broker restart the scheduler publishes them
   * again on reconnecting). Bounded by the UE's waiting bound like any request.
   * @defaultValue 5000
   */
  decisionGraceMs?: number;
  /**
   * A directory for the tensors (a tmpfs such as `/dev/shm/edgesplit`) instead of Redis values,
   * when every edge worker runs on this host with the same directory (`EDGESPLIT_CLAIM_DIR`;
   * runtime/claim-files.ts). Claim keys stay in Redis, holding a marker.
   * @defaultValue undefined: tensors in Redis
   */
  claimDir?: string;
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
  /** Tensor bytes of the requests enqueued as new jobs. */
  readonly storedBytes: number;
  /** Requests whose job already existed (a QoS 1 redelivery or a resend): nothing enqueued. */
  readonly duplicates: number;
  /** Duplicates of finished requests answered again from the kept answer. */
  readonly answeredAgain: number;
  /** Invalid requests, answered with an `error` message. */
  readonly rejected: number;
  /** Requests of a UE without units, answered with `NO_UNITS`. */
  readonly noUnits: number;
  /** Requests beyond their UE's backlog bound, answered with `QUEUE_FULL`. */
  readonly queueFull: number;
  /** Valid requests that Redis failed to store or enqueue in time, answered with `UNAVAILABLE`. */
  readonly failed: number;
  /** Jobs removed unstarted after their life, their UEs told with `EXPIRED`. */
  readonly expired: number;
  /** Requests being stored right now. */
  readonly inFlight: number;
  /** Per-UE Queue objects open. */
  readonly openQueues: number;
  /** UEs whose decision (units) the ingress knows. */
  readonly decisions: number;
}

/** A running ingress, whichever way its messages arrive. */
export interface Ingress {
  /** Stops taking requests, finishes those in flight, and disconnects. Safe to call twice. */
  close(): Promise<void>;
  stats(): IngressStats;
  /** Whether it is connected to the broker (always, inside it) and to Redis now. */
  connected(): { readonly mqtt: boolean; readonly redis: boolean };
}

/** Publishes an answer (QoS 1, not retained) to a UE; failures are the publisher's to log. */
export type AnswerPublisher = (topic: string, payload: Buffer) => void;

/** The front-end-independent ingress: one `take` per received message. */
export interface InferIntake {
  /**
   * Handles one message to its end: the request is stored and its job added, or an answer (an
   * error, or the kept answer of a finished duplicate) has been handed to `publish`. Never
   * rejects; settles within about `redisTimeoutMs`. Acknowledge the message only after it.
   */
  take(topic: string, payload: Buffer): Promise<void>;
  /** Takes a message of a `ue/{ue}/decision` (units, epoch) or `ue/{ue}/profile` (batch) topic. */
  observe(topic: string, payload: Buffer): void;
  /** Removes expired and old jobs now (tests; it also runs on its own). */
  sweep(): Promise<void>;
  /** Requests being handled right now. */
  readonly inFlight: number;
  stats(): IngressStats;
  /** Both Redis connections are ready. */
  redisConnected(): boolean;
  /** Waits for the requests in flight, then closes the queues and Redis. */
  close(): Promise<void>;
}

/** A positive integer option, or a RangeError naming it. */
function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, not ${value}`);
  return value;
}

/** ioredis states of a client that had Redis and lost it, or was closed. */
const LOST: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

/** Why a valid request was not queued: the code and message its UE gets. */
class Refusal extends EdgesplitError<WireErrorCode> {}

/**
 * Tensors up to this size are written on the connection of the backlog script, in the same
 * write as it (one round trip for both); bigger ones on a connection of their own first, so
 * that the other requests' commands do not wait behind them.
 */
const BATCHED_TENSOR_BYTES = 1024 * 1024;

/** Opens the Redis connection and the queue cache; `publish` sends answers to UEs. */
export function openInferIntake(
  options: IntakeOptions,
  publish: AnswerPublisher,
  logger: Logger,
): InferIntake {
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const redisPrefix = checkRedisPrefix(options.redisPrefix ?? DEFAULT_REDIS_PREFIX);
  const ttl = positive('claimTtlSeconds', options.claimTtlSeconds ?? CLAIM_TTL_SECONDS);
  const jobTtl = positive('jobTtlSeconds', options.jobTtlSeconds ?? Math.min(JOB_TTL_SECONDS, ttl));
  if (ttl < jobTtl)
    throw new RangeError(`claimTtlSeconds (${ttl}) must be at least jobTtlSeconds (${jobTtl})`);
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const files = options.claimDir === undefined ? undefined : new ClaimFiles(options.claimDir);
  if (files !== undefined && !files.tmpfs)
    logger.warn(
      `claim directory ${files.dir} is not on a tmpfs: every request waits for its file to be ` +
        'written there (use a tmpfs such as /dev/shm)',
    );
  const timeoutMs = positive('redisTimeoutMs', options.redisTimeoutMs ?? 5000);
  const decisions = new DecisionBook(
    topicPrefix,
    options.drainMs ?? 10_000,
    options.decisionGraceMs ?? 5000,
  );

  // Three connections, each sending the commands that start in one turn of the event loop in
  // one write (runtime/redis-writes.ts; on a cluster, auto-pipelining): the backlog scripts with
  // the tensors up to BATCHED_TENSOR_BYTES, BullMQ's adds (an auto-pipelined batch would copy
  // the dozens of scripts BullMQ defines on its connection), and bigger tensors.
  const cluster = isClusterUrl(options.redisUrl);
  const redis = createRedis(options.redisUrl, { enableAutoPipelining: cluster });
  const queueRedis = createRedis(options.redisUrl);
  const tensors = createRedis(options.redisUrl);
  const connections = [redis, queueRedis, tensors];
  for (const connection of connections) gatherWrites(connection);
  // Whether every connection was ready once: from then on, one not ready has lost Redis.
  let hadRedis = false;
  const allReady = () => connections.every((connection) => connection.status === 'ready');
  for (const connection of connections) {
    connection.on('error', (error: Error) => logger.error(`redis: ${error.message}`));
    connection.on('ready', () => {
      hadRedis ||= allReady();
    });
  }
  const queues = new QueueCache({
    connection: queueRedis,
    prefix: redisPrefix,
    maxQueues: options.maxQueues ?? 1024,
    idleMs: options.queueIdleMs ?? 60_000,
    logger,
  });
  const backlog = new Backlog(redis, redisPrefix, {
    maxJobs: options.maxWaitingJobs ?? DEFAULT_MAX_WAITING_JOBS,
    maxBytes: options.maxWaitingBytes ?? DEFAULT_MAX_WAITING_BYTES,
    lifeMs: jobTtl * 1000,
  });
  const sweeper = new QueueSweeper({
    redis,
    queues,
    backlog,
    redisPrefix,
    topicPrefix,
    jobLifeMs: jobTtl * 1000,
    intervalMs: positive(
      'sweepIntervalMs',
      options.sweepIntervalMs ?? Math.min((jobTtl * 1000) / 4, 30_000),
    ),
    publish,
    logger,
    ...(files === undefined ? {} : { claimDir: { files, lifeMs: ttl * 1000 } }),
  });
  const counts = {
    accepted: 0,
    storedBytes: 0,
    duplicates: 0,
    answeredAgain: 0,
    rejected: 0,
    noUnits: 0,
    queueFull: 0,
    failed: 0,
  };
  const inFlight = new Set<Promise<void>>();

  const tell = (ue: string, requestId: string, code: WireErrorCode, message: string) => {
    const report = errorReportFrom(new EdgesplitError(code, message), { requestId });
    publish(ueTopic(topicPrefix, ue, 'error'), encodeMessage(report));
  };

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

  /** Stores a valid request and adds its job; throws a Refusal for its UE. */
  const store = async (ue: string, request: TailJobData, bytes: Buffer, size: number) => {
    const { requestId } = request;
    const key = claimKey(redisPrefix, ue, requestId);
    const jobId = tailJobId(ue, requestId);
    const queue = queues.acquire(ue);
    let staged: string | undefined;
    try {
      // The tensor is written to the request's incoming key and the backlog script then checks
      // whether its job exists already: a duplicate's tensor is dropped there, a new request's
      // becomes its claim key. One round trip less than asking first. Not all in one script:
      // Redis spends about four times the CPU of a plain SET on a script given a 100 KiB argument
      // (measured: 210 against 49-85 us). Without a job the tensor replaces a claim key that is
      // there: an ingress that died between storing and enqueueing leaves one behind, and the
      // resend must not be refused for it. Two copies racing here both store their bytes and
      // BullMQ adds their job once.
      // With a claim directory the bytes go to a staging file, and the claim key holds a marker.
      if (files !== undefined) staged = files.stage(key, bytes);
      const value = staged === undefined ? bytes : FILE_CLAIM_MARKER;
      const incoming = incomingKey(redisPrefix, ue, requestId);
      const jobKey = queue.toKey(jobId);
      let admission: Admission;
      if (value.length <= BATCHED_TENSOR_BYTES) {
        // Sent together, in this order, on one connection: the SET runs first.
        const stored = redis.set(incoming, value, 'EX', ttl);
        [, admission] = await Promise.all([stored, backlog.admit(ue, requestId, size, jobKey)]);
      } else {
        await tensors.set(incoming, value, 'EX', ttl);
        admission = await backlog.admit(ue, requestId, size, jobKey);
      }
      if (!admission.ok && admission.limit === 'unstored')
        throw new Error('the tensor was not stored');
      if (!admission.ok && admission.limit === 'duplicate') {
        counts.duplicates += 1;
        await answerAgain(ue, requestId);
        return;
      }
      if (!admission.ok) {
        await redis.del(key);
        const { maxJobs, maxBytes: maxWaiting } = backlog.limits;
        const bound =
          admission.limit === 'jobs'
            ? `${admission.jobs} requests waiting, at most ${maxJobs}`
            : `${admission.bytes} bytes waiting and ${size} more, at most ${maxWaiting}`;
        throw new Refusal(
          'QUEUE_FULL',
          `UE "${ue}" has ${bound}: send again once earlier requests are answered`,
        );
      }
      try {
        if (staged !== undefined && files !== undefined) {
          files.commit(staged, key);
          staged = undefined;
        }
        await queue.add('tail', request, {
          jobId,
          removeOnComplete: { age: COMPLETED_JOB_AGE_SECONDS },
          removeOnFail: { age: FAILED_JOB_AGE_SECONDS },
        });
      } catch (error) {
        // Let a resend of this request store its tensor again.
        await Promise.allSettled([
          redis.del(key),
          backlog.release(ue, requestId),
          Promise.resolve().then(() => files?.remove(key)),
        ]);
        throw error;
      }
      counts.accepted += 1;
      counts.storedBytes += size;
    } finally {
      queues.release(ue);
      // A duplicate's or refused request's bytes, or a request that failed before its commit.
      if (staged !== undefined) {
        try {
          files?.discard(staged);
        } catch (error) {
          logger.error(`removing ${staged}: ${asError(error).message}`);
        }
      }
    }
  };

  const handle = async (topic: string, payload: Buffer): Promise<void> => {
    const outcome = readInferMessage(topicPrefix, topic, payload, maxBytes);
    if (!outcome.ok) {
      counts.rejected += 1;
      const issue = outcome.report.issues[0] ?? outcome.report.message;
      logger.warn(`rejected request on ${logText(topic)}: ${logText(issue)}`, {
        topic: topic.slice(0, MAX_LOGGED_CHARS),
      });
      if (outcome.errorTopic !== undefined)
        publish(outcome.errorTopic, encodeMessage(outcome.report));
      return;
    }
    const { ue, request } = outcome;
    const sampleProblem = decisions.sampleProblem(ue, request.sample);
    if (sampleProblem !== undefined) {
      counts.rejected += 1;
      const error = new ValidationError('INVALID_PAYLOAD', [sampleProblem]);
      const report = errorReportFrom(error, { topic, requestId: request.requestId });
      publish(ueTopic(topicPrefix, ue, 'error'), encodeMessage(report));
      return;
    }
    const units = decisions.admits(ue, request.epoch);
    if (!units.ok) {
      if (units.code === 'NO_UNITS') counts.noUnits += 1;
      else counts.rejected += 1;
      tell(ue, request.requestId, units.code, `${units.reason}; the request was not queued`);
      return;
    }
    const { bytes: data, shape } = request.tensor;
    const job: TailJobData = {
      ue,
      requestId: request.requestId,
      epoch: request.epoch,
      model: request.model,
      cut: request.cut,
      sample: request.sample,
      claimKey: claimKey(redisPrefix, ue, request.requestId),
      dtype: 'float32',
      shape,
      sentAt: request.sentAt,
      enqueuedAt: Date.now(),
    };
    const jobId = tailJobId(ue, request.requestId);
    try {
      // Commands given to a client that lost Redis would wait in its offline queue, each with
      // its tensor: refuse at once instead, so Redis being away holds no memory here. While the
      // first connection is being made (the ingress just started) they wait, within the timeout.
      for (const connection of connections)
        if (connection.status !== 'ready' && (hadRedis || LOST.has(connection.status)))
          throw new Error(`not connected to Redis (${connection.status})`);
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      await withTimeout(store(ue, job, bytes, data.byteLength), timeoutMs);
    } catch (error) {
      if (error instanceof Refusal) {
        counts.queueFull += 1;
        tell(ue, request.requestId, error.code, error.message);
        return;
      }
      counts.failed += 1;
      const reason = asError(error).message;
      logger.error(`enqueueing ${jobId}: ${reason}`, { ueId: ue });
      // The request may still be queued if Redis answers late; a resend is then a duplicate.
      tell(
        ue,
        request.requestId,
        'UNAVAILABLE',
        `the request could not be queued (${reason}): send it again (same requestId) shortly`,
      );
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
    observe: (topic, payload) => decisions.offer(topic, payload),
    sweep: () => sweeper.sweep(),
    get inFlight() {
      return inFlight.size;
    },
    redisConnected: allReady,
    stats: () => ({
      ...counts,
      expired: sweeper.expired,
      inFlight: inFlight.size,
      openQueues: queues.size,
      decisions: decisions.size,
    }),
    close: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await sweeper.close();
      await queues.close();
      for (const connection of connections) {
        // QUIT given to a client that is not connected would wait for Redis to come back.
        if (connection.status !== 'ready') connection.disconnect();
        else await connection.quit().catch(() => connection.disconnect());
      }
    },
  };
}
