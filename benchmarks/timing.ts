import { medianOrNaN } from '../stats/quantile.js';

/** Repetition limits of {@link timeMedian}. */
export interface TimingBudget {
  /**
   * Wall-clock time spent warming up (JIT, caches) before measuring.
   * @defaultValue 200
   */
  readonly warmupMs?: number;
  /**
   * Wall-clock time for the measured runs; measuring stops when it is spent and at least
   * `minRuns` ran.
   * @defaultValue 1000
   */
  readonly budgetMs?: number;
  /** @defaultValue 5 */
  readonly minRuns?: number;
  /** Most measured samples. @defaultValue 2000 */
  readonly maxRuns?: number;
  /**
   * Calls of `run` per sample are chosen so that one sample takes at least this long, so that
   * the timer's resolution and overhead do not dominate microsecond solves.
   * @defaultValue 0.5
   */
  readonly minSampleMs?: number;
}

export interface Timing {
  /** Median over samples of the time per call. */
  readonly medianMs: number;
  /** Calls of `run` measured (samples × calls per sample). */
  readonly runs: number;
}

/**
 * Median wall-clock time of `run` after a warm-up. The median rather than the mean, so that a
 * garbage collection or a scheduler hiccup in one run does not move the number.
 */
export function timeMedian(run: () => void, budget: TimingBudget = {}): Timing {
  const warmupMs = budget.warmupMs ?? 200;
  const budgetMs = budget.budgetMs ?? 1000;
  const minRuns = budget.minRuns ?? 5;
  const maxRuns = budget.maxRuns ?? 2000;
  const minSampleMs = budget.minSampleMs ?? 0.5;
  const warmupStart = performance.now();
  const warmupEnd = warmupStart + warmupMs;
  let warmups = 0;
  while (warmups < 3 || performance.now() < warmupEnd) {
    run();
    warmups++;
  }
  const perRun = (performance.now() - warmupStart) / warmups;
  const batch = Math.max(1, Math.ceil(minSampleMs / perRun));
  const samples: number[] = [];
  const end = performance.now() + budgetMs;
  while (samples.length < minRuns || (performance.now() < end && samples.length < maxRuns)) {
    const start = performance.now();
    for (let k = 0; k < batch; k++) run();
    samples.push((performance.now() - start) / batch);
  }
  return { medianMs: medianOrNaN(samples), runs: samples.length * batch };
}
