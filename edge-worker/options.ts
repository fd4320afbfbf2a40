/** What a caller of `startEdgeWorker` passes; `resolve-options.ts` fills in and checks it. */
import type { Executor } from '../dnn/index.js';
import type { CalibrationOptions } from './calibration.js';
import type { JobEndEvent, JobStartEvent, JobTimesObserver, PackingReport } from './job-events.js';

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
