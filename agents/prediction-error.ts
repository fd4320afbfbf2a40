/**
 * How far measured task latencies are from the scheduler's predictions, apart for offloaded and
 * local tasks. A local task (cut = the model's last layer) runs its head paced to the device
 * time it stands for, so its error says little about the model of the system; an offloaded one
 * crosses the link, the broker, the queue and the edge, which the prediction must cover.
 * Errors are percentages (|measured − predicted| / predicted × 100), and every median and
 * percentile comes from stats/quantile.ts.
 */
import { median, quantile } from '../stats/quantile.js';
import type { TaskRecord } from './agent-stats.js';

/** Prediction error over one kind of task (offloaded or local). */
export interface PredictionGroup {
  /** UEs with at least one such task. */
  readonly ues: number;
  /** Tasks counted: finished with every result, predicted above 0 ms. */
  readonly tasks: number;
  /** Median over those tasks of |measured − predicted| / predicted, in percent. */
  readonly errorP50Pct: number | null;
  /** 90th percentile of the same, in percent. */
  readonly errorP90Pct: number | null;
  /** Median over UEs of each UE's median error, in percent. */
  readonly ueMedianP50Pct: number | null;
  /** The largest UE median error, in percent. */
  readonly worstUeMedianPct: number | null;
}

/** Prediction errors of a fleet: offloaded tasks, and local ones apart. */
export interface PredictionErrors {
  readonly offloaded: PredictionGroup;
  readonly local: PredictionGroup;
}

/** One UE's median error (percent) over its tasks of one kind. */
export interface UePredictionError {
  readonly index: number;
  readonly tasks: number;
  readonly errorP50Pct: number;
}

type Task = Pick<TaskRecord, 'predictedMs' | 'measuredMs' | 'ok' | 'offloaded'>;

/** |measured − predicted| / predicted in percent, of the tasks that count. */
export function errorPcts(tasks: readonly Task[]): number[] {
  return tasks
    .filter((task) => task.ok && task.predictedMs > 0)
    .map((task) => (Math.abs(task.measuredMs - task.predictedMs) / task.predictedMs) * 100);
}

/** Per UE (index into `perUe`), its median error over its tasks of one kind; UEs without any left out. */
export function ueErrors(
  perUe: readonly (readonly Task[])[],
  offloaded: boolean,
): UePredictionError[] {
  return perUe.flatMap((tasks, index) => {
    const errors = errorPcts(tasks.filter((task) => task.offloaded === offloaded));
    const errorP50Pct = median(errors);
    return errorP50Pct === null ? [] : [{ index, tasks: errors.length, errorP50Pct }];
  });
}

function group(perUe: readonly (readonly Task[])[], offloaded: boolean): PredictionGroup {
  const errors = errorPcts(perUe.flat().filter((task) => task.offloaded === offloaded));
  const ues = ueErrors(perUe, offloaded).map((ue) => ue.errorP50Pct);
  return {
    ues: ues.length,
    tasks: errors.length,
    errorP50Pct: quantile(errors, 0.5),
    errorP90Pct: quantile(errors, 0.9),
    ueMedianP50Pct: median(ues),
    worstUeMedianPct: ues.length === 0 ? null : Math.max(...ues),
  };
}

/** Prediction errors of a fleet from each UE's task records. */
export function predictionErrors(perUe: readonly (readonly Task[])[]): PredictionErrors {
  return { offloaded: group(perUe, true), local: group(perUe, false) };
}

const pct = (value: number | null) => (value === null ? '-' : `${value.toFixed(1)}%`);

function formatGroup(name: string, g: PredictionGroup): string {
  if (g.tasks === 0) return `${name}: no tasks`;
  return (
    `${name} (${g.ues} UEs, ${g.tasks} tasks) p50 ${pct(g.errorP50Pct)} p90 ${pct(g.errorP90Pct)}, ` +
    `UE medians: median ${pct(g.ueMedianP50Pct)} worst ${pct(g.worstUeMedianPct)}`
  );
}

/** `prediction error: offloaded (5 UEs, 80 tasks) p50 12.0% ...; local (...) ...`. */
export function formatPredictionErrors(errors: PredictionErrors): string {
  return `prediction error |measured - predicted| / predicted: ${formatGroup('offloaded', errors.offloaded)}; ${formatGroup('local', errors.local)}`;
}
