/**
 * Everything `edgesplit up` runs in one process: the embedded broker and ingress, the scheduler,
 * edge workers and a simulated fleet, on a given Redis.
 */
import { randomBytes } from 'node:crypto';
import {
  type FleetRunOptions,
  type FleetSummary,
  runFleet,
  type TraceSpec,
  type WindowSummary,
} from '../../agents/index.js';
import {
  attachIngress,
  type Broker,
  type Logger as BrokerLogger,
  createBroker,
  type Ingress,
} from '../../broker/index.js';
import { startDashboard } from '../../dashboard/server.js';
import type { Scenario } from '../../dnn/index.js';
import { type EdgeWorker, startEdgeWorker } from '../../edge-worker/index.js';
import {
  agentMetrics,
  edgeMetrics,
  type ProcessMetrics,
  schedulerMetrics,
  watchBroker,
  watchIngress,
} from '../../metrics/index.js';
import { asError, DEFAULT_TOPIC_PREFIX } from '../../proto/index.js';
import type { Logger } from '../../runtime/log.js';
import { type Scheduler, startScheduler } from '../../scheduler/index.js';
import type { SolverName } from '../../scheduler/solvers/index.js';
import { logSchedulerEvents } from '../scheduler-log.js';
import type { RealInference } from './real-inference.js';
import { deleteKeys } from './redis-keys.js';

export interface StackOptions {
  /** MQTT port of the embedded broker (0: a free one). */
  readonly port: number;
  /** Address the broker binds to. */
  readonly host: string;
  readonly redisUrl: string;
  /** Redis key prefix; a fresh one per run (deleted at the end) when not given. */
  readonly redisPrefix?: string;
  readonly workers: number;
  /** Real heads and tails with measured profiles; emulated (sleep the profile) without. */
  readonly realInference?: RealInference;
  /** Pause of each UE between tasks. */
  readonly thinkTimeMs: number;
  readonly unitsPerWorker: number;
  readonly ues: number;
  readonly seed: number;
  readonly models?: readonly string[];
  /** What the fleet is drawn from. @defaultValue the `catalog` scenario */
  readonly scenario?: Scenario;
  /** The scheduler's solver. @defaultValue `optimal` */
  readonly solver?: SolverName;
  readonly trace: TraceSpec;
  /** Seconds to run; without it, until `signal` aborts. */
  readonly durationS?: number;
  readonly signal?: AbortSignal;
  readonly summaryEveryS: number;
  /** How long tasks in flight at the end may take to finish. */
  readonly stopGraceMs: number;
  readonly onSummary: (window: WindowSummary, view: SystemView) => void;
  /** The UEs' warnings (`source`: the UE id); without `log`, the components' too. */
  readonly onWarning: (source: string, error: Error) => void;
  /**
   * Where the broker, the ingress, the scheduler and the edge workers log, each as its
   * `component` (the workers with their `workerId`). Without it they say only warnings and
   * errors, through `onWarning`.
   */
  readonly log?: Logger;
  /** Every UE's stats at the end. */
  readonly onFinished?: FleetRunOptions['onFinished'];
  /** Where every part's metrics go; none without. */
  readonly metrics?: ProcessMetrics;
  /** The dashboard's HTTP port (0: a free one; it binds to `host`); none without. */
  readonly dashboardPort?: number;
  /** Called once every part is up, before the fleet starts. */
  readonly onReady?: (info: {
    readonly mqttUrl: string;
    readonly redisPrefix: string;
    /** The dashboard's page, when `dashboardPort` is given. */
    readonly dashboardUrl?: string;
  }) => void;
}

/** What the edge and the scheduler look like at a summary. */
export interface SystemView {
  readonly epoch: number;
  readonly units: number;
  readonly solves: number;
  readonly lastSolveMs: number;
  readonly maxPredictedMs: number | null;
  readonly edgeRunning: number;
  readonly edgeCompleted: number;
  /**
   * Requests the ingress enqueued as new jobs, from every UE on the broker: those `up` started
   * and any other (an `edgesplit agent` pointed at it, say).
   */
  readonly ingressAccepted: number;
  readonly ingressRejected: number;
}

export interface StackResult {
  readonly summary: FleetSummary;
  readonly view: SystemView;
}

/** Runs the whole system until the fleet ends, then shuts every part down (in reverse). */
export async function runStack(options: StackOptions): Promise<StackResult> {
  const ownPrefix = options.redisPrefix === undefined;
  const redisPrefix = options.redisPrefix ?? `edgesplit-up-${randomBytes(4).toString('hex')}`;
  const topicPrefix = DEFAULT_TOPIC_PREFIX;
  const closers: (() => Promise<void>)[] = [];
  const warn = options.onWarning;
  const real = options.realInference;
  const componentLog = (component: string): BrokerLogger =>
    options.log?.child({ component }) ?? quietLogger(component, warn);
  try {
    const broker: Broker = await createBroker({
      port: options.port,
      host: options.host,
      auth: 'off',
      topicPrefix,
      logger: componentLog('broker'),
    });
    const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
    const common = { mqttUrl, redisUrl: options.redisUrl, redisPrefix, topicPrefix };
    const ingress: Ingress = attachIngress(broker, {
      ...common,
      logger: componentLog('ingress'),
    });
    // Closed after the broker, so that no request is acknowledged once it stops taking them.
    closers.push(() => ingress.close());
    closers.push(() => broker.close());
    const scheduler: Scheduler = await startScheduler({
      ...common,
      ...(options.solver === undefined ? {} : { solver: options.solver }),
    });
    closers.push(() => scheduler.close());
    if (options.log !== undefined)
      logSchedulerEvents(scheduler, options.log.child({ component: 'scheduler' }));
    const metrics = options.metrics;
    if (metrics !== undefined) {
      watchBroker(metrics, broker);
      watchIngress(metrics, ingress);
      const leader = schedulerMetrics(metrics);
      leader.role('leader');
      leader.follow(scheduler);
      metrics.watchConnections('scheduler', {
        mqtt: () => scheduler.connected().mqtt,
        redis: () => scheduler.connected().redis,
      });
    }
    const edge = metrics === undefined ? undefined : edgeMetrics(metrics);
    const agents = metrics === undefined || options.ues === 0 ? undefined : agentMetrics(metrics);
    const workers: EdgeWorker[] = [];
    for (let index = 1; index <= options.workers; index++) {
      const workerLog = options.log?.child({ component: 'edge-worker', workerId: `edge-${index}` });
      const worker = await startEdgeWorker({
        ...common,
        id: `edge-${index}`,
        // Real tails drift from the idle machine's profile under load: declare what they take.
        ...(real === undefined
          ? {}
          : { executor: real.tails, edgeProfiles: real.edgeProfiles(), calibrate: true }),
        units: options.unitsPerWorker,
        ...(edge === undefined ? {} : { jobTimes: edge.jobTimes(`edge-${index}`) }),
        onError: (error, context) =>
          workerLog === undefined
            ? warn(`edge-${index}`, new Error(`${context}: ${error.message}`))
            : workerLog.error(`edge worker edge-${index}: ${context}: ${error.message}`),
      });
      workers.push(worker);
      edge?.add(worker);
      closers.push(() => worker.close());
    }
    const view = (): SystemView => {
      const stats = scheduler.stats();
      const edge = workers.map((worker) => worker.stats());
      return {
        epoch: stats.epoch,
        units: stats.units,
        solves: stats.solves,
        lastSolveMs: stats.lastSolveMs,
        maxPredictedMs: stats.maxPredictedMs,
        edgeRunning: edge.reduce((sum, s) => sum + s.running, 0),
        edgeCompleted: edge.reduce((sum, s) => sum + s.completed, 0),
        ingressAccepted: ingress.stats().accepted,
        ingressRejected: ingress.stats().rejected,
      };
    };
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
    options.onReady?.({
      mqttUrl: `mqtt://${options.host}:${broker.port}`,
      redisPrefix,
      ...(dashboardUrl === undefined ? {} : { dashboardUrl }),
    });
    const summary = await runFleet({
      mqttUrl,
      topicPrefix,
      ues: options.ues,
      seed: options.seed,
      ...(options.models === undefined ? {} : { models: options.models }),
      ...(options.scenario === undefined ? {} : { scenario: options.scenario }),
      trace: options.trace,
      ...(options.durationS === undefined ? {} : { durationS: options.durationS }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      summaryEveryS: options.summaryEveryS,
      ...(real === undefined ? {} : { headFor: (model, device) => real.headFor(model, device) }),
      stopGraceMs: options.stopGraceMs,
      thinkTimeMs: options.thinkTimeMs,
      onSummary: (window) => options.onSummary(window, view()),
      onWarning: warn,
      ...(agents === undefined ? {} : { onAgent: (agent) => agents.add(agent) }),
      ...(options.onFinished === undefined ? {} : { onFinished: options.onFinished }),
    });
    return { summary, view: view() };
  } finally {
    const shutdown = componentLog('up');
    for (const close of closers.reverse()) {
      await close().catch((error: unknown) => shutdown.warn(`shutdown: ${asError(error).message}`));
    }
    if (ownPrefix) {
      await deleteKeys(options.redisUrl, `${redisPrefix}:*`).catch((error: unknown) =>
        shutdown.warn(`shutdown: ${asError(error).message}`),
      );
    }
  }
}

/** A component's log: warnings and errors only, through `warn`. */
function quietLogger(source: string, warn: (source: string, error: Error) => void) {
  return {
    info: () => {},
    warn: (message: string) => warn(source, new Error(message)),
    error: (message: string) => warn(source, new Error(message)),
  };
}
