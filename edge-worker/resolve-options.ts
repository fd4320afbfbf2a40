/** The edge worker's defaults, and the check of every option a caller passes. */
import { hasModel } from '../dnn/index.js';
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
import { defaultEdgeModels } from './edge-status.js';
import { EdgeWorkerOptionsError } from './errors.js';
import type { EdgeWorkerOptions } from './options.js';

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

/** The integer settings checked to be at least 1. */
type IntegerSetting =
  | 'lockDurationMs'
  | 'stalledIntervalMs'
  | 'keepaliveSeconds'
  | 'drainCheckMs'
  | 'drainGraceMs'
  | 'announceMs';

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
  /** An integer setting of at least 1: the option given, else its default. */
  const positiveSetting = (name: IntegerSetting, max?: number) =>
    positiveInt(name, options[name] ?? EDGE_WORKER_DEFAULTS[name], max);
  const announceMs = positiveSetting('announceMs');
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
    lockDurationMs: positiveSetting('lockDurationMs'),
    stalledIntervalMs: positiveSetting('stalledIntervalMs'),
    maxStalledCount,
    keepaliveSeconds: positiveSetting('keepaliveSeconds', 65_535),
    drainCheckMs: positiveSetting('drainCheckMs'),
    drainGraceMs: positiveSetting('drainGraceMs'),
    announceMs,
    edgeStatusExpiryMs,
    ...(options.claimDir === undefined ? {} : { claimDir: options.claimDir }),
  };
}
