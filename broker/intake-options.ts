/**
 * The options of the ingress (`IntakeOptions`, shared by both front ends) and their resolution:
 * defaults filled in, each limit checked, the claim directory opened. Nothing here touches Redis.
 */
import {
  CLAIM_TTL_SECONDS,
  checkRedisPrefix,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_WAITING_BYTES,
  DEFAULT_MAX_WAITING_JOBS,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  JOB_TTL_SECONDS,
  OptionError,
} from '../proto/index.js';
import { ClaimFiles } from '../runtime/claim-files.js';
import type { Logger } from './log.js';

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

/** `IntakeOptions` with every default filled in and every limit checked. */
export interface IntakeSettings {
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly topicPrefix: string;
  /** How long a stored tensor waits for its job, in seconds. */
  readonly claimTtlSeconds: number;
  /** How long a job may wait unstarted, in seconds; at most `claimTtlSeconds`. */
  readonly jobTtlSeconds: number;
  readonly sweepIntervalMs: number;
  readonly maxWaitingJobs: number;
  readonly maxWaitingBytes: number;
  readonly redisTimeoutMs: number;
  readonly drainMs: number;
  readonly decisionGraceMs: number;
  /** The claim directory, opened; undefined: tensors in Redis. */
  readonly claimFiles: ClaimFiles | undefined;
  readonly maxPayloadBytes: number;
  readonly maxQueues: number;
  readonly queueIdleMs: number;
}

/** A positive integer option, or an OptionError naming it. */
function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new OptionError(`${name} must be a positive integer, not ${value}`, { option: name });
  return value;
}

/**
 * Fills in the defaults of `options` and checks them: an OptionError names a bad limit, a
 * RangeError a bad Redis prefix, a ClaimDirError a claim directory that cannot be used. Warns
 * on `logger` when the claim directory is not on a tmpfs.
 */
export function resolveIntakeOptions(options: IntakeOptions, logger: Logger): IntakeSettings {
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const redisPrefix = checkRedisPrefix(options.redisPrefix ?? DEFAULT_REDIS_PREFIX);
  const ttl = positive('claimTtlSeconds', options.claimTtlSeconds ?? CLAIM_TTL_SECONDS);
  const jobTtl = positive('jobTtlSeconds', options.jobTtlSeconds ?? Math.min(JOB_TTL_SECONDS, ttl));
  if (ttl < jobTtl)
    throw new OptionError(`claimTtlSeconds (${ttl}) must be at least jobTtlSeconds (${jobTtl})`, {
      option: 'claimTtlSeconds',
    });
  const claimFiles = options.claimDir === undefined ? undefined : new ClaimFiles(options.claimDir);
  if (claimFiles !== undefined && !claimFiles.tmpfs)
    logger.warn(
      `claim directory ${claimFiles.dir} is not on a tmpfs: every request waits for its file to be ` +
        'written there (use a tmpfs such as /dev/shm)',
    );
  const redisTimeoutMs = positive('redisTimeoutMs', options.redisTimeoutMs ?? 5000);
  const sweepIntervalMs = positive(
    'sweepIntervalMs',
    options.sweepIntervalMs ?? Math.min((jobTtl * 1000) / 4, 30_000),
  );
  return {
    redisUrl: options.redisUrl,
    redisPrefix,
    topicPrefix,
    claimTtlSeconds: ttl,
    jobTtlSeconds: jobTtl,
    sweepIntervalMs,
    maxWaitingJobs: options.maxWaitingJobs ?? DEFAULT_MAX_WAITING_JOBS,
    maxWaitingBytes: options.maxWaitingBytes ?? DEFAULT_MAX_WAITING_BYTES,
    redisTimeoutMs,
    drainMs: options.drainMs ?? 10_000,
    decisionGraceMs: options.decisionGraceMs ?? 5000,
    claimFiles,
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    maxQueues: options.maxQueues ?? 1024,
    queueIdleMs: options.queueIdleMs ?? 60_000,
  };
}
