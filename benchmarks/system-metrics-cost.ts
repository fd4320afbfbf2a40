/**
 * `bench:system --metrics on,off`: the same scenarios with the services' metrics on and off in
 * one run, side by side. Throughput with metrics on as a share of throughput off (the issue's
 * bar: at least 95%), and the reaction time on against off (lower is better, so off / on).
 * Modes may repeat (`--metrics on,off,off,on`): each figure is then the median over the runs of
 * its mode, which evens out a machine whose load changes during the run.
 */
import { median } from '../stats/quantile.js';
import type { BrokerRun } from './system-report.js';

export const METRICS_MODES = ['on', 'off'] as const;
export type MetricsMode = (typeof METRICS_MODES)[number];

/** The bar: metrics on keep at least this share of what the system does with them off. */
export const METRICS_COST_BAR = 0.95;

interface Comparison {
  readonly broker: string;
  readonly what: string;
  readonly off: number;
  readonly on: number;
  /** on as a share of off, for a figure where more is better (off / on for a time). */
  readonly share: number;
  /** Runs of each mode the figures are medians of. */
  readonly runs: number;
}

type Figure = (run: BrokerRun) => number | undefined;

const FIGURES: readonly (readonly [string, Figure, 'more' | 'less'])[] = [
  ['requests/s, 100 KiB tensors', (run) => run.concurrent?.perSecond, 'more'],
  ['requests/s, 2 KiB tensors', (run) => run.concurrentSmall?.perSecond, 'more'],
  ['one request, p50 ms', (run) => run.sequential?.latency.p50Ms, 'less'],
  ['reaction p50 ms', (run) => run.reaction?.latency.p50Ms, 'less'],
  ['reaction p99 ms', (run) => run.reaction?.latency.p99Ms, 'less'],
];

function medianOf(runs: readonly BrokerRun[], figure: Figure): number | undefined {
  const values = runs.map(figure).filter((value): value is number => value !== undefined);
  return median(values) ?? undefined;
}

export function metricsComparisons(runs: readonly BrokerRun[]): Comparison[] {
  const comparisons: Comparison[] = [];
  const brokers = [
    ...new Set(runs.filter((run) => run.metrics !== undefined).map((r) => r.broker)),
  ];
  for (const broker of brokers) {
    const on = runs.filter((run) => run.broker === broker && run.metrics === true);
    const off = runs.filter((run) => run.broker === broker && run.metrics === false);
    if (on.length === 0 || off.length === 0) continue;
    for (const [what, figure, better] of FIGURES) {
      const a = medianOf(off, figure);
      const b = medianOf(on, figure);
      if (a === undefined || b === undefined || a <= 0 || b <= 0) continue;
      const share = better === 'more' ? b / a : a / b;
      comparisons.push({
        broker,
        what,
        off: a,
        on: b,
        share,
        runs: Math.min(on.length, off.length),
      });
    }
  }
  return comparisons;
}

export function metricsCostLines(runs: readonly BrokerRun[]): string[] {
  const comparisons = metricsComparisons(runs);
  if (comparisons.length === 0) return [];
  const fmt = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(2));
  return [
    '',
    `Metrics on against off (same run; share = on/off for rates, off/on for times; bar ${METRICS_COST_BAR * 100}%):`,
    ...comparisons.map(
      (c) =>
        `  ${c.share >= METRICS_COST_BAR ? 'met   ' : 'MISSED'} ${c.broker}: ${c.what}: ` +
        `off ${fmt(c.off)}, on ${fmt(c.on)}, ${(c.share * 100).toFixed(1)}%` +
        (c.runs > 1 ? ` (medians of ${c.runs} runs each)` : ''),
    ),
  ];
}
