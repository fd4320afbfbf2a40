import { quantile } from '../stats/quantile.js';
import type { AgentStats, TaskRecord } from './agent-stats.js';
import { type PredictionErrors, predictionErrors } from './prediction-error.js';

/** What `edgesplit fleet run --json` (and `edgesplit up --json`) prints at the end. */
export interface FleetSummary {
  readonly ues: number;
  /** Distinct decision epochs the fleet received. */
  readonly epochs: number;
  /** Requests published (each sample of an offloaded task is one; retries not counted again). */
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly retried: number;
  readonly duplicatesDropped: number;
  /** Largest predicted latency of a finished task; null without tasks. */
  readonly maxPredictedMs: number | null;
  /** Measured task latency percentiles over tasks where every sample got its result. */
  readonly measured: { readonly p50Ms: number | null; readonly p99Ms: number | null };
  /**
   * |measured − predicted| / predicted in percent over those tasks (predicted at 0 left out),
   * offloaded tasks and local ones apart.
   */
  readonly predictionError: PredictionErrors;
}

/** The final summary of a fleet of `ues` agents from their stats. */
export function summarizeFleet(ues: number, stats: readonly AgentStats[]): FleetSummary {
  const sum = (pick: (agent: AgentStats) => number) =>
    stats.reduce((total, agent) => total + pick(agent), 0);
  const tasks = stats.flatMap((agent) => agent.latencies);
  const measured = tasks.filter((task) => task.ok).map((task) => task.measuredMs);
  return {
    ues,
    epochs: new Set(stats.flatMap((agent) => agent.epochs)).size,
    requests: sum((agent) => agent.requests),
    ok: sum((agent) => agent.ok),
    failed: sum((agent) => agent.failed),
    retried: sum((agent) => agent.retried),
    duplicatesDropped: sum((agent) => agent.duplicatesDropped),
    maxPredictedMs: latencySpread(tasks.map((task) => task.predictedMs))?.maxMs ?? null,
    measured: { p50Ms: quantile(measured, 0.5), p99Ms: quantile(measured, 0.99) },
    predictionError: predictionErrors(stats.map((agent) => agent.latencies)),
  };
}

/** Max and mean of some latencies. */
export interface LatencySpread {
  readonly maxMs: number;
  readonly meanMs: number;
}

/** One periodic line of `fleet run`: the fleet now, and the tasks of the last window. */
export interface WindowSummary {
  /** Seconds since the fleet started. */
  readonly atS: number;
  readonly ues: number;
  readonly online: number;
  /** Highest decision epoch any agent holds; null before the first decision. */
  readonly epoch: number | null;
  /** Tasks finished in the window. */
  readonly tasks: number;
  readonly predicted: LatencySpread | null;
  readonly measured: LatencySpread | null;
  /** Totals since the start. */
  readonly ok: number;
  readonly failed: number;
  readonly retried: number;
}

export function latencySpread(values: readonly number[]): LatencySpread | null {
  if (values.length === 0) return null;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const value of values) {
    max = Math.max(max, value);
    sum += value;
  }
  return { maxMs: max, meanMs: sum / values.length };
}

/** Spreads of the tasks of one window: predicted over all, measured over the ok ones. */
export function windowLatencies(
  tasks: readonly Pick<TaskRecord, 'predictedMs' | 'measuredMs' | 'ok'>[],
): { predicted: LatencySpread | null; measured: LatencySpread | null } {
  return {
    predicted: latencySpread(tasks.map((task) => task.predictedMs)),
    measured: latencySpread(tasks.filter((task) => task.ok).map((task) => task.measuredMs)),
  };
}

const ms = (spread: LatencySpread | null) =>
  spread === null ? '-' : `max ${spread.maxMs.toFixed(1)} mean ${spread.meanMs.toFixed(1)} ms`;

/** `t=10s online 20/20 epoch 7 tasks 45 predicted max 812.3 mean 301.2 ms measured ... ok ...`. */
export function formatWindow(window: WindowSummary): string {
  return [
    `t=${window.atS.toFixed(0)}s`,
    `online ${window.online}/${window.ues}`,
    `epoch ${window.epoch ?? '-'}`,
    `tasks ${window.tasks}`,
    `predicted ${ms(window.predicted)}`,
    `measured ${ms(window.measured)}`,
    `requests ok ${window.ok} failed ${window.failed} retried ${window.retried}`,
  ].join('  ');
}
