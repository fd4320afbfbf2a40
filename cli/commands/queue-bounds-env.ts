/** The ingress's queue bounds from the environment (`edgesplit broker` and `edgesplit ingress`). */
import type { IntakeOptions } from '../../broker/index.js';
import { parseBytes, parseEnv, wholeNumberParser } from '../options.js';

/** Environment variables of the queue bounds (docs/security.md). */
export const QUEUE_BOUNDS_ENV = {
  /** Most requests one UE may have stored and not finished. */
  maxWaitingJobs: 'EDGESPLIT_MAX_WAITING_JOBS',
  /** Most tensor bytes one UE may have stored and not finished. */
  maxWaitingBytes: 'EDGESPLIT_MAX_WAITING_BYTES',
  /** Seconds a job may wait unstarted before it is removed and its UE told. */
  jobTtl: 'EDGESPLIT_JOB_TTL',
} as const;

export const QUEUE_BOUNDS_HELP =
  `${QUEUE_BOUNDS_ENV.maxWaitingJobs} (64), ${QUEUE_BOUNDS_ENV.maxWaitingBytes} (33554432), ` +
  `${QUEUE_BOUNDS_ENV.jobTtl} (120 s): per-UE bounds of what waits in Redis`;

type Bounds = Pick<
  IntakeOptions,
  'maxWaitingJobs' | 'maxWaitingBytes' | 'jobTtlSeconds' | 'claimTtlSeconds'
>;

/** The bounds set in the environment; throws an `OptionError` naming a variable that is bad. */
export function queueBoundsFromEnv(): Bounds {
  const jobs = parseEnv(QUEUE_BOUNDS_ENV.maxWaitingJobs, wholeNumberParser(1, 12));
  const bytes = parseEnv(QUEUE_BOUNDS_ENV.maxWaitingBytes, parseBytes);
  const ttl = parseEnv(QUEUE_BOUNDS_ENV.jobTtl, wholeNumberParser(1, 12, 'seconds'));
  return {
    ...(jobs === undefined ? {} : { maxWaitingJobs: jobs }),
    ...(bytes === undefined ? {} : { maxWaitingBytes: bytes }),
    // The tensors must outlive their jobs: see IntakeOptions.claimTtlSeconds.
    ...(ttl === undefined ? {} : { jobTtlSeconds: ttl, claimTtlSeconds: Math.max(ttl, 600) }),
  };
}
