/**
 * Gives every tail job a bounded life. BullMQ keeps a waiting job until a worker takes it, and
 * drops old finished ones only as later jobs of the same queue finish, so a UE that lost its
 * units, or one that went quiet, would leave jobs in Redis for ever. Every sweep, for each UE
 * queue the ingress has fed (`sweptQueuesKey`): jobs waiting longer than the job life are
 * removed, their tensors deleted and their UE told (`EXPIRED`); finished jobs older than their
 * kept age are removed; a UE fed nothing for longer than all of these is forgotten.
 */

import {
  COMPLETED_JOB_AGE_SECONDS,
  claimKey,
  EdgesplitError,
  encodeMessage,
  errorReportFrom,
  FAILED_JOB_AGE_SECONDS,
  sweptQueuesKey,
  ueTopic,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import type { ClaimFiles } from '../runtime/claim-files.js';
import type { RedisClient } from '../runtime/redis-connect.js';
import type { Backlog } from './backlog.js';
import type { Logger } from './log.js';
import type { QueueCache } from './queue-cache.js';

/** States of a job no worker has started. */
const UNSTARTED = ['wait', 'prioritized', 'delayed', 'paused'] as const;
/** Most jobs removed per queue, state and sweep. */
const CLEAN_LIMIT = 1000;

/** What `QueueSweeper` needs. */
export interface QueueSweeperOptions {
  readonly redis: RedisClient;
  readonly queues: QueueCache;
  readonly backlog: Backlog;
  readonly redisPrefix: string;
  readonly topicPrefix: string;
  /** A job not started after this long is removed, ms. */
  readonly jobLifeMs: number;
  /** Time between sweeps, ms. */
  readonly intervalMs: number;
  publish(topic: string, payload: Buffer): void;
  readonly logger: Logger;
  /**
   * The claim directory, if tensors are in files: an expired job's file goes with its claim key,
   * and files older than `lifeMs` (the claim TTL) are swept.
   */
  readonly claimDir?: { readonly files: ClaimFiles; readonly lifeMs: number };
}

export class QueueSweeper {
  readonly #options: QueueSweeperOptions;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #expired = 0;

  constructor(options: QueueSweeperOptions) {
    this.#options = options;
    this.#timer = setInterval(() => void this.sweep(), options.intervalMs);
    this.#timer.unref();
  }

  /** Jobs removed because they waited too long, since start. */
  get expired(): number {
    return this.#expired;
  }

  /** Sweeps now (or waits for the sweep under way). Never rejects. */
  sweep(): Promise<void> {
    this.#running ??= this.#sweep()
      .catch((error: unknown) => this.#options.logger.warn(`sweep: ${asError(error).message}`))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** Stops sweeping; waits for a sweep under way. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async #sweep(): Promise<void> {
    const { redis, redisPrefix, jobLifeMs } = this.#options;
    const registry = sweptQueuesKey(redisPrefix);
    const now = Date.now();
    const forgetMs =
      Math.max(jobLifeMs, COMPLETED_JOB_AGE_SECONDS * 1000, FAILED_JOB_AGE_SECONDS * 1000) +
      jobLifeMs;
    await redis.zremrangebyscore(registry, '-inf', now - forgetMs);
    const ues = await redis.zrange(registry, 0, -1);
    for (const ue of ues) await this.#sweepQueue(ue);
    // Tensors whose request ended without its cleanup (a process killed between the steps).
    const { claimDir } = this.#options;
    if (claimDir !== undefined) await claimDir.files.sweep(claimDir.lifeMs);
  }

  async #sweepQueue(ue: string): Promise<void> {
    const { queues, jobLifeMs } = this.#options;
    const queue = queues.acquire(ue);
    try {
      const expired: string[] = [];
      for (const state of UNSTARTED)
        expired.push(...(await queue.clean(jobLifeMs, CLEAN_LIMIT, state)));
      await queue.clean(COMPLETED_JOB_AGE_SECONDS * 1000, CLEAN_LIMIT, 'completed');
      await queue.clean(FAILED_JOB_AGE_SECONDS * 1000, CLEAN_LIMIT, 'failed');
      for (const jobId of expired) await this.#expire(ue, jobId);
    } finally {
      queues.release(ue);
    }
  }

  /** Drops an expired job's tensor and backlog place, and tells its UE. */
  async #expire(ue: string, jobId: string): Promise<void> {
    const { redis, redisPrefix, topicPrefix, backlog, jobLifeMs } = this.#options;
    // Job ids are `tailJobId(ue, requestId)`.
    const requestId = jobId.slice(ue.length + 1);
    await redis.del(claimKey(redisPrefix, ue, requestId));
    this.#options.claimDir?.files.remove(claimKey(redisPrefix, ue, requestId));
    await backlog.release(ue, requestId);
    this.#expired += 1;
    const error = new EdgesplitError(
      'EXPIRED',
      `request ${requestId} waited ${Math.round(jobLifeMs / 1000)} s in the queue and was dropped: no edge worker took it`,
    );
    const report = errorReportFrom(error, { requestId });
    this.#options.publish(ueTopic(topicPrefix, ue, 'error'), encodeMessage(report));
  }
}
