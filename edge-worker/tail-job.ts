import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { type Executor, hasModel, modelCuts, SegmentError } from '../dnn/index.js';
import {
  claimKey,
  elementCount,
  fastTailJobData,
  float32FromBytes,
  type InferResult,
  idSchema,
  MAX_TENSOR_DIMS,
  nonNegativeInt,
  type TailJobData,
  type Tensor,
  timestampMs,
  type Validated,
  validate,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { TailJobError } from './errors.js';

// Job data comes back from Redis as JSON: checked like any payload before it is trusted.
export const tailJobDataSchema = z.object({
  ue: idSchema,
  requestId: idSchema,
  epoch: nonNegativeInt,
  model: idSchema,
  cut: nonNegativeInt,
  sample: nonNegativeInt,
  claimKey: z.string().min(1).max(1024),
  dtype: z.literal('float32'),
  shape: z.array(nonNegativeInt).min(1).max(MAX_TENSOR_DIMS),
  sentAt: timestampMs,
  enqueuedAt: timestampMs,
});

/** Validates a job's data against the queue contract (`proto/jobs.ts`) without throwing. */
export function parseTailJobData(data: unknown): Validated<TailJobData> {
  // A plainly valid job skips zod; any other gets zod's error (proto/fast-check.ts).
  const fast = fastTailJobData(data);
  if (fast !== undefined) return { ok: true, value: fast };
  return validate(tailJobDataSchema, data, 'job.data');
}

/** The request id of a job's data even when the rest is invalid, so the UE can be told. */
export function requestIdOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const requestId: unknown = (data as { requestId?: unknown }).requestId;
  return typeof requestId === 'string' ? requestId : undefined;
}

/** A float32 tensor over raw little-endian bytes (a view when they are aligned, else a copy). */
export function tensorFromBytes(bytes: Uint8Array, shape: readonly number[]): Tensor {
  const expected = elementCount(shape);
  if (bytes.byteLength !== expected * 4)
    throw new TailJobError(
      'tensorMismatch',
      'INVALID_PAYLOAD',
      `tensor holds ${bytes.byteLength} bytes, shape [${shape.join(', ')}] needs ${expected * 4}`,
    );
  return { dtype: 'float32', shape: [...shape], data: float32FromBytes(bytes) };
}

/** What running a tail needs from the process around it. */
export interface TailContext {
  readonly workerId: string;
  readonly redisPrefix: string;
  readonly executor: Executor;
  readonly models: ReadonlySet<string>;
  /** The claim-check bytes, or null if the key is gone. */
  loadTensor(key: string): Promise<Uint8Array | null>;
}

/**
 * Runs one tail job from its cut to the model's output and builds the result. Throws
 * {@link TailJobError} for jobs that can never succeed; `startedAt` is when the job got its slot.
 */
export async function runTailJob(
  job: TailJobData,
  context: TailContext,
  startedAt: number,
): Promise<InferResult> {
  if (!context.models.has(job.model) || !hasModel(job.model))
    throw new TailJobError(
      'modelNotServed',
      'TAIL_FAILED',
      `model "${job.model}" is not served by edge worker ${context.workerId}`,
    );
  const expectedKey = claimKey(context.redisPrefix, job.ue, job.requestId);
  if (job.claimKey !== expectedKey)
    throw new TailJobError(
      'badJob',
      'INVALID_PAYLOAD',
      `job.data.claimKey must be "${expectedKey}"`,
    );
  const last = modelCuts(job.model).length - 1;
  const bytes = await context.loadTensor(job.claimKey);
  if (bytes === null)
    throw new TailJobError(
      'tensorMissing',
      'TENSOR_MISSING',
      `the tensor of request ${job.requestId} is gone (claim-check key expired or never stored)`,
    );
  const input = tensorFromBytes(bytes, job.shape);
  const began = performance.now();
  let tensor: Tensor;
  try {
    tensor = await context.executor.run({ model: job.model, from: job.cut, to: last, input });
  } catch (cause) {
    const reason = asError(cause).message;
    if (cause instanceof SegmentError)
      throw new TailJobError('segment', 'INVALID_PAYLOAD', reason, { cause });
    throw new TailJobError('executor', 'TAIL_FAILED', `tail of ${job.model} failed: ${reason}`, {
      cause,
    });
  }
  const computeMs = performance.now() - began;
  return {
    requestId: job.requestId,
    epoch: job.epoch,
    cut: job.cut,
    sample: job.sample,
    worker: context.workerId,
    tensor,
    timings: { queueMs: Math.max(0, startedAt - job.enqueuedAt), computeMs },
    finishedAt: Date.now(),
  };
}
