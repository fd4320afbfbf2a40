import {
  EdgesplitError,
  type ErrorOptions,
  OptionError,
  type WireErrorCode,
} from '../proto/index.js';

/** Options of `startEdgeWorker` that cannot be acted on (bad id, units, model, timing). */
export class EdgeWorkerOptionsError extends OptionError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
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
 * A tail job that can never succeed: the UE gets an `error` with `code` (a wire code of
 * proto/errors.ts) naming the request, and the job fails without a retry. `failure` says which
 * step refused it.
 */
export class TailJobError extends EdgesplitError<WireErrorCode> {
  readonly failure: TailFailure;
  constructor(failure: TailFailure, code: WireErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'TailJobError';
    this.failure = failure;
  }
}
