import { z } from 'zod';
import {
  idSchema,
  nonNegativeInt,
  nonNegativeMs,
  solverNameSchema,
  timestampMs,
} from './common.js';

/** Payload of `scheduler/status` (retained): who leads and how the last solve went. */
export const schedulerStatusSchema = z.object(
  {
    leaderId: idSchema,
    epoch: nonNegativeInt,
    /** Online UEs in the last solve. */
    ues: nonNegativeInt,
    /** Edge units `R` in the last solve. */
    units: nonNegativeInt,
    lastSolveMs: nonNegativeMs,
    /** Largest predicted latency of the last solve; null before the first solve or with no UEs. */
    maxPredictedMs: nonNegativeMs.nullable(),
    solver: solverNameSchema,
    at: timestampMs,
  },
  {
    error:
      'must be an object { leaderId, epoch, ues, units, lastSolveMs, maxPredictedMs, solver, at }',
  },
);

export type SchedulerStatus = z.output<typeof schedulerStatusSchema>;
