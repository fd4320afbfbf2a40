/**
 * A running edge worker (started by start-edge-worker.ts): follows the decisions (over MQTT, and
 * from the scheduler's record in Redis) and the other workers, computes the packing, and runs a
 * BullMQ Worker per UE it serves or drains; its status is the StatusAnnouncer's.
 */
import type { MqttClient } from 'mqtt';
import type { Executor } from '../dnn/index.js';
import { type EdgeModel, edgeStatusFilter, ueChannelFilter } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { readDecisionSnapshot, readSnapshotEpoch } from '../runtime/decision-snapshot.js';
import { logText } from '../runtime/log-text.js';
import type { RedisClient } from '../runtime/redis-connect.js';
import { onCurrentMessage } from '../runtime/retained-replay.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { EdgeCalibration } from './calibration.js';
import type { EdgeWorker, EdgeWorkerStats, QueueStats } from './edge-worker-api.js';
import { FleetView } from './fleet-view.js';
import type { PackingReport } from './job-events.js';
import { TailJobRunner } from './job-runner.js';
import type { EdgeWorkerOptions } from './options.js';
import { type Packing, packingDigest, servedUes } from './packing.js';
import { planQueues } from './queue-plan.js';
import { QueueWorkers } from './queue-workers.js';
import type { ResolvedEdgeWorkerOptions } from './resolve-options.js';
import { StatusAnnouncer } from './status-announcer.js';
import { TailWarmup } from './tail-warmup.js';

/** How long a closing worker waits for the broker to take its `offline` status. */
const OFFLINE_PUBLISH_TIMEOUT_MS = 5000;

/** What `EdgeWorkerProcess` is told of, and what it owns besides its connections. */
export interface ProcessHooks {
  onPacking: EdgeWorkerOptions['onPacking'];
  onReconfirm: EdgeWorkerOptions['onReconfirm'];
  onExpired: EdgeWorkerOptions['onExpired'];
  onJobStart: EdgeWorkerOptions['onJobStart'];
  onJobEnd: EdgeWorkerOptions['onJobEnd'];
  jobTimes: EdgeWorkerOptions['jobTimes'];
  onError: (error: Error, context: string) => void;
  closeExecutor: boolean;
  calibration: EdgeCalibration | undefined;
}

export class EdgeWorkerProcess implements EdgeWorker {
  readonly id: string;
  readonly units: number;
  private readonly fleet: FleetView;
  private readonly status: StatusAnnouncer;
  private readonly runner: TailJobRunner;
  private readonly warmup: TailWarmup;
  private readonly queues: QueueWorkers;
  private shares: ReadonlyMap<string, number> = new Map();
  private reconciling: Promise<void> | undefined;
  private again = false;
  private closing: Promise<void> | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  /** The ledger epoch whose decisions the view has taken; undefined before the first read. */
  private syncedEpoch: number | undefined;
  private syncing: Promise<void> | undefined;
  /** The packing digest and online workers last reported. */
  private reported: string | undefined;

  constructor(
    private readonly config: ResolvedEdgeWorkerOptions,
    models: readonly EdgeModel[],
    private readonly mqtt: MqttClient,
    private readonly redis: RedisClient,
    private readonly jobRedis: RedisClient,
    private readonly executor: Executor,
    private readonly hooks: ProcessHooks,
  ) {
    this.id = config.id;
    this.units = config.units;
    this.fleet = new FleetView(
      config.topicPrefix,
      { id: config.id, units: config.units },
      config.edgeStatusExpiryMs,
    );
    this.status = new StatusAnnouncer({
      mqtt,
      topicPrefix: config.topicPrefix,
      id: config.id,
      units: config.units,
      announceMs: config.announceMs,
      models,
      fleet: this.fleet,
      calibration: hooks.calibration,
      onReconfirm: hooks.onReconfirm,
      onFleetChange: () => this.scheduleReconcile(),
      onError: hooks.onError,
    });
    this.runner = new TailJobRunner({
      config,
      executor,
      redis: this.jobRedis,
      publish: async (topic, payload) => {
        await mqtt.publishAsync(topic, payload, { qos: 1 });
      },
      onJobStart: hooks.onJobStart,
      onJobEnd: hooks.onJobEnd,
      jobTimes: hooks.jobTimes,
      onServed: (model, cut, computeMs, serviceMs) =>
        this.status.calibrate(model, cut, computeMs, serviceMs),
      onError: hooks.onError,
    });
    // A warm-up cut short by closing is no error.
    this.warmup = new TailWarmup(executor, new Set(config.models), (error, context) => {
      if (this.closing === undefined) hooks.onError(error, context);
    });
    this.queues = new QueueWorkers({
      connection: redis,
      prefix: config.redisPrefix,
      workerName: config.id,
      lockDurationMs: config.lockDurationMs,
      stalledIntervalMs: config.stalledIntervalMs,
      maxStalledCount: config.maxStalledCount,
      process: (ue, job) => this.runner.process(ue, job),
      onFinished: (ue, job, error) => this.runner.finished(ue, job, error),
      onError: hooks.onError,
    });
  }

  async start(): Promise<void> {
    // A replay that a live message overtook is stale (a worker's `online` after its last will).
    onCurrentMessage(this.mqtt, (topic, payload) => {
      const update = this.fleet.apply(topic, payload);
      if (update.problem !== undefined)
        this.hooks.onError(update.problem, `message on ${logText(topic)}`);
      if (update.changed) this.scheduleReconcile();
    });
    await this.mqtt.subscribeAsync(this.filters(), { qos: 1 });
    await this.syncDecisions();
    await this.status.start();
    this.drainTimer = setInterval(() => {
      const expired = this.fleet.expireSilent();
      if (expired.changed) this.hooks.onExpired?.({ workers: expired.dropped });
      this.scheduleReconcile();
      void this.syncDecisions();
    }, this.config.drainCheckMs);
    this.drainTimer.unref();
  }

  stats(): EdgeWorkerStats {
    const perQueue: Record<string, QueueStats> = {};
    const ues = new Set([
      ...this.shares.keys(),
      ...this.queues.ues(),
      ...this.runner.perQueue.keys(),
    ]);
    for (const ue of [...ues].sort()) {
      const counters = this.runner.perQueue.get(ue);
      perQueue[ue] = {
        share: this.shares.get(ue) ?? 0,
        concurrency: this.queues.concurrencyOf(ue),
        mode: this.queues.modeOf(ue) ?? 'closed',
        running: counters?.running ?? 0,
        completed: counters?.completed ?? 0,
        failed: counters?.failed ?? 0,
      };
    }
    const { running, maxRunning, waitingForSlot, completed, failed } = this.runner;
    return { running, maxRunning, waitingForSlot, completed, failed, perQueue };
  }

  connected(): { readonly mqtt: boolean; readonly redis: boolean } {
    return {
      mqtt: this.mqtt.connected,
      redis: this.redis.status === 'ready' && this.jobRedis.status === 'ready',
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.drainTimer);
    this.status.stop();
    await this.syncing;
    await this.reconciling;
    await this.queues.close();
    await this.runner.settled();
    // Unsubscribed first, so that no message (our own offline status among them) arrives to be
    // acknowledged after the client has ended.
    const offline = (async () => {
      await this.mqtt.unsubscribeAsync(this.filters());
      await this.status.publish('offline');
    })();
    const published = await withTimeout(offline, OFFLINE_PUBLISH_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
    if (!published) this.hooks.onError(new Error('broker did not take it'), 'publishing offline');
    await this.mqtt.endAsync(!published);
    await this.redis.quit().catch(() => this.redis.disconnect());
    await this.jobRedis.quit().catch(() => this.jobRedis.disconnect());
    if (this.hooks.closeExecutor) await this.executor.close();
  }

  private filters(): string[] {
    const prefix = this.config.topicPrefix;
    return [ueChannelFilter(prefix, 'decision'), edgeStatusFilter(prefix)];
  }

  /**
   * Takes the scheduler's record of every decision from Redis whenever its epoch moved since the
   * last read (on start, then every drainCheckMs): whatever MQTT messages this worker missed, its
   * decisions, and so its packing, end as every other worker's. One read at a time.
   */
  private syncDecisions(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        const prefix = this.config.redisPrefix;
        const epoch = await readSnapshotEpoch(this.jobRedis, prefix);
        if (epoch === undefined || epoch === this.syncedEpoch) return;
        const snapshot = await readDecisionSnapshot(this.jobRedis, prefix);
        if (snapshot === undefined || this.closing !== undefined) return;
        for (const problem of snapshot.invalid.slice(0, 3))
          this.hooks.onError(new Error(logText(problem)), 'a decision recorded in Redis');
        this.syncedEpoch = snapshot.epoch;
        if (this.fleet.applySnapshot(snapshot).changed) this.scheduleReconcile();
      } catch (error) {
        this.hooks.onError(asError(error), 'reading the decisions from Redis');
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /**
   * Reports the packing when it or the set of online workers changed: a worker taken offline
   * that served nothing leaves the packing as it was, but not the view it was computed from.
   */
  private reportPacking(packing: Packing, serve: ReadonlyMap<string, number>): void {
    const digest = packingDigest(packing);
    const workers = this.fleet
      .onlineWorkers()
      .map((worker) => worker.id)
      .sort();
    const reported = `${digest} ${workers.join(' ')}`;
    if (reported === this.reported || this.hooks.onPacking === undefined) return;
    this.reported = reported;
    let units = 0;
    for (const share of serve.values()) units += share;
    const report: PackingReport = {
      digest,
      ues: servedUes(packing).size,
      workers: workers.length,
      served: serve.size,
      units,
    };
    this.hooks.onPacking(report);
  }

  /** Coalesces changes: one reconcile at a time, and one more if something changed meanwhile. */
  private scheduleReconcile(): void {
    if (this.closing !== undefined) return;
    if (this.reconciling !== undefined) {
      this.again = true;
      return;
    }
    this.reconciling = (async () => {
      do {
        this.again = false;
        await this.reconcile().catch((error: unknown) =>
          this.hooks.onError(asError(error), 'reconciling queues'),
        );
      } while (this.again && this.closing === undefined);
    })().finally(() => {
      this.reconciling = undefined;
    });
  }

  /**
   * Opens a Worker per UE this worker has a share of (concurrency = share); stops Workers of UEs
   * another worker now serves; keeps (or opens) a Worker of concurrency 1 on a UE nobody serves
   * while its queue still holds jobs, and stops it once drained and, if it served the UE here,
   * once `drainGraceMs` passed since it stopped serving. The unit cap bounds them all.
   */
  private async reconcile(): Promise<void> {
    const packing = this.fleet.packing();
    const plan = planQueues(packing, this.id, [...this.queues.ues(), ...this.fleet.ues()]);
    this.shares = plan.serve;
    for (const [ue, share] of plan.serve) this.queues.run(ue, share, 'serving');
    this.warmup.serve([...plan.serve.keys()].flatMap((ue) => this.fleet.tailOf(ue) ?? []));
    for (const ue of plan.stop) this.queues.stop(ue);
    this.reportPacking(packing, plan.serve);
    const backlogs = await Promise.all(
      plan.unserved.map((ue) =>
        this.queues.backlog(ue).catch((error: unknown) => {
          this.hooks.onError(asError(error), `counting jobs of ${ue}`);
          return undefined;
        }),
      ),
    );
    if (this.closing !== undefined) return;
    // Messages may have changed the packing while the counts were on their way: a UE served
    // now is left to the next pass, which that change has scheduled.
    const servedNow = servedUes(this.fleet.packing());
    plan.unserved.forEach((ue, i) => {
      const backlog = backlogs[i];
      if (backlog === undefined || servedNow.has(ue)) return;
      // A Worker that served the UE here keeps going for the grace period: a request sent just
      // before the UE learnt it lost its units then finds it, not a queue without one.
      const servedUntil = this.queues.servedUntil(ue);
      const inGrace =
        this.queues.modeOf(ue) === 'serving' ||
        (servedUntil !== undefined && Date.now() - servedUntil < this.config.drainGraceMs);
      if (backlog > 0 || inGrace) this.queues.run(ue, 1, 'draining');
      else this.queues.stop(ue);
    });
  }
}
