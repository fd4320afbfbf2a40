/** Per model: session creation, full inference, and head and tail time per cut (ONNX Runtime). */
import { performance } from 'node:perf_hooks';
import {
  buildSegment,
  loadZooModel,
  measureProfile,
  modelCuts,
  OnnxExecutor,
  openSegmentSession,
} from '../dnn/index.js';
import type { Tensor } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { medianOrNaN as median } from '../stats/quantile.js';

export interface ModelRow {
  readonly model: string;
  readonly cuts: number;
  /** Building (or reading from the store) the graph, ms. */
  readonly loadMs: number;
  /** Opening a session on the whole model, ms. */
  readonly sessionMs: number;
  /** Median full inference, one sample, one thread, ms. */
  readonly fullMs: number;
  /** Per cut: head 0..cut and tail cut..L, ms (medians). */
  readonly perCut: readonly { name: string; headMs: number; tailMs: number }[];
}

export async function benchModel(model: string, runs: number): Promise<ModelRow> {
  const cuts = modelCuts(model);
  const last = cuts.length - 1;
  let start = performance.now();
  const onnx = await loadZooModel(model);
  const loadMs = performance.now() - start;
  start = performance.now();
  const session = await openSegmentSession(buildSegment(onnx, 0, last), { threads: 1 });
  const sessionMs = performance.now() - start;
  const shape = defined(cuts[0], `the input cut of model "${model}"`).shape;
  const input: Tensor = {
    dtype: 'float32',
    shape: [...shape],
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5),
  };
  await session.run(input);
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    start = performance.now();
    await session.run(input);
    times.push(performance.now() - start);
  }
  await session.close();
  const executor = new OnnxExecutor({ threads: 1 });
  try {
    const profile = await measureProfile(model, { runs, executor });
    return {
      model,
      cuts: cuts.length,
      loadMs,
      sessionMs,
      fullMs: median(times),
      perCut: profile.cuts.map((cut) => ({
        name: cut.name,
        headMs: cut.deviceMs,
        tailMs: cut.edgeMs,
      })),
    };
  } finally {
    await executor.close();
  }
}
