/**
 * The contract between the ingress (producer) and edge workers (consumers) of tail jobs: one
 * BullMQ queue per UE, job ids derived from UE and request ids (so a QoS 1 duplicate of an
 * `infer` enqueues nothing), and tensors kept out of job data behind a Redis claim-check key.
 */

/** Default prefix of every Redis key edgesplit writes (BullMQ's `prefix` option too). */
export const DEFAULT_REDIS_PREFIX = 'edgesplit';

/**
 * What is wrong with a Redis prefix, or undefined. A prefix holds no `{` or `}`: every key puts
 * a hash tag after it (one per UE, `{scheduler}` for the scheduler's keys), and a brace in the
 * prefix would make Redis Cluster hash the prefix instead, putting every key on one node.
 */
export function redisPrefixProblem(redisPrefix: string): string | undefined {
  if (redisPrefix.length === 0 || redisPrefix.length > 128)
    return 'the Redis prefix must be 1-128 characters';
  if (/[{}\s]/.test(redisPrefix))
    return 'the Redis prefix must not contain braces or white space (keys carry hash tags after it)';
  return undefined;
}

/** Throws a RangeError when `redisPrefix` cannot be used (`redisPrefixProblem`). */
export function checkRedisPrefix(redisPrefix: string): string {
  const problem = redisPrefixProblem(redisPrefix);
  if (problem !== undefined) throw new RangeError(`${problem}: ${JSON.stringify(redisPrefix)}`);
  return redisPrefix;
}

/**
 * The hash tag every key of one UE carries (its queue, claims, answers and backlog), so that
 * what one script or transaction touches lies in one Redis Cluster slot and different UEs'
 * queues spread over the cluster's nodes (docs/scale-out.md).
 */
export function ueTag(ueId: string): string {
  return `{${ueId}}`;
}

/** How long an uploaded tensor waits in Redis for its tail job before it expires. */
export const CLAIM_TTL_SECONDS = 600;

/**
 * How long a tail job may wait in its queue (not yet started) before the ingress removes it and
 * tells its UE (`EXPIRED`): longer than an agent's default patience (3 x 10 s), so only a job
 * nobody will run (its UE lost its units, no edge worker serves it) gets there.
 */
export const JOB_TTL_SECONDS = 120;

/** Most requests one UE may have stored and not yet finished (jobs waiting or running). */
export const DEFAULT_MAX_WAITING_JOBS = 64;

/** Most tensor bytes one UE may have stored and not yet finished. */
export const DEFAULT_MAX_WAITING_BYTES = 32 * 1024 * 1024;

/** Events BullMQ keeps per UE queue (its `events` stream); the default of 10,000 is ~1 MB a UE. */
export const QUEUE_EVENTS_MAX_LEN = 100;

/**
 * The UE's backlog: a sorted set of the request ids it has stored and not finished (score: when
 * the ingress took them, ms), and beside it (`…:bytes`) a hash of each one's tensor bytes and,
 * in field `:total`, their sum. An entry whose claim key is gone (the job finished) or whose job
 * life is over no longer counts (and is dropped when a request would pass a bound).
 */
export function backlogKey(redisPrefix: string, ueId: string): string {
  return `${redisPrefix}:backlog:${ueTag(ueId)}`;
}

/** The UEs whose queues the ingress sweeps (sorted set, score: last request taken, ms). */
export function sweptQueuesKey(redisPrefix: string): string {
  return `${redisPrefix}:ingress:queues`;
}

/**
 * The BullMQ queue holding UE `ueId`'s tail jobs (ids never contain ':'). The name carries the
 * UE's hash tag, so all of the queue's keys (`{prefix}:ue.{ue}:...`) share the UE's slot.
 */
export function ueQueueName(ueId: string): string {
  return `ue.${ueTag(ueId)}`;
}

/** The UE id of a queue made by `ueQueueName`, or undefined. */
export function ueOfQueue(queueName: string): string | undefined {
  const match = /^ue\.\{([^{}]+)\}$/.exec(queueName);
  return match?.[1];
}

/** Job id of a request: the same request published twice maps to the same job. */
export function tailJobId(ueId: string, requestId: string): string {
  return `${ueId}.${requestId}`;
}

/** Redis key holding the raw float32 bytes of a request's tensor. */
export function claimKey(redisPrefix: string, ueId: string, requestId: string): string {
  return `${redisPrefix}:claim:${ueTag(ueId)}:${requestId}`;
}

/**
 * Redis key a request's tensor is written to before the ingress knows whether the request is new
 * (its job absent): the backlog script moves it to `claimKey` for a new request and drops it for
 * a duplicate, so a duplicate never overwrites the tensor of a job that exists.
 */
export function incomingKey(redisPrefix: string, ueId: string, requestId: string): string {
  return `${redisPrefix}:incoming:${ueTag(ueId)}:${requestId}`;
}

/** What a tail job carries: small metadata only, never the tensor itself. */
export interface TailJobData {
  readonly ue: string;
  readonly requestId: string;
  readonly epoch: number;
  readonly model: string;
  /** The cut the head ran to; the tail runs from here to the model's output. */
  readonly cut: number;
  readonly sample: number;
  readonly claimKey: string;
  readonly dtype: 'float32';
  readonly shape: readonly number[];
  /** When the agent published the request (ms since epoch, agent clock). */
  readonly sentAt: number;
  /** When the ingress enqueued the job (ms since epoch, ingress clock). */
  readonly enqueuedAt: number;
}

/**
 * How long a request's answer is kept for resends: longer than an agent's default retries take
 * (3 x 10 s), short enough that a busy edge does not fill Redis with old results.
 */
export const ANSWER_TTL_SECONDS = 60;

/**
 * How long BullMQ keeps a completed job (`removeOnComplete.age`), in seconds. While it is kept, a
 * resend of its request is a duplicate, answered again from the kept answer; after it, a resend
 * is computed again (the agent drops the second result). Half the answer's life, because BullMQ
 * removes old jobs only as later ones of the queue complete. A kept job costs Redis about 1.5 KB:
 * an hour of them would be 11 GB at 2,000 requests/s.
 */
export const COMPLETED_JOB_AGE_SECONDS = ANSWER_TTL_SECONDS / 2;

/** How long BullMQ keeps a failed job for inspection (`removeOnFail.age`), in seconds. */
export const FAILED_JOB_AGE_SECONDS = 3600;

/**
 * Redis string holding the answer a request got (`keptAnswer`: its channel and the encoded
 * message as published), with a time to live. A resend of a request whose job is finished is
 * answered from here by the ingress, so a result published while the UE was away (a broker
 * restart loses its session) is not lost.
 */
export function answerKey(redisPrefix: string, ueId: string, requestId: string): string {
  return `${redisPrefix}:answer:${ueTag(ueId)}:${requestId}`;
}

/** The channels an answer is published on. */
export type AnswerChannel = 'result' | 'error';

/** The first byte of a kept answer: its channel. */
const CHANNEL_BYTE = { result: 0x72, error: 0x65 } as const; // 'r', 'e'

/**
 * The value kept under `answerKey`: one byte for the channel (`r` result, `e` error), then the
 * payload as published. A string rather than a hash, so that one SET with EX keeps it.
 */
export function keptAnswer(channel: AnswerChannel, payload: Uint8Array): Buffer {
  const value = Buffer.allocUnsafe(payload.byteLength + 1);
  value[0] = CHANNEL_BYTE[channel];
  value.set(payload, 1);
  return value;
}

/** Reads a value `keptAnswer` wrote; undefined for anything else. */
export function readKeptAnswer(
  value: Buffer | null,
): { readonly channel: AnswerChannel; readonly payload: Buffer } | undefined {
  if (value === null || value.length < 2) return undefined;
  const channel =
    value[0] === CHANNEL_BYTE.result
      ? 'result'
      : value[0] === CHANNEL_BYTE.error
        ? 'error'
        : undefined;
  if (channel === undefined) return undefined;
  return { channel, payload: value.subarray(1) };
}

/**
 * The scheduler's decisions as Redis holds them (docs/live-system.md, "Faults"), under the Redis
 * prefix:
 *
 * - `{prefix}:{scheduler}:epoch`: the epoch of the last recorded solve (a string integer).
 * - `{prefix}:{scheduler}:decisions`: a hash, UE id to its encoded decision (the retained payload).
 *
 * `{scheduler}` is a Redis Cluster hash tag: these keys and the leader lock share one slot, as
 * the ledger's script and the snapshot's transaction touch them together.
 */
export const SCHEDULER_TAG = '{scheduler}';

/** Key of the last recorded epoch. */
export function epochKey(redisPrefix: string): string {
  return `${redisPrefix}:${SCHEDULER_TAG}:epoch`;
}

/** Key of the hash of current decisions. */
export function decisionsKey(redisPrefix: string): string {
  return `${redisPrefix}:${SCHEDULER_TAG}:decisions`;
}
