import { EdgesplitError, type ErrorOptions, OptionError } from '../../proto/index.js';

/** Options of `startScheduler` or the `scheduler` command that cannot be acted on. */
export class SchedulerOptionsError extends OptionError {
  /** The option at fault, e.g. `coalesceMs`. */
  override readonly option: string;
  constructor(option: string, reason: string, options?: ErrorOptions) {
    super(`${option}: ${reason}`, { ...options, option });
    this.name = 'SchedulerOptionsError';
    this.option = option;
  }
}

/** A transport step that failed (a publish, a `setGlobalConcurrency`); the scheduler goes on. */
export class SchedulerTransportError extends EdgesplitError<'TRANSPORT_FAILED'> {
  readonly step: 'publish' | 'concurrency' | 'subscribe' | 'ledger';
  constructor(step: SchedulerTransportError['step'], message: string, options?: ErrorOptions) {
    super('TRANSPORT_FAILED', message, options);
    this.name = 'SchedulerTransportError';
    this.step = step;
  }
}
