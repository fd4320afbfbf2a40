import { type Executor, hasModel } from '../dnn/index.js';
import {
  assertTopicPrefix,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  EDGE_ANNOUNCE_MS,
  EDGE_STATUS_EXPIRY_MS,
  isValidId,
  MAX_UNITS,
  redisPrefixProblem,
  TopicError,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { parseRedisUrl } from '../runtime/redis-connect.js';
import type { CalibrationOptions } from './calibration.js';
import { defaultEdgeModels } from './edge-status.js';
import { EdgeWorkerOptionsError } from './errors.js';

/** A tail job this worker is about to run (its slot under the unit cap is taken). */
export interface JobStartEvent {
  readonly ue: string;
  readonly requestId: string;
  readonly jobId: string;
  /** Jobs of this worker running now, this one included. */
  readonly running: number;
}

/** A tail job that ended: its result (or error) is published, its slot given back. */
export interface JobEndEvent {
  readonly ue: string;
  readonly requestId: string;
  readonly jobId: string;
  readonly ok: boolean;
  /** Why it failed, when `ok` is false. */
  readonly error?: Error;
}

/**
 * Times of each tail job, for metrics: called on the job's path with plain numbers (nothing is
 * allocated for them).
 */
export interface JobTimesObserver {
  /** A job got its unit, this long after the ingress enqueued it (clocks of both machines). */
  queued(ms: number): void;
  /** A job's tail computed in this long. */
  computed(ms: number): void;
}

/** Options of `startEdgeWorker`. */
export interface EdgeWorkerOptions {
  /**
   * Worker id, 1-64 characters of `[A-Za-z0-9._-]`; its status is `edge/{id}/status`. Behind the
   * embedded broker's authentication it must equal `username` (an edge credential may publish
   * only its own status).
   */
  id: string;
  /** Units declared: the most tail jobs this worker runs at once, counted into the edge's R. */
  units: number;
  /**
   * Models this worker serves (and declares edgeMs for).
   * @defaultValue every model of the zoo: REAL_MODELS and tiny-cnn
   */
  models?: readonly string[];
  /**
   * Runs the tails. The caller keeps ownership: `close()` does not close it.
   * @defaultValue an emulated executor sleeping the profiled edgeMs times `speedFactor`
   */
  executor?: Executor;
  /**
   * Measured edgeMs per cut by model (from `edgesplit profile`), declared instead of the
   * FLOP-based table for those models; `speedFactor` does not apply to them.
   * @defaultValue none
   */
  edgeProfiles?: Readonly<Record<string, readonly number[]>>;
  /**
   * Multiplies the emulated compute time and the edgeMs declared in the status.
   * @defaultValue 1
   */
  speedFactor?: number;
  /** MQTT broker URL (`mqtt://`, `mqtts://`, `ws://`, `wss://`). */
  mqttUrl: string;
  /** MQTT credentials of the edge-worker role. @defaultValue none */
  username?: string;
  /** @defaultValue none */
  password?: string;
  /** Redis URL for BullMQ and claim-check keys. */
  redisUrl: string;
  /** Redis key prefix (BullMQ `prefix` too). @defaultValue `edgesplit` */
  redisPrefix?: string;
  /** Topic prefix. @defaultValue `edgesplit/v1` */
  topicPrefix?: string;
  /**
   * The ingress's claim directory, when it keeps tensors in files on this host
   * (`EDGESPLIT_CLAIM_DIR`, runtime/claim-files.ts). @defaultValue none: tensors in Redis
   */
  claimDir?: string;
  /**
   * BullMQ lock duration: a job whose worker stops renewing its lock (renewed every half of
   * this) is considered stalled after it expires.
   * @defaultValue 4000
   */
  lockDurationMs?: number;
  /**
   * How often each BullMQ Worker checks its queue for stalled jobs. A dead worker's job is
   * back in the queue at most about lockDurationMs + stalledIntervalMs after it died.
   * @defaultValue 2000
   */
  stalledIntervalMs?: number;
  /**
   * Times a job may stall (its worker died) and be retried before it fails.
   * @defaultValue 2
   */
  maxStalledCount?: number;
  /**
   * MQTT keepalive. A worker whose host dies without closing its socket is declared offline
   * (last will) by the broker after 1.5 times this without traffic.
   * @defaultValue 5
   */
  keepaliveSeconds?: number;
  /**
   * How often queues left without a share are checked for jobs still waiting.
   * @defaultValue 1000
   */
  drainCheckMs?: number;
  /**
   * A UE served here that lost its units keeps a Worker (concurrency 1) this long, in ms, even
   * with its queue empty: requests the UE sent before it learnt of the change are still on
   * their way (the ingress takes them for as long, its `drainMs`). Then it stops once drained.
   * @defaultValue 10000
   */
  drainGraceMs?: number;
  /**
   * How often, in ms, the worker publishes its status again while connected (retained, unchanged
   * but for its time), so that the others take it for alive. Keep it well under every process's
   * `edgeStatusExpiryMs`.
   * @defaultValue 10000 (`EDGE_ANNOUNCE_MS`)
   */
  announceMs?: number;
  /**
   * Another worker whose `online` status was not heard (live or replayed) for this many ms is
   * forgotten, as the scheduler does (one that died while the broker was down has no last
   * will); 0 turns it off.
   * @defaultValue 30000 (`EDGE_STATUS_EXPIRY_MS`)
   */
  edgeStatusExpiryMs?: number;
  /**
   * Called whenever the packing this worker serves by changes (its fingerprint, what this worker
   * serves of it), or the set of online workers it was computed from does, after the queues were
   * set to it.
   * @defaultValue none
   */
  onPacking?: (report: PackingReport) => void;
  /**
   * Called a grace period after a reconnect to the broker (counted from the acknowledgement of
   * the subscription to the edge statuses; not for a reconnect a later one superseded), once the
   * other workers that did not announce themselves again were forgotten (they died while the
   * connection was down).
   * @defaultValue none
   */
  onReconfirm?: (report: {
    readonly dropped: readonly string[];
    readonly kept: readonly string[];
  }) => void;
  /**
   * Called when other workers were forgotten because their status went unheard for
   * `edgeStatusExpiryMs` (the packing follows).
   * @defaultValue none
   */
  onExpired?: (report: { readonly workers: readonly string[] }) => void;
  /** Called when a job takes its slot and starts. @defaultValue none */
  onJobStart?: (event: JobStartEvent) => void;
  /** Called when a job has published its result or error and given its slot back. @defaultValue none */
  onJobEnd?: (event: JobEndEvent) => void;
  /** Times of each job (metrics). */
  jobTimes?: JobTimesObserver;
  /**
   * Declare what the jobs really take: the worker fits its declared edgeMs to the compute and
   * overhead of its finished jobs and declares again when they moved (`EdgeCalibration`).
   * @defaultValue false (the declared profile stays as given)
   */
  calibrate?: boolean | CalibrationOptions;
  /**
   * Called with errors that do not stop the worker (Redis or MQTT trouble, a claim key that
   * could not be deleted, an invalid message).
   * @defaultValue writes one line to stderr
   */
  onError?: (error: Error, context: string) => void;
}

/** The packing a worker serves by, as `onPacking` reports it. */
export interface PackingReport {
  /** `packingDigest`: equal on two workers exactly when they computed the same packing. */
  readonly digest: string;
  /** UEs the packing gives units to, and online workers (this one included). */
  readonly ues: number;
  readonly workers: number;
  /** UEs this worker has a share of, and the sum of its shares. */
  readonly served: number;
  readonly units: number;
}

/** The options with every default filled in and every value checked. */
export interface ResolvedEdgeWorkerOptions {
  readonly id: string;
  readonly units: number;
  readonly models: readonly string[];
  readonly speedFactor: number;
  readonly redisPrefix: string;
  readonly topicPrefix: string;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
  readonly keepaliveSeconds: number;
  readonly drainCheckMs: number;
  readonly drainGraceMs: number;
  readonly announceMs: number;
  readonly edgeStatusExpiryMs: number;
  readonly claimDir?: string;
}

export const EDGE_WORKER_DEFAULTS = {
  speedFactor: 1,
  lockDurationMs: 4000,
  stalledIntervalMs: 2000,
  maxStalledCount: 2,
  keepaliveSeconds: 5,
  drainCheckMs: 1000,
  drainGraceMs: 10_000,
  announceMs: EDGE_ANNOUNCE_MS,
  edgeStatusExpiryMs: EDGE_STATUS_EXPIRY_MS,
} as const;

function positiveInt(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!(Number.isInteger(value) && value >= 1 && value <= max))
    throw new EdgeWorkerOptionsError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  return value;
}

function nonNegativeInt(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER))
    throw new EdgeWorkerOptionsError(`${name} must be an integer >= 0, got ${value}`);
  return value;
}

/** Fills in defaults and checks every option; throws {@link EdgeWorkerOptionsError}. */
export function resolveEdgeWorkerOptions(options: EdgeWorkerOptions): ResolvedEdgeWorkerOptions {
  if (!isValidId(options.id))
    throw new EdgeWorkerOptionsError(
      `id must be 1-64 characters of [A-Za-z0-9._-], got ${JSON.stringify(String(options.id).slice(0, 80))}`,
    );
  const models = [...(options.models ?? defaultEdgeModels())];
  if (models.length === 0) throw new EdgeWorkerOptionsError('models must not be empty');
  const unknown = models.filter((model) => !hasModel(model));
  if (unknown.length > 0)
    throw new EdgeWorkerOptionsError(`unknown model ${unknown.map((m) => `"${m}"`).join(', ')}`);
  if (new Set(models).size !== models.length)
    throw new EdgeWorkerOptionsError('models must not repeat a model');
  const speedFactor = options.speedFactor ?? EDGE_WORKER_DEFAULTS.speedFactor;
  if (!(Number.isFinite(speedFactor) && speedFactor >= 0))
    throw new EdgeWorkerOptionsError(
      `speedFactor must be a finite number >= 0, got ${speedFactor}`,
    );
  const maxStalledCount = options.maxStalledCount ?? EDGE_WORKER_DEFAULTS.maxStalledCount;
  if (!(Number.isInteger(maxStalledCount) && maxStalledCount >= 0))
    throw new EdgeWorkerOptionsError(`maxStalledCount must be an integer >= 0`);
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  try {
    assertTopicPrefix(topicPrefix);
  } catch (error) {
    if (error instanceof TopicError) throw new EdgeWorkerOptionsError(error.message);
    throw error;
  }
  const redisPrefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  const prefixProblem = redisPrefixProblem(redisPrefix);
  if (prefixProblem !== undefined) throw new EdgeWorkerOptionsError(prefixProblem);
  try {
    parseRedisUrl(options.redisUrl);
  } catch (error) {
    throw new EdgeWorkerOptionsError(`redisUrl: ${asError(error).message}`);
  }
  const announceMs = positiveInt(
    'announceMs',
    options.announceMs ?? EDGE_WORKER_DEFAULTS.announceMs,
  );
  const edgeStatusExpiryMs = nonNegativeInt(
    'edgeStatusExpiryMs',
    options.edgeStatusExpiryMs ?? EDGE_WORKER_DEFAULTS.edgeStatusExpiryMs,
  );
  // Two announcements per expiry time at least: one may come late on a busy machine.
  if (edgeStatusExpiryMs > 0 && 2 * announceMs > edgeStatusExpiryMs)
    throw new EdgeWorkerOptionsError(
      `announceMs (${announceMs}) must be at most half of edgeStatusExpiryMs ` +
        `(${edgeStatusExpiryMs}): the other workers and the scheduler would take this one for silent`,
    );
  return {
    id: options.id,
    units: positiveInt('units', options.units, MAX_UNITS),
    models,
    speedFactor,
    redisPrefix,
    topicPrefix,
    lockDurationMs: positiveInt(
      'lockDurationMs',
      options.lockDurationMs ?? EDGE_WORKER_DEFAULTS.lockDurationMs,
    ),
    stalledIntervalMs: positiveInt(
      'stalledIntervalMs',
      options.stalledIntervalMs ?? EDGE_WORKER_DEFAULTS.stalledIntervalMs,
    ),
    maxStalledCount,
    keepaliveSeconds: positiveInt(
      'keepaliveSeconds',
      options.keepaliveSeconds ?? EDGE_WORKER_DEFAULTS.keepaliveSeconds,
      65_535,
    ),
    drainCheckMs: positiveInt(
      'drainCheckMs',
      options.drainCheckMs ?? EDGE_WORKER_DEFAULTS.drainCheckMs,
    ),
    drainGraceMs: positiveInt(
      'drainGraceMs',
      options.drainGraceMs ?? EDGE_WORKER_DEFAULTS.drainGraceMs,
    ),
    announceMs,
    edgeStatusExpiryMs,
    ...(options.claimDir === undefined ? {} : { claimDir: options.claimDir }),
  };
}
