import { mkdir } from 'node:fs/promises';
import type { Experiment, ExperimentContext, ExperimentResult } from './context.js';
import { liveExperiment } from './live.js';
import { robustnessExperiment } from './robustness.js';
import { scaleExperiment } from './scale.js';
import { solversExperiment } from './solvers.js';

export type { Experiment, ExperimentContext, ExperimentResult } from './context.js';

/** Every experiment of `edgesplit experiment NAME`, by name. */
export const EXPERIMENTS: readonly Experiment[] = [
  solversExperiment,
  robustnessExperiment,
  scaleExperiment,
  liveExperiment,
];

/** Runs one experiment into `context.outDir` (created if missing). */
export async function runExperiment(
  experiment: Experiment,
  context: ExperimentContext,
): Promise<ExperimentResult> {
  await mkdir(context.outDir, { recursive: true });
  return experiment.run(context);
}
