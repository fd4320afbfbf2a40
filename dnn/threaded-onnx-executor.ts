/**
 * The `onnx` executor agents and edge workers use: segments run in an `OnnxThreadPool` (its own,
 * or one shared by several executors, as a fleet's devices share this machine), so inference
 * never holds the thread that speaks MQTT and Redis.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tensor } from '../proto/schemas/tensor.js';
import type { Executor, SegmentRequest } from './executor.js';
import { OnnxThreadPool, type OnnxThreadPoolOptions } from './onnx-thread-pool.js';

/** Options of `ThreadedOnnxExecutor`. */
export interface ThreadedOnnxExecutorOptions extends OnnxThreadPoolOptions {
  /** Runs on this pool, which the caller closes; the pool options are then ignored. */
  readonly pool?: OnnxThreadPool;
  /**
   * Stands for a device of known speed: each run lasts at least this many ms (from a measured
   * profile times the device's slowdown), waiting after the real computation when it was faster,
   * so a head on a loaded test machine still takes the device's time.
   * @defaultValue none
   */
  readonly targetMs?: (model: string, from: number, to: number) => number;
}

export class ThreadedOnnxExecutor implements Executor {
  readonly kind = 'onnx';
  private readonly pool: OnnxThreadPool;
  private readonly ownsPool: boolean;
  private readonly targetMs: ThreadedOnnxExecutorOptions['targetMs'];

  constructor(options: ThreadedOnnxExecutorOptions = {}) {
    this.ownsPool = options.pool === undefined;
    this.pool = options.pool ?? new OnnxThreadPool(options);
    this.targetMs = options.targetMs;
  }

  async run(request: SegmentRequest): Promise<Tensor> {
    const started = performance.now();
    const output = await this.pool.run(request);
    if (this.targetMs !== undefined) {
      const target = this.targetMs(request.model, request.from, request.to);
      const wait = target - (performance.now() - started);
      if (wait > 0) await sleep(wait);
    }
    return output;
  }

  /** Opens a segment's session on every thread of the pool ahead of the first request. */
  async warm(model: string, from: number, to: number): Promise<void> {
    await this.pool.warm(model, from, to);
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.close();
  }
}
