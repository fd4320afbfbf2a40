/**
 * The tasks a UE finished recently, summarised for its `ue/{ue}/stats` message
 * (docs/protocol.md, "stats"): latency quantiles over a sliding window of time.
 */
import type { UeStats } from '../proto/index.js';
import { quantileSorted } from '../stats/quantile.js';

interface Finished {
  readonly at: number;
  readonly measuredMs: number;
  readonly predictedMs: number;
  readonly ok: boolean;
}

/** Most tasks kept per window: a UE finishing more than this summarises its latest ones. */
export const MAX_WINDOW_TASKS = 10_000;

/** Latency of the tasks finished in the last `windowMs`, as a `stats` payload. */
export class StatsWindow {
  private tasks: Finished[] = [];
  private total = 0;

  constructor(private readonly windowMs: number) {}

  add(task: Finished): void {
    this.total += 1;
    this.tasks.push(task);
    if (this.tasks.length > MAX_WINDOW_TASKS * 1.25)
      this.tasks = this.tasks.slice(-MAX_WINDOW_TASKS);
  }

  /** The payload at `now` (ms since the epoch); drops what left the window. */
  summary(now: number): UeStats {
    const from = now - this.windowMs;
    let first = 0;
    for (const task of this.tasks) {
      if (task.at >= from) break;
      first += 1;
    }
    if (first > 0) this.tasks = this.tasks.slice(first);
    const recent = this.tasks.slice(-MAX_WINDOW_TASKS);
    const sorted = recent.map((task) => task.measuredMs).sort((a, b) => a - b);
    const last = recent.at(-1);
    return {
      at: now,
      windowMs: this.windowMs,
      tasks: recent.length,
      failed: recent.filter((task) => !task.ok).length,
      p50Ms: quantileSorted(sorted, 0.5),
      p99Ms: quantileSorted(sorted, 0.99),
      lastMs: last?.measuredMs ?? null,
      predictedMs: last?.predictedMs ?? null,
      totalTasks: this.total,
    };
  }
}
