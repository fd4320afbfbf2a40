import { quantile as percentile } from '../stats/quantile.js';

/** Median, p90, p99 and max of values (the project's one quantile definition); nulls for none. */
export function spread(values: readonly number[]): {
  median: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
} {
  return {
    median: percentile(values, 0.5),
    p90: percentile(values, 0.9),
    p99: percentile(values, 0.99),
    max: percentile(values, 1),
  };
}

/** Mean of values; NaN for none. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}
