import { EdgesplitError, type ErrorCode } from '../proto/index.js';

/** Options of `startEdgeWorker` that cannot be acted on (bad id, units, model, timing). */
export class EdgeWorkerOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EdgeWorkerOptionsError';
  }
}

/** Why a tail job cannot be answered with a result. */
export type TailFailure =
  | 'badJob'
  | 'tensorMissing'
  | 'tensorMismatch'
  | 'modelNotServed'
  | 'segment'
  | 'executor';

/**
 * The code the UE is told for each failure, in one table. proto/ has no code for "tensor gone"
 * or "tail crashed" yet, so everything maps to INVALID_PAYLOAD; the message says which it was.
 */
export const TAIL_FAILURE_CODES: Readonly<Record<TailFailure, ErrorCode>> = {
  badJob: 'INVALID_PAYLOAD',
  tensorMissing: 'INVALID_PAYLOAD',
  tensorMismatch: 'INVALID_PAYLOAD',
  modelNotServed: 'INVALID_PAYLOAD',
  segment: 'INVALID_PAYLOAD',
  executor: 'INVALID_PAYLOAD',
};

/**
 * A tail job that can never succeed: the UE gets an `error` naming the request, and the job
 * fails without a retry.
 */
export class TailJobError extends EdgesplitError {
  readonly failure: TailFailure;
  constructor(failure: TailFailure, message: string, options?: { cause?: unknown }) {
    super(TAIL_FAILURE_CODES[failure], message, options);
    this.name = 'TailJobError';
    this.failure = failure;
  }
}
