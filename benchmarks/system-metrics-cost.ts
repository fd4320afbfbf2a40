/**
 * `bench:system --metrics on,off`: the same scenarios with the services' metrics on and off in
 * one run, side by side. Throughput with metrics on as a share of throughput off (the issue's
 * bar: at least 95%), and the reaction time on against off (lower is better, so off / on).
 */
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
}

export function metricsComparisons(runs: readonly BrokerRun[]): Comparison[] {
  const comparisons: Comparison[] = [];
  for (const on of runs.filter((run) => run.metrics === true)) {
    const off = runs.find((run) => run.metrics === false && run.broker === on.broker);
    if (off === undefined) continue;
    const more = (what: string, a: number | undefined, b: number | undefined) => {
      if (a !== undefined && b !== undefined && a > 0)
        comparisons.push({ broker: on.broker, what, off: a, on: b, share: b / a });
    };
    const less = (what: string, a: number | undefined, b: number | undefined) => {
      if (a !== undefined && b !== undefined && b > 0)
        comparisons.push({ broker: on.broker, what, off: a, on: b, share: a / b });
    };
    more('requests/s, 100 KiB tensors', off.concurrent?.perSecond, on.concurrent?.perSecond);
    more(
      'requests/s, 2 KiB tensors',
      off.concurrentSmall?.perSecond,
      on.concurrentSmall?.perSecond,
    );
    less('one request, p50 ms', off.sequential?.latency.p50Ms, on.sequential?.latency.p50Ms);
    less('reaction p50 ms', off.reaction?.latency.p50Ms, on.reaction?.latency.p50Ms);
    less('reaction p99 ms', off.reaction?.latency.p99Ms, on.reaction?.latency.p99Ms);
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
        `off ${fmt(c.off)}, on ${fmt(c.on)}, ${(c.share * 100).toFixed(1)}%`,
    ),
  ];
}
