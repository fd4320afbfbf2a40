/** One finished task, as `stats().latencies` keeps it. */
export interface TaskRecord {
  /** Task number, from 1. */
  readonly task: number;
  /** When the task finished, ms since the Unix epoch. */
  readonly at: number;
  /** Epoch of the decision the task ran under; null for a local run before any decision. */
  readonly epoch: number | null;
  readonly cut: number;
  /**
   * The cut was before the model's last layer: the tail ran on the edge. A task run wholly on
   * the device (cut = number of layers) is local; its head is paced to the predicted time.
   */
  readonly offloaded: boolean;
  readonly units: number;
  /** The decision's predicted latency of a task (docs/model.md's T_i). */
  readonly predictedMs: number;
  /** Task start to its last result downloaded (or its head finished, when local). */
  readonly measuredMs: number;
  /** Every sample got its result. */
  readonly ok: boolean;
  readonly retries: number;
  /** Offloaded, but its upload ran late and its tail ran on the device (see `localFallback`). */
  readonly fallback?: true;
}

/** Counters of an agent since it started. */
export interface AgentCounters {
  /** Tasks finished (ok or with failed samples); tasks cut short by `stop` are not counted. */
  readonly tasks: number;
  readonly tasksFailed: number;
  /** Requests published (retries not counted again). */
  readonly requests: number;
  readonly ok: number;
  /** Requests that timed out after every retry or were rejected on `ue/{ue}/error`. */
  readonly failed: number;
  /** Re-publications after a timeout. */
  readonly retried: number;
  /** Requests abandoned by `stop`. */
  readonly cancelled: number;
  /** Second copies of a result already accepted. */
  readonly duplicatesDropped: number;
  /** Results for requests that had already failed. */
  readonly lateDropped: number;
  /** Results for request ids this agent does not know. */
  readonly unknownDropped: number;
}

/** Counters, epochs and the latest task records of an agent. */
export interface AgentStats extends AgentCounters {
  /** Distinct decision epochs received, in arrival order. */
  readonly epochs: readonly number[];
  /** The latest finished tasks, oldest first (at most `historyLimit`). */
  readonly latencies: readonly TaskRecord[];
}

type Counter = keyof AgentCounters;

/** Accumulates an agent's counters; `snapshot` copies them out. */
export class StatsRecorder {
  private readonly totals: Record<Counter, number> = {
    tasks: 0,
    tasksFailed: 0,
    requests: 0,
    ok: 0,
    failed: 0,
    retried: 0,
    cancelled: 0,
    duplicatesDropped: 0,
    lateDropped: 0,
    unknownDropped: 0,
  };
  private readonly epochs = new Set<number>();
  private records: TaskRecord[] = [];

  constructor(private readonly historyLimit: number) {}

  count(counter: Counter, by = 1): void {
    this.totals[counter] += by;
  }

  epoch(epoch: number): void {
    this.epochs.add(epoch);
  }

  task(record: TaskRecord): void {
    this.totals.tasks += 1;
    if (!record.ok) this.totals.tasksFailed += 1;
    if (this.historyLimit === 0) return;
    this.records.push(record);
    // Trim in chunks so that a long run does not shift the array on every task.
    if (this.records.length > this.historyLimit * 1.25)
      this.records = this.records.slice(-this.historyLimit);
  }

  counters(): AgentCounters {
    return { ...this.totals };
  }

  snapshot(): AgentStats {
    return {
      ...this.totals,
      epochs: [...this.epochs],
      latencies: this.records.slice(-this.historyLimit),
    };
  }
}
