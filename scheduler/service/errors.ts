/** Options of `startScheduler` or the `scheduler` command that cannot be acted on. */
export class SchedulerOptionsError extends Error {
  /** The option at fault, e.g. `coalesceMs`. */
  readonly option: string;
  constructor(option: string, reason: string) {
    super(`${option}: ${reason}`);
    this.name = 'SchedulerOptionsError';
    this.option = option;
  }
}

/** A transport step that failed (a publish, a `setGlobalConcurrency`); the scheduler goes on. */
export class SchedulerTransportError extends Error {
  readonly step: 'publish' | 'concurrency' | 'subscribe' | 'ledger';
  constructor(
    step: SchedulerTransportError['step'],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SchedulerTransportError';
    this.step = step;
  }
}
