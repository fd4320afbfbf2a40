import { z } from 'zod';
import { nonNegativeInt, nonNegativeMs, timestampMs } from './common.js';

/** Longest window a `stats` message may summarise: one hour. */
export const MAX_STATS_WINDOW_MS = 3_600_000;

/** How often the agent publishes its `stats` by default. */
export const STATS_INTERVAL_MS = 2_000;

/**
 * Payload of `ue/{ue}/stats` (not retained): what the UE measured over the tasks that finished
 * in the last `windowMs`, for observers (the dashboard). Nothing in the fleet acts on it.
 * Quantiles are `stats/quantile.ts`'s (linear interpolation); null when no task finished.
 */
export const ueStatsSchema = z.object(
  {
    at: timestampMs,
    /** Length of the window summarised. */
    windowMs: z
      .number({ error: `must be a finite number > 0 and <= ${MAX_STATS_WINDOW_MS}` })
      .gt(0, { error: `must be a finite number > 0 and <= ${MAX_STATS_WINDOW_MS}` })
      .max(MAX_STATS_WINDOW_MS, {
        error: `must be a finite number > 0 and <= ${MAX_STATS_WINDOW_MS}`,
      }),
    /** Tasks that finished in the window, and of those, how many had a failed sample. */
    tasks: nonNegativeInt,
    failed: nonNegativeInt,
    /** Task latency measured by the UE (start to last result), median and 99th percentile. */
    p50Ms: nonNegativeMs.nullable(),
    p99Ms: nonNegativeMs.nullable(),
    /** The latest finished task: its measured and its predicted (the decision's) latency. */
    lastMs: nonNegativeMs.nullable(),
    predictedMs: nonNegativeMs.nullable(),
    /** Tasks finished since the UE started. */
    totalTasks: nonNegativeInt,
  },
  {
    error:
      'must be an object { at, windowMs, tasks, failed, p50Ms, p99Ms, lastMs, predictedMs, totalTasks }',
  },
);

export type UeStats = z.output<typeof ueStatsSchema>;
