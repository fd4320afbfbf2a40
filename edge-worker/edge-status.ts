import {
  EmulatedExecutor,
  type Executor,
  edgeProfile,
  hasModel,
  listModels,
} from '../dnn/index.js';
import type { EdgeModel, EdgeStatus } from '../proto/index.js';

/** Every model of the zoo: the real ImageNet models (REAL_MODELS) and tiny-cnn. */
export function defaultEdgeModels(): string[] {
  return listModels();
}

/**
 * What a worker declares per model: edge time after each cut, one sample on one unit, scaled by
 * the speed factor, so the scheduler predicts the time the worker really takes.
 */
export function edgeModels(
  models: readonly string[],
  speedFactor: number,
  measured: Readonly<Record<string, readonly number[]>> = {},
): EdgeModel[] {
  return models.map((model) => {
    const edgeMs = measured[model];
    if (edgeMs !== undefined) return { model, edgeMs: [...edgeMs] };
    return { model, edgeMs: edgeProfile(model).map((ms) => ms * speedFactor) };
  });
}

/** The payload of `edge/{id}/status`. */
export function edgeStatus(
  state: EdgeStatus['state'],
  units: number,
  models: readonly EdgeModel[],
): EdgeStatus {
  return { state, units, models: [...models], at: Date.now() };
}

/**
 * The emulated tail executor: sleeps edgeMs[from] − edgeMs[to] (the unscaled profile of one
 * edge unit) times `speedFactor`, and returns a deterministic tensor of the output's shape.
 */
export function emulatedEdgeExecutor(speedFactor: number): Executor {
  const profiles = new Map<string, number[]>();
  const profileOf = (model: string): number[] => {
    let edgeMs = profiles.get(model);
    if (edgeMs === undefined) {
      edgeMs = hasModel(model) ? edgeProfile(model) : [];
      profiles.set(model, edgeMs);
    }
    return edgeMs;
  };
  return new EmulatedExecutor({
    segmentMs: (model, from, to) => {
      const edgeMs = profileOf(model);
      return Math.max(0, (edgeMs[from] ?? 0) - (edgeMs[to] ?? 0));
    },
    speedFactor,
  });
}
