import { performance } from 'node:perf_hooks';
import type { Tensor } from '../proto/schemas/tensor.js';
import { defined } from '../runtime/defined.js';
import { median } from '../stats/quantile.js';
import { OnnxExecutor } from './onnx-executor.js';
import type { MeasuredProfile } from './profile-file.js';
import { modelCuts } from './zoo.js';

export interface ProfileOptions {
  /** Timed runs per segment, after one warm-up run. @defaultValue 5 */
  readonly runs?: number;
  /** Intra-op threads per session. @defaultValue 1 */
  readonly threads?: number;
  /** Multiplies device (head) times, to stand for a weaker device. @defaultValue 1 */
  readonly slowdown?: number;
  /** An executor to measure with (its sessions are reused). @defaultValue a new one */
  readonly executor?: OnnxExecutor;
  /** Called after each measured segment with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** A fixed input with values in [0, 1), the same for every profile. */
function profileInput(shape: readonly number[]): Tensor {
  const count = shape.reduce((product, dim) => product * dim, 1);
  const data = new Float32Array(count);
  let state = 0x2545f491;
  for (let k = 0; k < count; k++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    data[k] = (state >>> 0) / 4294967296;
  }
  return { dtype: 'float32', shape: [...shape], data };
}

/**
 * Measures a zoo model with ONNX Runtime: per cut p, the median time of the head 0..p
 * (deviceMs, times `slowdown`) and of the tail p..L (edgeMs), one sample. A longer prefix cannot
 * take less time than a shorter one, so timing noise is removed by making deviceMs
 * non-decreasing and edgeMs non-increasing along the cuts (running max / min).
 */
export async function measureProfile(
  model: string,
  options: ProfileOptions = {},
): Promise<MeasuredProfile> {
  const runs = options.runs ?? 5;
  const threads = options.threads ?? 1;
  const slowdown = options.slowdown ?? 1;
  const cuts = modelCuts(model);
  const last = cuts.length - 1;
  const own = options.executor === undefined;
  const executor = options.executor ?? new OnnxExecutor({ threads });
  const total = 2 * last;
  let done = 0;
  const time = async (from: number, to: number, input: Tensor) => {
    let output = await executor.run({ model, from, to, input });
    const times: number[] = [];
    for (let run = 0; run < runs; run++) {
      const start = performance.now();
      output = await executor.run({ model, from, to, input });
      times.push(performance.now() - start);
    }
    options.onProgress?.(++done, total);
    return { ms: median(times) ?? Number.NaN, output };
  };
  try {
    const input = profileInput(defined(cuts[0], `the input cut of model "${model}"`).shape);
    const deviceMs = [0];
    const edgeMs: number[] = [];
    for (let cut = 1; cut <= last; cut++) deviceMs.push((await time(0, cut, input)).ms * slowdown);
    let activation = input;
    for (let cut = 0; cut < last; cut++) {
      edgeMs.push((await time(cut, last, activation)).ms);
      activation = await executor.run({ model, from: cut, to: cut + 1, input: activation });
    }
    edgeMs.push(0);
    const device = runningMax(deviceMs);
    const edge = runningMax(edgeMs.toReversed()).toReversed();
    return {
      model,
      runs,
      threads,
      slowdown,
      measuredAt: new Date().toISOString(),
      cuts: cuts.map((cut, index) => ({
        name: cut.name,
        bytes: cut.bytes,
        deviceMs: defined(device[index], `the device time to cut ${index}`),
        edgeMs: defined(edge[index], `the edge time from cut ${index}`),
      })),
    };
  } finally {
    if (own) await executor.close();
  }
}

/** Each value raised to the largest one before it. */
function runningMax(values: readonly number[]): number[] {
  let most = Number.NEGATIVE_INFINITY;
  return values.map((value) => {
    most = Math.max(most, value);
    return most;
  });
}
