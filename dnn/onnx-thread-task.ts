/**
 * What passes between an `OnnxThreadPool` and its worker threads: a segment to run (or to open
 * ahead of use), and the tensor or the error that comes back. Plain data, structured-cloned.
 */

/** Settings every thread of a pool opens its sessions with (the pool's `workerData`). */
export interface OnnxThreadSettings {
  readonly threads: number;
  readonly seed?: number;
  readonly root?: string;
}

export interface OnnxThreadTask {
  readonly model: string;
  readonly from: number;
  readonly to: number;
  /** Omitted: only open the segment's session. */
  readonly input?: { readonly shape: readonly number[]; readonly data: Float32Array };
}

export type OnnxThreadReply =
  | { readonly ok: true; readonly shape?: readonly number[]; readonly data?: Float32Array }
  | { readonly ok: false; readonly segment: boolean; readonly message: string };
