/**
 * What both ingress front ends do with one `ue/{ue}/infer` message (docs/live-system.md, "Queue
 * contract"): validate it, store the tensor's raw float32 bytes under the claim key, and add the
 * tail job, which carries metadata only. The front end delivers messages and publishes answers.
 * This file assembles the parts: the options (intake-options.ts), the Redis connections
 * (intake-redis.ts), the UEs' decisions, queues, backlogs and sweeper, and the request pipeline
 * (intake-pipeline.ts, request-store.ts); and it keeps the requests in flight.
 */
import { logText } from '../runtime/log-text.js';
import { Backlog } from './backlog.js';
import { DecisionBook } from './decision-book.js';
import type { AnswerPublisher, InferIntake, IntakeCounts } from './intake-api.js';
import { type IntakeOptions, resolveIntakeOptions } from './intake-options.js';
import { IntakePipeline } from './intake-pipeline.js';
import { IntakeRedis } from './intake-redis.js';
import type { Logger } from './log.js';
import { QueueCache } from './queue-cache.js';
import { QueueSweeper } from './queue-sweeper.js';
import { RequestStore } from './request-store.js';

/**
 * Checks `options`, opens the Redis connections and the queue cache; `publish` sends answers to
 * UEs. Throws an OptionError (or a RangeError, a ClaimDirError) for an option that cannot be used.
 */
export function openInferIntake(
  options: IntakeOptions,
  publish: AnswerPublisher,
  logger: Logger,
): InferIntake {
  const settings = resolveIntakeOptions(options, logger);
  const { redisPrefix, topicPrefix, claimFiles: files } = settings;
  const decisions = new DecisionBook(topicPrefix, settings.drainMs, settings.decisionGraceMs);
  const connections = new IntakeRedis(settings.redisUrl, logger);
  const queues = new QueueCache({
    connection: connections.queues,
    prefix: redisPrefix,
    maxQueues: settings.maxQueues,
    idleMs: settings.queueIdleMs,
    logger,
  });
  const jobLifeMs = settings.jobTtlSeconds * 1000;
  const backlog = new Backlog(connections.commands, redisPrefix, {
    maxJobs: settings.maxWaitingJobs,
    maxBytes: settings.maxWaitingBytes,
    lifeMs: jobLifeMs,
  });
  const sweeper = new QueueSweeper({
    redis: connections.commands,
    queues,
    backlog,
    redisPrefix,
    topicPrefix,
    jobLifeMs,
    intervalMs: settings.sweepIntervalMs,
    publish,
    logger,
    ...(files === undefined
      ? {}
      : { claimDir: { files, lifeMs: settings.claimTtlSeconds * 1000 } }),
  });
  const counts: IntakeCounts = {
    accepted: 0,
    storedBytes: 0,
    duplicates: 0,
    answeredAgain: 0,
    rejected: 0,
    noUnits: 0,
    queueFull: 0,
    failed: 0,
  };
  const store = new RequestStore({
    connections,
    queues,
    backlog,
    redisPrefix,
    topicPrefix,
    claimTtlSeconds: settings.claimTtlSeconds,
    files,
    counts,
    publish,
    logger,
  });
  const pipeline = new IntakePipeline({
    connections,
    decisions,
    store,
    redisPrefix,
    topicPrefix,
    maxPayloadBytes: settings.maxPayloadBytes,
    redisTimeoutMs: settings.redisTimeoutMs,
    counts,
    publish,
    logger,
  });
  const inFlight = new Set<Promise<void>>();

  const take = (topic: string, payload: Buffer): Promise<void> => {
    const task = pipeline
      .handle(topic, payload)
      .catch((error: unknown) => logger.error(`handling ${logText(topic)}: ${String(error)}`))
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    return task;
  };

  return {
    take,
    observe: (topic, payload) => decisions.offer(topic, payload),
    sweep: () => sweeper.sweep(),
    get inFlight() {
      return inFlight.size;
    },
    redisConnected: () => connections.ready(),
    stats: () => ({
      ...counts,
      expired: sweeper.expired,
      inFlight: inFlight.size,
      openQueues: queues.size,
      decisions: decisions.size,
    }),
    close: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await sweeper.close();
      await queues.close();
      await connections.close();
    },
  };
}
