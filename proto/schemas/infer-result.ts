import { z } from 'zod';
import { idSchema, nonNegativeInt, nonNegativeMs, timestampMs } from './common.js';
import { tensorSchema } from './tensor.js';

/** Where an edge worker's time for one request went. */
export const inferTimingsSchema = z.object(
  {
    /** From the job entering the UE's queue to a worker starting it. */
    queueMs: nonNegativeMs,
    /** Running the tail. */
    computeMs: nonNegativeMs,
  },
  { error: 'must be an object { queueMs, computeMs }' },
);

export type InferTimings = z.output<typeof inferTimingsSchema>;

/** Payload of `ue/{ue}/result`: the tail's output for one request. */
export const inferResultSchema = z.object(
  {
    requestId: idSchema,
    epoch: nonNegativeInt,
    cut: nonNegativeInt,
    sample: nonNegativeInt,
    worker: idSchema,
    tensor: tensorSchema,
    timings: inferTimingsSchema,
    /**
     * When the edge finished the tail (its clock, ms since the epoch). Optional (older workers
     * omit it): a UE measuring its link times the downlink by results that left together.
     */
    finishedAt: timestampMs.optional(),
  },
  {
    error:
      'must be an object { requestId, epoch, cut, sample, worker, tensor, timings, finishedAt? }',
  },
);

export type InferResult = z.output<typeof inferResultSchema>;
