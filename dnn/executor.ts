import { EdgesplitError, type ErrorOptions } from '../proto/index.js';
import type { Tensor } from '../proto/schemas/tensor.js';

/** One segment of a model to run: from cut `from` to cut `to` (from < to) on one sample. */
export interface SegmentRequest {
  readonly model: string;
  readonly from: number;
  readonly to: number;
  readonly input: Tensor;
}

/**
 * Runs model segments. Agents run heads (0 to p), edge workers run tails (p to L). `emulated`
 * sleeps the profiled time; `onnx` runs real inference. Both return a tensor of the real shape.
 */
export interface Executor {
  readonly kind: 'emulated' | 'onnx';
  run(request: SegmentRequest): Promise<Tensor>;
  /**
   * Prepares a segment ahead of its first run (e.g. opens its ONNX Runtime session), so that
   * the first task after a new decision does not pay for it. Optional.
   */
  warm?(model: string, from: number, to: number): Promise<void>;
  close(): Promise<void>;
}

/** A named error for segments an executor cannot run (unknown model, bad cut range, bad input). */
export class SegmentError extends EdgesplitError<'SEGMENT_UNRUNNABLE'> {
  constructor(message: string, options?: ErrorOptions) {
    super('SEGMENT_UNRUNNABLE', message, options);
    this.name = 'SegmentError';
  }
}
