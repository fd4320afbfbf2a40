/** A leading scheduler service: one part of a stack, with its log lines and metrics. */
import { type ProcessMetrics, schedulerMetrics } from '../metrics/index.js';
import type { Logger } from '../runtime/log.js';
import { type Scheduler, type SchedulerOptions, startScheduler } from '../scheduler/index.js';
import { logSchedulerEvents } from './scheduler-log.js';

export interface SchedulerPartOptions {
  readonly scheduler: SchedulerOptions;
  /** Where its solves and warnings are logged (as `scheduler`); nowhere without. */
  readonly log?: Logger;
  /** Where its metrics go, as the leader; none without. */
  readonly metrics?: ProcessMetrics;
}

export interface SchedulerPart {
  readonly scheduler: Scheduler;
  /** Stops following it in the metrics, then closes it. */
  close(): Promise<void>;
}

export async function startSchedulerPart(options: SchedulerPartOptions): Promise<SchedulerPart> {
  const scheduler = await startScheduler(options.scheduler);
  if (options.log !== undefined)
    logSchedulerEvents(scheduler, options.log.child({ component: 'scheduler' }));
  let unfollow = () => {};
  if (options.metrics !== undefined) {
    // A metric set follows one scheduler at a time: a benchmark may start several in turn.
    const leader = schedulerMetrics(options.metrics);
    leader.role('leader');
    unfollow = leader.follow(scheduler);
  }
  return {
    scheduler,
    close: async () => {
      unfollow();
      await scheduler.close();
    },
  };
}
