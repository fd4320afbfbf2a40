/**
 * What passes between an `OnnxThreadPool` and its worker threads: a segment to run, and the
 * tensor or the error that comes back. Plain data, structured-cloned.
 */

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
  | { readonly ok: false; readonly segment: boolean; readonly message: string };
