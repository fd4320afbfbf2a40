import type { ProcessMetrics } from './process-metrics.js';

/** One metric set per process registry, created on first use (metric names are unique). */
export function perProcess<T>(
  create: (metrics: ProcessMetrics) => T,
): (metrics: ProcessMetrics) => T {
  const sets = new WeakMap<ProcessMetrics, T>();
  return (metrics) => {
    let set = sets.get(metrics);
    if (set === undefined) {
      set = create(metrics);
      sets.set(metrics, set);
    }
    return set;
  };
}
