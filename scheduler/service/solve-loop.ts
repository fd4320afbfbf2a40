import { performance } from 'node:perf_hooks';

/**
 * When the scheduler solves: one solve at a time, the changes that arrive meanwhile coalesced
 * into the next. A change arriving more than the coalescing window after the last solve ended is
 * solved on the next turn of the event loop: an isolated change waits for nothing, while the
 * messages of one socket read are still solved together. Otherwise the solve waits until the
 * window after the last one ended and takes every change that arrived meanwhile, so a stream of
 * changes is solved at most once per solve plus window. Changes before `start` wait for it.
 */
export class SolveLoop {
  private started = false;
  private closed = false;
  /** A change arrived that no solve has taken yet. */
  private dirty = false;
  /** Cancels the solve scheduled to run; undefined when none is. */
  private cancelPending: (() => void) | undefined;
  /** When the last solve ended (performance.now()); the next one waits coalesceMs after it. */
  private lastSolvedAt = Number.NEGATIVE_INFINITY;
  /** When the first change waiting for the next solve arrived (performance.now()). */
  private changedAt: number | undefined;
  private running: Promise<void> | undefined;

  /**
   * `solve` gets when the first change it takes arrived (performance.now()); it must not
   * reject.
   */
  constructor(
    private readonly coalesceMs: number,
    private readonly solve: (changedAt: number) => Promise<void>,
  ) {}

  /** Whether `start` was called. */
  isStarted(): boolean {
    return this.started;
  }

  /** Whether it solves no more (`stop` or `close`). */
  isClosed(): boolean {
    return this.closed;
  }

  /** Allows solving and solves once, whatever changed. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.request();
  }

  /** Takes a change: schedules the next solve (see the class). */
  request(): void {
    this.dirty = true;
    this.changedAt ??= performance.now();
    if (
      !this.started ||
      this.closed ||
      this.cancelPending !== undefined ||
      this.running !== undefined
    )
      return;
    const run = () => {
      this.cancelPending = undefined;
      this.running = this.runSolve().finally(() => {
        this.running = undefined;
        this.lastSolvedAt = performance.now();
        if (this.dirty) this.request();
      });
    };
    const waitMs = this.lastSolvedAt + this.coalesceMs - performance.now();
    if (waitMs > 0) {
      const timer = setTimeout(run, waitMs);
      this.cancelPending = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(run);
      this.cancelPending = () => clearImmediate(immediate);
    }
  }

  /** Solves again after `ms` (a transport call failed), unless closed by then. */
  retry(ms: number): void {
    if (this.closed) return;
    setTimeout(() => {
      if (!this.closed) this.request();
    }, ms).unref();
  }

  /** Resolves when no solve is pending or running. */
  async idle(): Promise<void> {
    while (this.cancelPending !== undefined || this.running !== undefined) {
      if (this.running !== undefined) await this.running;
      else await new Promise((resolve) => setTimeout(resolve, this.coalesceMs));
    }
  }

  /** Solves no more; a running solve goes on. */
  stop(): void {
    this.closed = true;
    this.cancelPending?.();
    this.cancelPending = undefined;
  }

  /** Solves no more; waits for a running solve to finish. */
  async close(): Promise<void> {
    this.stop();
    await this.running;
  }

  private async runSolve(): Promise<void> {
    if (this.closed) return;
    this.dirty = false;
    const changedAt = this.changedAt ?? performance.now();
    this.changedAt = undefined;
    await this.solve(changedAt);
  }
}
