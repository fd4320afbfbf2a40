/**
 * Prediction with real inference: the `edgesplit up` system (embedded broker, scheduler, two
 * ONNX edge workers sharing the cores as units, 12 UEs with measured profiles) runs for a while; per UE, the
 * median of |measured − predicted| / predicted over its tasks.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { REAL_INFERENCE_MODELS, RealInference, storedProfile } from '../cli/up/real-inference.js';
import { runStack } from '../cli/up/stack.js';
import type { MeasuredProfile } from '../dnn/index.js';

export interface PredictionResult {
  readonly ues: number;
  readonly requests: number;
  readonly ok: number;
  /** Per UE, sorted: its median relative error (UEs without tasks left out). */
  readonly perUeMedians: readonly { id: string; median: number; tasks: number }[];
  /** Median over UEs of their median error. */
  readonly medianOfMedians: number;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};

export async function benchPrediction(
  durationS: number,
  redisUrl: string,
): Promise<PredictionResult> {
  const profiles = new Map<string, MeasuredProfile>();
  for (const model of REAL_INFERENCE_MODELS)
    profiles.set(model, await storedProfile(model, () => {}));
  const units = Math.max(1, Math.floor(availableParallelism() / 2));
  const real = new RealInference(profiles, 2 * units);
  let perUe: { id: string; median: number; tasks: number }[] = [];
  try {
    const { summary } = await runStack({
      port: 0,
      host: '127.0.0.1',
      redisUrl,
      redisPrefix: `bench-pred-${randomBytes(3).toString('hex')}`,
      workers: 2,
      // As `up --executor onnx`: a real unit is a core.
      unitsPerWorker: units,
      ues: 12,
      seed: 1,
      models: [...REAL_INFERENCE_MODELS],
      trace: { kind: 'constant' },
      durationS,
      summaryEveryS: 60,
      stopGraceMs: 30_000,
      realInference: real,
      thinkTimeMs: 500,
      onSummary: () => {},
      onWarning: () => {},
      onFinished: (agents) => {
        perUe = agents.flatMap(({ id, stats }) => {
          const errors = stats.latencies
            .filter((task) => task.predictedMs > 0)
            .map((task) => Math.abs(task.measuredMs - task.predictedMs) / task.predictedMs);
          return errors.length === 0 ? [] : [{ id, median: median(errors), tasks: errors.length }];
        });
      },
    });
    perUe.sort((a, b) => a.median - b.median);
    return {
      ues: summary.ues,
      requests: summary.requests,
      ok: summary.ok,
      perUeMedians: perUe,
      medianOfMedians: median(perUe.map((ue) => ue.median)),
    };
  } finally {
    await real.close();
  }
}
