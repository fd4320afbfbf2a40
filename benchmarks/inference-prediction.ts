/**
 * Prediction with real inference: the `edgesplit up` system (embedded broker, scheduler, two
 * ONNX edge workers sharing the cores as units, 12 UEs with measured profiles) runs for a while;
 * |measured − predicted| / predicted over offloaded tasks, and over local ones apart, per UE and
 * over the fleet.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import {
  type PredictionErrors,
  predictionErrors,
  type TaskRecord,
  ueErrors,
} from '../agents/index.js';
import { REAL_INFERENCE_MODELS, RealInference, storedProfile } from '../cli/up/real-inference.js';
import type { MeasuredProfile } from '../dnn/index.js';
import { runStack } from '../system/index.js';

export interface PredictionResult {
  readonly ues: number;
  readonly requests: number;
  readonly ok: number;
  /**
   * |measured − predicted| / predicted in percent, over offloaded tasks (cut before the last
   * layer: the tail ran on an edge worker) and local ones apart (agents/prediction-error.ts).
   */
  readonly predictionError: PredictionErrors;
  /** Per UE, sorted by error: its median error in percent over its offloaded tasks. */
  readonly offloadedUes: readonly UeError[];
  /** The same over its local tasks (the head paced to the predicted device time). */
  readonly localUes: readonly UeError[];
}

export interface UeError {
  readonly id: string;
  readonly tasks: number;
  readonly errorP50Pct: number;
}

export async function benchPrediction(
  durationS: number,
  redisUrl: string,
): Promise<PredictionResult> {
  const profiles = new Map<string, MeasuredProfile>();
  for (const model of REAL_INFERENCE_MODELS)
    profiles.set(model, await storedProfile(model, () => {}));
  const units = Math.max(1, Math.floor(availableParallelism() / 2));
  const real = new RealInference(profiles, 2 * units);
  let ids: string[] = [];
  let perUe: (readonly TaskRecord[])[] = [];
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
        ids = agents.map((agent) => agent.id);
        perUe = agents.map((agent) => agent.stats.latencies);
      },
    });
    const named = (offloaded: boolean): UeError[] =>
      ueErrors(perUe, offloaded)
        .map((ue) => ({
          id: ids[ue.index] ?? `#${ue.index}`,
          tasks: ue.tasks,
          errorP50Pct: ue.errorP50Pct,
        }))
        .sort((a, b) => a.errorP50Pct - b.errorP50Pct);
    return {
      ues: summary.ues,
      requests: summary.requests,
      ok: summary.ok,
      predictionError: predictionErrors(perUe),
      offloadedUes: named(true),
      localUes: named(false),
    };
  } finally {
    await real.close();
  }
}
