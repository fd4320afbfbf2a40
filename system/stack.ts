/**
 * A whole edgesplit stack in one process: the embedded broker with its ingress, the scheduler,
 * edge workers and, if asked, the dashboard, on a given Redis. `edgesplit up`, the experiments
 * and the benchmarks start it here; `close()` stops every part, in reverse order of start.
 */
import { randomBytes } from 'node:crypto';
import type { Logger as BrokerLogger } from '../broker/index.js';
import { startDashboard } from '../dashboard/server.js';
import type { EdgeWorker, EdgeWorkerOptions } from '../edge-worker/index.js';
import type { ProcessMetrics } from '../metrics/index.js';
import { DEFAULT_TOPIC_PREFIX } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import type { Logger } from '../runtime/log.js';
import type { Scheduler, SolverName } from '../scheduler/index.js';
import { type EmbeddedBroker, startEmbeddedBroker } from './broker.js';
import { startEdgeWorkers } from './edge-workers.js';
import { deleteKeys } from './redis-keys.js';
import { startSchedulerPart } from './scheduler.js';

/** Real tails on the edge workers, declaring the edge times they take. */
export interface EdgeInference {
  readonly tails: NonNullable<EdgeWorkerOptions['executor']>;
  edgeProfiles(): Record<string, number[]>;
}

export interface StackOptions {
  /** MQTT port of the embedded broker (0: a free one). */
  readonly port: number;
  /** Address the broker (and the dashboard) bind to. */
  readonly host: string;
  readonly redisUrl: string;
  /** Redis key prefix; a fresh one (its keys deleted at `close()`) when not given. */
  readonly redisPrefix?: string;
  /** @defaultValue DEFAULT_TOPIC_PREFIX */
  readonly topicPrefix?: string;
  readonly workers: number;
  readonly unitsPerWorker: number;
  /** Real tails, measured as they run; emulated (sleep the profile) without. */
  readonly inference?: EdgeInference;
  /** The scheduler's solver. @defaultValue `optimal` */
  readonly solver?: SolverName;
  /** Warnings and errors of the parts (`source`: the part) when there is no `log`. */
  readonly onWarning: (source: string, error: Error) => void;
  /**
   * Where the broker, the ingress, the scheduler and the edge workers log, each as its
   * `component` (the workers with their `workerId`). Without it they say only warnings and
   * errors, through `onWarning`.
   */
  readonly log?: Logger;
  /** Where every part's metrics go; none without. */
  readonly metrics?: ProcessMetrics;
  /** The dashboard's HTTP port (0: a free one; it binds to `host`); none without. */
  readonly dashboardPort?: number;
  /** Tensors in files of this directory rather than in Redis (runtime/claim-files.ts). */
  readonly claimDir?: string;
}

/** What the edge and the scheduler look like now. */
export interface SystemView {
  readonly epoch: number;
  readonly units: number;
  readonly solves: number;
  readonly lastSolveMs: number;
  readonly maxPredictedMs: number | null;
  readonly edgeRunning: number;
  readonly edgeCompleted: number;
  /**
   * Requests the ingress enqueued as new jobs, from every UE on the broker: those a fleet of
   * the stack's started and any other (an `edgesplit agent` pointed at it, say).
   */
  readonly ingressAccepted: number;
  readonly ingressRejected: number;
}

/** A started stack. */
export interface Stack {
  readonly broker: EmbeddedBroker;
  readonly scheduler: Scheduler;
  readonly workers: readonly EdgeWorker[];
  /** The broker's URL on the loopback address, for clients in this process. */
  readonly mqttUrl: string;
  /** The broker's URL on `host`, for others. */
  readonly publicUrl: string;
  readonly topicPrefix: string;
  readonly redisPrefix: string;
  /** The dashboard's page, when `dashboardPort` was given. */
  readonly dashboardUrl?: string;
  view(): SystemView;
  /**
   * Stops every part in reverse order of start (the dashboard first, the broker last but one,
   * then its ingress), then deletes the keys of a prefix of its own. Logs rather than throws
   * what fails; safe to call twice.
   */
  close(): Promise<void>;
}

/** Starts every part; if one fails, stops those started and rejects. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const ownPrefix = options.redisPrefix === undefined;
  const redisPrefix = options.redisPrefix ?? `edgesplit-up-${randomBytes(4).toString('hex')}`;
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const warn = options.onWarning;
  const componentLog = (component: string): BrokerLogger =>
    options.log?.child({ component }) ?? quietLogger(component, warn);
  const closers: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const shutdown = componentLog('up');
      for (const closer of closers.reverse())
        await closer().catch((error: unknown) =>
          shutdown.warn(`shutdown: ${asError(error).message}`),
        );
      if (ownPrefix)
        await deleteKeys(options.redisUrl, `${redisPrefix}:*`).catch((error: unknown) =>
          shutdown.warn(`shutdown: ${asError(error).message}`),
        );
    })();
    return closing;
  };
  try {
    const broker = await startEmbeddedBroker({
      port: options.port,
      host: options.host,
      redisUrl: options.redisUrl,
      redisPrefix,
      topicPrefix,
      logFor: componentLog,
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      ...(options.claimDir === undefined ? {} : { claimDir: options.claimDir }),
    });
    closers.push(() => broker.close());
    const { mqttUrl } = broker;
    const common = { mqttUrl, redisUrl: options.redisUrl, redisPrefix, topicPrefix };
    const scheduler = await startSchedulerPart({
      scheduler: { ...common, ...(options.solver === undefined ? {} : { solver: options.solver }) },
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    });
    closers.push(() => scheduler.close());
    options.metrics?.watchConnections('scheduler', {
      mqtt: () => scheduler.scheduler.connected().mqtt,
      redis: () => scheduler.scheduler.connected().redis,
    });
    const inference = options.inference;
    const edge = await startEdgeWorkers({
      ids: Array.from({ length: options.workers }, (_, index) => `edge-${index + 1}`),
      worker: (id) => {
        const workerLog = options.log?.child({ component: 'edge-worker', workerId: id });
        return {
          ...common,
          ...(options.claimDir === undefined ? {} : { claimDir: options.claimDir }),
          units: options.unitsPerWorker,
          // Real tails drift from the idle machine's profile under load: declare what they take.
          ...(inference === undefined
            ? {}
            : {
                executor: inference.tails,
                edgeProfiles: inference.edgeProfiles(),
                calibrate: true,
              }),
          onError: (error, context) =>
            workerLog === undefined
              ? warn(id, new Error(`${context}: ${error.message}`))
              : workerLog.error(`edge worker ${id}: ${context}: ${error.message}`),
        };
      },
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    });
    closers.push(() => edge.close());
    let dashboardUrl: string | undefined;
    if (options.dashboardPort !== undefined) {
      const dashboard = await startDashboard({
        mqttUrl,
        topicPrefix,
        host: options.host,
        port: options.dashboardPort,
        onWarning: (error) => warn('dashboard', error),
      });
      dashboardUrl = dashboard.url;
      // Closed first: it only reads.
      closers.push(() => dashboard.close());
    }
    const view = (): SystemView => {
      const stats = scheduler.scheduler.stats();
      const workers = edge.workers.map((worker) => worker.stats());
      const ingress = broker.ingress.stats();
      return {
        epoch: stats.epoch,
        units: stats.units,
        solves: stats.solves,
        lastSolveMs: stats.lastSolveMs,
        maxPredictedMs: stats.maxPredictedMs,
        edgeRunning: workers.reduce((sum, s) => sum + s.running, 0),
        edgeCompleted: workers.reduce((sum, s) => sum + s.completed, 0),
        ingressAccepted: ingress.accepted,
        ingressRejected: ingress.rejected,
      };
    };
    return {
      broker,
      scheduler: scheduler.scheduler,
      workers: edge.workers,
      mqttUrl,
      publicUrl: `mqtt://${options.host}:${broker.broker.port}`,
      topicPrefix,
      redisPrefix,
      ...(dashboardUrl === undefined ? {} : { dashboardUrl }),
      view,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A part's log: warnings and errors only, through `warn`. */
function quietLogger(source: string, warn: (source: string, error: Error) => void): BrokerLogger {
  return {
    info: () => {},
    warn: (message: string) => warn(source, new Error(message)),
    error: (message: string) => warn(source, new Error(message)),
  };
}
