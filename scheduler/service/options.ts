import { hostname } from 'node:os';
import {
  assertTopicPrefix,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  EDGE_STATUS_EXPIRY_MS,
  isValidId,
  redisPrefixProblem,
  STATUS_EXPIRY_MS,
  TopicError,
} from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';
import { parseRedisUrl } from '../../runtime/redis-connect.js';
import { SOLVER_NAMES, type SolverName } from '../solvers/index.js';
import { SchedulerOptionsError } from './errors.js';
import type { ConcurrencyPort } from './ports.js';

/** Options of `startScheduler`. Environment variables are read by the CLI, not here. */
export interface SchedulerOptions {
  /**
   * Broker URL (`mqtt://`, `mqtts://`, `ws://`, `wss://`).
   * @defaultValue `'mqtt://127.0.0.1:1883'`
   */
  mqttUrl?: string;
  /** The scheduler role's MQTT user name. @defaultValue none */
  mqttUsername?: string;
  /** The scheduler role's MQTT password. @defaultValue none */
  mqttPassword?: string;
  /**
   * Redis URL for the UE queues' global concurrency; unused when `concurrency` is given.
   * @defaultValue `'redis://127.0.0.1:6379'`
   */
  redisUrl?: string;
  /** Topic prefix. @defaultValue `'edgesplit/v1'` (`DEFAULT_TOPIC_PREFIX`) */
  topicPrefix?: string;
  /** Redis key prefix, BullMQ's `prefix` too. @defaultValue `'edgesplit'` (`DEFAULT_REDIS_PREFIX`) */
  redisPrefix?: string;
  /** Solver run on every change. @defaultValue `'optimal'` */
  solver?: SolverName;
  /**
   * Coalescing window: a solve starts at least this many ms after the previous one ended and
   * takes every change that arrived meanwhile; a change after a longer quiet spell is solved at
   * once (with whatever arrived in the same socket read).
   * @defaultValue `2`
   */
  coalesceMs?: number;
  /**
   * A link estimate whose uplinkMbps, downlinkMbps and rttMs all moved by less than this
   * fraction (relative to the estimate last planned with) does not re-solve.
   * @defaultValue `0.1` (10%)
   */
  hysteresis?: number;
  /**
   * This scheduler's id, published as `leaderId` in `scheduler/status` (1-64 characters of
   * `[A-Za-z0-9._-]`).
   * @defaultValue `scheduler.{hostname}.{pid}`, sanitised
   */
  id?: string;
  /**
   * At start-up, retained messages are read until none arrived for this many ms (at most
   * 20 times as long, and at least 1 s); the first solve follows.
   * @defaultValue `50`
   */
  startupQuietMs?: number;
  /**
   * A UE whose status states a protocol version and has not been heard from for this many ms is
   * taken offline (status-expiry.ts); 0 turns it off.
   * @defaultValue `90000` (`STATUS_EXPIRY_MS`: three of the UEs' 30 s status refreshes)
   */
  statusExpiryMs?: number;
  /**
   * An edge worker whose `online` status has not been heard (live or replayed) for this many ms
   * is taken for offline: its units leave `R` until it announces itself again. Workers announce
   * every `EDGE_ANNOUNCE_MS` (10 s); 0 turns it off.
   * @defaultValue `30000` (`EDGE_STATUS_EXPIRY_MS`)
   */
  edgeStatusExpiryMs?: number;
  /**
   * After a failed `setGlobalConcurrency`, the fleet is re-solved (and the call retried) this
   * many ms later.
   * @defaultValue `1000`
   */
  retryMs?: number;
  /**
   * Publish only while this scheduler's `id` holds the leadership lock
   * (`{redisPrefix}:{scheduler}:leader`): every solve is checked against it before anything of it
   * is published, and a scheduler found deposed stops (`deposed` event). `startStandbyScheduler`
   * sets it; a scheduler started alone records its solves without the check.
   * @defaultValue `false`
   */
  fenced?: boolean;
  /**
   * Sets the UE queues' concurrency instead of the BullMQ adapter on `redisUrl`; the caller
   * owns it (`close` does not close it).
   * @defaultValue a `BullmqConcurrency` on its own Redis connection
   */
  concurrency?: ConcurrencyPort;
}

/** `SchedulerOptions` with every default filled in and every value checked. */
export interface ResolvedSchedulerOptions {
  readonly mqttUrl: string;
  readonly mqttUsername: string | undefined;
  readonly mqttPassword: string | undefined;
  readonly redisUrl: string;
  readonly topicPrefix: string;
  readonly redisPrefix: string;
  readonly solver: SolverName;
  readonly coalesceMs: number;
  readonly hysteresis: number;
  readonly id: string;
  readonly startupQuietMs: number;
  readonly statusExpiryMs: number;
  readonly edgeStatusExpiryMs: number;
  readonly retryMs: number;
  readonly fenced: boolean;
  readonly concurrency: ConcurrencyPort | undefined;
}

export const SCHEDULER_DEFAULTS = {
  mqttUrl: 'mqtt://127.0.0.1:1883',
  redisUrl: 'redis://127.0.0.1:6379',
  solver: 'optimal',
  coalesceMs: 2,
  hysteresis: 0.1,
  startupQuietMs: 50,
  statusExpiryMs: STATUS_EXPIRY_MS,
  edgeStatusExpiryMs: EDGE_STATUS_EXPIRY_MS,
  retryMs: 1000,
} as const;

/** `scheduler.{hostname}.{pid}`, with characters outside `[A-Za-z0-9._-]` replaced. */
export function defaultSchedulerId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 40) || 'host';
  return `scheduler.${host}.${process.pid}`;
}

function nonNegative(option: string, value: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max)
    throw new SchedulerOptionsError(option, `must be a number from 0 to ${max}, got ${value}`);
  return value;
}

/** Fills in defaults; throws SchedulerOptionsError for a value that cannot be used. */
export function resolveSchedulerOptions(options: SchedulerOptions = {}): ResolvedSchedulerOptions {
  const solver = options.solver ?? SCHEDULER_DEFAULTS.solver;
  if (!SOLVER_NAMES.includes(solver))
    throw new SchedulerOptionsError('solver', `must be one of ${SOLVER_NAMES.join(', ')}`);
  const id = options.id ?? defaultSchedulerId();
  if (!isValidId(id))
    throw new SchedulerOptionsError('id', 'must be 1-64 characters of [A-Za-z0-9._-]');
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  try {
    assertTopicPrefix(topicPrefix);
  } catch (error) {
    if (error instanceof TopicError) throw new SchedulerOptionsError('topicPrefix', error.message);
    throw error;
  }
  const redisPrefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  const prefixProblem = redisPrefixProblem(redisPrefix);
  if (prefixProblem !== undefined) throw new SchedulerOptionsError('redisPrefix', prefixProblem);
  const redisUrl = options.redisUrl ?? SCHEDULER_DEFAULTS.redisUrl;
  try {
    parseRedisUrl(redisUrl);
  } catch (error) {
    throw new SchedulerOptionsError('redisUrl', asError(error).message);
  }
  return {
    mqttUrl: options.mqttUrl ?? SCHEDULER_DEFAULTS.mqttUrl,
    mqttUsername: options.mqttUsername,
    mqttPassword: options.mqttPassword,
    redisUrl,
    topicPrefix,
    redisPrefix,
    solver,
    coalesceMs: nonNegative(
      'coalesceMs',
      options.coalesceMs ?? SCHEDULER_DEFAULTS.coalesceMs,
      60_000,
    ),
    hysteresis: nonNegative('hysteresis', options.hysteresis ?? SCHEDULER_DEFAULTS.hysteresis, 1e6),
    id,
    startupQuietMs: nonNegative(
      'startupQuietMs',
      options.startupQuietMs ?? SCHEDULER_DEFAULTS.startupQuietMs,
      60_000,
    ),
    statusExpiryMs: nonNegative(
      'statusExpiryMs',
      options.statusExpiryMs ?? SCHEDULER_DEFAULTS.statusExpiryMs,
      86_400_000,
    ),
    edgeStatusExpiryMs: nonNegative(
      'edgeStatusExpiryMs',
      options.edgeStatusExpiryMs ?? SCHEDULER_DEFAULTS.edgeStatusExpiryMs,
      86_400_000,
    ),
    retryMs: nonNegative('retryMs', options.retryMs ?? SCHEDULER_DEFAULTS.retryMs, 3_600_000),
    fenced: options.fenced ?? false,
    concurrency: options.concurrency,
  };
}
