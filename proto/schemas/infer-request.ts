import { z } from 'zod';
import { idSchema, nonNegativeInt, timestampMs } from './common.js';
import { tensorSchema } from './tensor.js';

/** Payload of `ue/{ue}/infer`: the head's output for one sample, to be finished on the edge. */
export const inferRequestSchema = z.object(
  {
    requestId: idSchema,
    /** Epoch of the decision the head ran under: the request finishes under this cut. */
    epoch: nonNegativeInt,
    model: idSchema,
    cut: nonNegativeInt,
    /** Index of the sample within its task (0..batch-1). */
    sample: nonNegativeInt,
    tensor: tensorSchema,
    sentAt: timestampMs,
  },
  { error: 'must be an object { requestId, epoch, model, cut, sample, tensor, sentAt }' },
);

export type InferRequest = z.output<typeof inferRequestSchema>;
