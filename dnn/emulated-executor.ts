import { setTimeout as sleep } from 'node:timers/promises';
import type { Tensor } from '../proto/schemas/tensor.js';
import { defined } from '../runtime/defined.js';
import { type Executor, SegmentError, type SegmentRequest } from './executor.js';
import { hasModel, modelCuts } from './zoo.js';

/** Options of the emulated executor. */
export interface EmulatedExecutorOptions {
  /**
   * Milliseconds one sample takes from cut `from` to cut `to` of `model` on this side: for a
   * device, deviceMs[to] − deviceMs[from]; for the edge, edgeMs[from] − edgeMs[to].
   */
  segmentMs(model: string, from: number, to: number): number;
  /** Multiplies every sleep (e.g. 0 for zero-compute benchmarks). @defaultValue 1 */
  speedFactor?: number;
}

/**
 * Sleeps the profiled time of a segment and returns a deterministic tensor of the real output
 * shape (a function of the input), so hundreds of devices fit on one machine.
 */
export class EmulatedExecutor implements Executor {
  readonly kind = 'emulated';
  private readonly speed: number;

  constructor(private readonly options: EmulatedExecutorOptions) {
    this.speed = options.speedFactor ?? 1;
  }

  async run(request: SegmentRequest): Promise<Tensor> {
    const { model, from, to, input } = request;
    if (!hasModel(model)) throw new SegmentError(`unknown model "${model}"`);
    const cuts = modelCuts(model);
    if (
      !(
        Number.isInteger(from) &&
        Number.isInteger(to) &&
        from >= 0 &&
        from < to &&
        to < cuts.length
      )
    ) {
      throw new SegmentError(
        `model "${model}" has cuts 0..${cuts.length - 1}: cannot run ${from} to ${to}`,
      );
    }
    const fromCut = defined(cuts[from], `cut ${from} of model "${model}"`);
    const toCut = defined(cuts[to], `cut ${to} of model "${model}"`);
    const expected = fromCut.bytes / 4;
    if (input.data.length !== expected) {
      throw new SegmentError(
        `model "${model}" expects ${expected} elements at cut ${from} ("${fromCut.name}"), got ${input.data.length}`,
      );
    }
    const ms = this.options.segmentMs(model, from, to) * this.speed;
    if (ms > 0) await sleep(ms);
    const shape = [...toCut.shape];
    return { dtype: 'float32', shape, data: deterministicOutput(input.data, toCut.bytes / 4) };
  }

  async close(): Promise<void> {}
}

/** A cheap, deterministic function of the input: equal inputs give equal outputs. */
function deterministicOutput(input: Float32Array, length: number): Float32Array {
  let seed = 0;
  const step = Math.max(1, Math.floor(input.length / 64));
  for (let k = 0; k < input.length; k += step)
    seed = (seed * 31 + Math.round(defined(input[k], 'an input element') * 1000)) | 0;
  const out = new Float32Array(length);
  for (let k = 0; k < length; k++) out[k] = (((seed + k * 2654435761) >>> 0) % 1000) / 1000;
  return out;
}
