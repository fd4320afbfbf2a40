/**
 * What passes between an `OnnxThreadPool` and its worker threads: a segment to run, and the
 * tensor or the error that comes back. Plain data, structured-cloned.
 */
import { asError } from '../runtime/as-error.js';
import { SegmentError } from './executor.js';

/** Settings every thread of a pool opens its sessions with (the pool's `workerData`). */
export interface OnnxThreadSettings {
  readonly threads: number;
  /** The pool's warm-up `BroadcastChannel` (`onnx-thread-warmup.ts`). */
  readonly warmupChannel: string;
  readonly seed?: number;
  readonly root?: string;
  readonly maxSessions?: number;
}

export interface OnnxThreadTask {
  readonly model: string;
  readonly from: number;
  readonly to: number;
  readonly input: { readonly shape: readonly number[]; readonly data: Float32Array };
}

export type OnnxThreadReply =
  | { readonly ok: true; readonly shape?: readonly number[]; readonly data?: Float32Array }
  | ({ readonly ok: false } & ThreadFailure);

/** An error as a thread sends it back: its message, and whether it is a `SegmentError`. */
export interface ThreadFailure {
  readonly segment: boolean;
  readonly message: string;
}

export function failureOf(error: unknown): ThreadFailure {
  return { segment: error instanceof SegmentError, message: asError(error).message };
}

/** The error a thread's failure stands for, on the pool's side. */
export function errorOf(failure: ThreadFailure): Error {
  return failure.segment ? new SegmentError(failure.message) : new Error(failure.message);
}
