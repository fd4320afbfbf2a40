import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { ueQueueName } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import type { RedisClient } from '../runtime/redis-connect.js';

/** Why a queue has a Worker: its share of the UE's units, or leftovers of an unserved UE. */
export type QueueMode = 'serving' | 'draining';

/** Options of {@link QueueWorkers}. */
export interface QueueWorkersOptions {
  /**
   * Shared by every Worker's regular commands and by the backlog queries; BullMQ leaves it
   * open on close. Each Worker still opens one blocking connection of its own (a duplicate).
   * Must have `maxRetriesPerRequest: null`, which BullMQ requires of blocking duplicates.
   */
  readonly connection: RedisClient;
  readonly prefix: string;
  /** Stored on each job BullMQ runs (`processedBy`). */
  readonly workerName: string;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
  /** Runs one job of `ue`'s queue; what it returns is not stored (results travel over MQTT). */
  process(ue: string, job: Job): Promise<void>;
  /** A job reached a final state: completed (`error` undefined) or failed for good. */
  onFinished(ue: string, job: Job, error: Error | undefined): void;
  onError(error: Error, context: string): void;
}

interface OpenWorker {
  readonly worker: Worker;
  mode: QueueMode;
  /** When it went from serving to draining (its UE lost its units here), if it did. */
  servedUntil?: number | undefined;
}

/** One BullMQ Worker per UE queue this process takes jobs from, opened and closed on demand. */
export class QueueWorkers {
  private readonly open = new Map<string, OpenWorker>();
  private readonly closing = new Set<Promise<void>>();
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly options: QueueWorkersOptions) {}

  /** UEs whose queue has an open Worker. */
  ues(): string[] {
    return [...this.open.keys()];
  }

  modeOf(ue: string): QueueMode | undefined {
    return this.open.get(ue)?.mode;
  }

  /** When `ue`'s Worker stopped serving and began draining; undefined if it never served. */
  servedUntil(ue: string): number | undefined {
    return this.open.get(ue)?.servedUntil;
  }

  /** Concurrency of `ue`'s Worker, 0 without one. */
  concurrencyOf(ue: string): number {
    return this.open.get(ue)?.worker.concurrency ?? 0;
  }

  /** Opens `ue`'s Worker, or retunes the open one (BullMQ applies it at its next fetch). */
  run(ue: string, concurrency: number, mode: QueueMode): void {
    const current = this.open.get(ue);
    if (current !== undefined) {
      if (current.worker.concurrency !== concurrency) current.worker.concurrency = concurrency;
      if (mode === 'serving') current.servedUntil = undefined;
      else if (current.mode === 'serving') current.servedUntil = Date.now();
      current.mode = mode;
      return;
    }
    this.open.set(ue, { worker: this.createWorker(ue, concurrency), mode });
  }

  /** Stops taking jobs from `ue`'s queue; jobs in flight finish (see {@link idle}). */
  stop(ue: string): void {
    const current = this.open.get(ue);
    if (current === undefined) return;
    this.open.delete(ue);
    const closed = current.worker
      .close()
      .catch((error: unknown) => this.options.onError(asError(error), `closing queue of ${ue}`))
      .finally(() => this.closing.delete(closed));
    this.closing.add(closed);
  }

  /** Resolves once every Worker being stopped has finished its jobs and closed. */
  async idle(): Promise<void> {
    while (this.closing.size > 0) await Promise.all(this.closing);
  }

  /**
   * Jobs of `ue`'s queue that still need a worker: waiting, prioritized, delayed, or active
   * (an active job of a dead worker only comes back through some Worker's stalled check).
   */
  async backlog(ue: string): Promise<number> {
    let queue = this.queues.get(ue);
    if (queue === undefined) {
      queue = new Queue(ueQueueName(ue), {
        connection: this.options.connection,
        prefix: this.options.prefix,
      });
      queue.on('error', (error) => this.options.onError(error, `queue of ${ue}`));
      this.queues.set(ue, queue);
    }
    return queue.getJobCountByTypes('wait', 'prioritized', 'delayed', 'active');
  }

  /** Stops every Worker, waits for their jobs, and closes the backlog queues. */
  async close(): Promise<void> {
    for (const ue of [...this.open.keys()]) this.stop(ue);
    await this.idle();
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }

  private createWorker(ue: string, concurrency: number): Worker {
    const { options } = this;
    const worker = new Worker(ueQueueName(ue), (job: Job) => options.process(ue, job), {
      connection: options.connection,
      prefix: options.prefix,
      name: options.workerName,
      concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
    });
    worker.on('completed', (job) => options.onFinished(ue, job, undefined));
    worker.on('failed', (job, error) => {
      // `failed` also fires for a job that will be retried; only a final failure counts.
      if (job !== undefined && (typeof job.finishedOn === 'number' || isUnrecoverable(error)))
        options.onFinished(ue, job, error);
    });
    worker.on('error', (error) => options.onError(error, `worker of ${ue}`));
    return worker;
  }
}

function isUnrecoverable(error: Error): boolean {
  return error instanceof UnrecoverableError || error.name === 'UnrecoverableError';
}
