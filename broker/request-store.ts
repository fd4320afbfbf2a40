/**
 * Stores a valid request (docs/live-system.md, "Queue contract"): its tensor's raw float32 bytes
 * under the claim key (in Redis, or in the claim directory with a marker in Redis), admitted by
 * its UE's backlog, and its tail job, which carries metadata only. A resend of a finished request
 * gets the kept answer again; a request beyond its UE's backlog bound is refused.
 */
import {
  COMPLETED_JOB_AGE_SECONDS,
  claimKey,
  EdgesplitError,
  FAILED_JOB_AGE_SECONDS,
  incomingKey,
  type TailJobData,
  tailJobId,
  ueTopic,
  type WireErrorCode,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { type ClaimFiles, FILE_CLAIM_MARKER } from '../runtime/claim-files.js';
import { readAnswer } from '../runtime/kept-answer.js';
import type { RedisClient } from '../runtime/redis-connect.js';
import type { Admission, Backlog } from './backlog.js';
import type { AnswerPublisher, IntakeCounts } from './intake-api.js';
import type { IntakeRedis } from './intake-redis.js';
import type { Logger } from './log.js';
import type { QueueCache } from './queue-cache.js';

/** Why a valid request was not queued: the code and message its UE gets. */
export class Refusal extends EdgesplitError<WireErrorCode> {
  constructor(code: WireErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'Refusal';
  }
}

/**
 * Tensors up to this size are written on the connection of the backlog script, in the same
 * write as it (one round trip for both); bigger ones on a connection of their own first, so
 * that the other requests' commands do not wait behind them.
 */
const BATCHED_TENSOR_BYTES = 1024 * 1024;

/** What `RequestStore` needs. */
export interface RequestStoreParts {
  readonly connections: IntakeRedis;
  readonly queues: QueueCache;
  readonly backlog: Backlog;
  readonly redisPrefix: string;
  readonly topicPrefix: string;
  /** How long a stored tensor waits for its job, in seconds. */
  readonly claimTtlSeconds: number;
  /** The claim directory; undefined: tensors in Redis. */
  readonly files: ClaimFiles | undefined;
  /** Counts the accepted requests, their bytes, the duplicates and the answers sent again. */
  readonly counts: IntakeCounts;
  readonly publish: AnswerPublisher;
  readonly logger: Logger;
}

export class RequestStore {
  readonly #redis: RedisClient;
  readonly #tensors: RedisClient;
  readonly #queues: QueueCache;
  readonly #backlog: Backlog;
  readonly #redisPrefix: string;
  readonly #topicPrefix: string;
  readonly #ttl: number;
  readonly #files: ClaimFiles | undefined;
  readonly #counts: IntakeCounts;
  readonly #publish: AnswerPublisher;
  readonly #logger: Logger;

  constructor(parts: RequestStoreParts) {
    this.#redis = parts.connections.commands;
    this.#tensors = parts.connections.tensors;
    this.#queues = parts.queues;
    this.#backlog = parts.backlog;
    this.#redisPrefix = parts.redisPrefix;
    this.#topicPrefix = parts.topicPrefix;
    this.#ttl = parts.claimTtlSeconds;
    this.#files = parts.files;
    this.#counts = parts.counts;
    this.#publish = parts.publish;
    this.#logger = parts.logger;
  }

  /**
   * Stores a valid request and adds its job, or answers a duplicate again; throws a Refusal for
   * its UE, or the error of Redis.
   */
  async store(ue: string, request: TailJobData, bytes: Buffer, size: number): Promise<void> {
    const redis = this.#redis;
    const files = this.#files;
    const ttl = this.#ttl;
    const { requestId } = request;
    const key = claimKey(this.#redisPrefix, ue, requestId);
    const jobId = tailJobId(ue, requestId);
    const queue = this.#queues.acquire(ue);
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
      const incoming = incomingKey(this.#redisPrefix, ue, requestId);
      const jobKey = queue.toKey(jobId);
      let admission: Admission;
      if (value.length <= BATCHED_TENSOR_BYTES) {
        // Sent together, in this order, on one connection: the SET runs first.
        const stored = redis.set(incoming, value, 'EX', ttl);
        [, admission] = await Promise.all([
          stored,
          this.#backlog.admit(ue, requestId, size, jobKey),
        ]);
      } else {
        await this.#tensors.set(incoming, value, 'EX', ttl);
        admission = await this.#backlog.admit(ue, requestId, size, jobKey);
      }
      if (!admission.ok && admission.limit === 'unstored')
        throw new Error('the tensor was not stored');
      if (!admission.ok && admission.limit === 'duplicate') {
        this.#counts.duplicates += 1;
        await this.#answerAgain(ue, requestId);
        return;
      }
      if (!admission.ok) {
        await redis.del(key);
        const { maxJobs, maxBytes: maxWaiting } = this.#backlog.limits;
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
          this.#backlog.release(ue, requestId),
          Promise.resolve().then(() => files?.remove(key)),
        ]);
        throw error;
      }
      this.#counts.accepted += 1;
      this.#counts.storedBytes += size;
    } finally {
      this.#queues.release(ue);
      // A duplicate's or refused request's bytes, or a request that failed before its commit.
      if (staged !== undefined) {
        try {
          files?.discard(staged);
        } catch (error) {
          this.#logger.error(`removing ${staged}: ${asError(error).message}`);
        }
      }
    }
  }

  /**
   * A resend of a request whose job already finished: the UE missed the answer (e.g. a broker
   * restart lost its session), so the kept answer goes out again. A job still pending answers
   * by itself.
   */
  async #answerAgain(ue: string, requestId: string): Promise<void> {
    const answer = await readAnswer(this.#redis, this.#redisPrefix, ue, requestId);
    if (answer === undefined) return;
    this.#counts.answeredAgain += 1;
    this.#publish(ueTopic(this.#topicPrefix, ue, answer.channel), answer.payload);
  }
}
