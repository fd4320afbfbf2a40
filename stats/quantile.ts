/**
 * The one definition of a percentile in edgesplit: every median, p50, p90 and p99 the project
 * reports (the live summaries, `up`'s report, the benchmarks, the tests) comes from here.
 *
 * Linear interpolation between the two nearest ranks, as numpy's default (`method="linear"`),
 * R's type 7 and spreadsheets' PERCENTILE.INC: for n sorted values x[0..n-1] and q in [0, 1],
 * h = (n - 1) q and the quantile is x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)]).
 * So the median of an even count is the mean of the two middle values, q = 0 is the minimum,
 * q = 1 the maximum, and a quantile never lies outside the values.
 */

/** The q-quantile (q in [0, 1]) of values already sorted ascending; null for none. */
export function quantileSorted(sorted: readonly number[], q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const n = sorted.length;
  if (n === 0) return null;
  const h = (n - 1) * q;
  const lower = Math.floor(h);
  const below = sorted[lower] as number;
  if (lower + 1 >= n) return below;
  const above = sorted[lower + 1] as number;
  // Clamped so that rounding never puts it outside its two values (nor breaks monotony in q).
  return Math.min(above, Math.max(below, below + (h - lower) * (above - below)));
}

/** The q-quantile (q in [0, 1]) of unsorted values; null for none. NaN values are refused. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.some(Number.isNaN)) throw new RangeError('quantile: NaN among the values');
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    q,
  );
}

/** The median (the 0.5-quantile) of unsorted values; null for none. */
export function median(values: readonly number[]): number | null {
  return quantile(values, 0.5);
}

/** The median of unsorted values; NaN for none, as a missing figure prints and compares. */
export function medianOrNaN(values: readonly number[]): number {
  return median(values) ?? Number.NaN;
}
