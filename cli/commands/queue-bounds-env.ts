/** The ingress's queue bounds from the environment (`edgesplit broker` and `edgesplit ingress`). */
import type { IntakeOptions } from '../../broker/index.js';
import { envValue } from '../../runtime/env.js';

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

/** The bounds set in the environment; throws an Error naming a variable that is not a count. */
export function queueBoundsFromEnv(): Bounds {
  const read = (name: string): number | undefined => {
    const text = envValue(name);
    if (text === undefined) return undefined;
    if (!/^\d{1,12}$/.test(text) || Number(text) < 1)
      throw new Error(`${name} must be a positive whole number, not ${JSON.stringify(text)}`);
    return Number(text);
  };
  const jobs = read(QUEUE_BOUNDS_ENV.maxWaitingJobs);
  const bytes = read(QUEUE_BOUNDS_ENV.maxWaitingBytes);
  const ttl = read(QUEUE_BOUNDS_ENV.jobTtl);
  return {
    ...(jobs === undefined ? {} : { maxWaitingJobs: jobs }),
    ...(bytes === undefined ? {} : { maxWaitingBytes: bytes }),
    // The tensors must outlive their jobs: see IntakeOptions.claimTtlSeconds.
    ...(ttl === undefined ? {} : { jobTtlSeconds: ttl, claimTtlSeconds: Math.max(ttl, 600) }),
  };
}
