/** The log lines of a leading scheduler, for `edgesplit scheduler` and `up` alike. */

import type { Logger } from '../runtime/log.js';
import { logText, MAX_LOGGED_CHARS } from '../runtime/log-text.js';
import type { Scheduler, SolveReport } from '../scheduler/index.js';

function formatMs(ms: number | null): string {
  return ms === null ? '-' : ms.toFixed(ms < 10 ? 3 : 1);
}

/** The message of a solve's log line. */
export function formatSolve(report: SolveReport): string {
  const local = report.forcedLocal.length > 0 ? `, ${report.forcedLocal.length} local-only` : '';
  return (
    `epoch ${report.epoch}: ${report.solver} solved ${report.ues} UEs on R=${report.units} in ` +
    `${formatMs(report.solveMs)} ms, max ${formatMs(report.maxPredictedMs)} ms; ` +
    `${report.published.length} published, ${report.cleared.length} cleared${local}`
  );
}

/** The fields of a solve's log line. */
export function solveFields(report: SolveReport): Record<string, unknown> {
  return {
    epoch: report.epoch,
    solver: report.solver,
    ues: report.ues,
    units: report.units,
    solveMs: report.solveMs,
    maxPredictedMs: report.maxPredictedMs,
    published: report.published.length,
    cleared: report.cleared.length,
    forcedLocal: report.forcedLocal.length,
  };
}

/**
 * Logs what a leading scheduler does: one info line per solve, a warning per rejected payload
 * (with the UE or worker it came from), errors.
 */
export function logSchedulerEvents(scheduler: Scheduler, log: Logger): void {
  scheduler.on('solved', (report) => log.info(formatSolve(report), solveFields(report)));
  scheduler.on('rejected', ({ topic, ue, worker, error }) =>
    log.warn(`rejected ${logText(topic)}: ${logText(error.message)}`, {
      topic: topic.slice(0, MAX_LOGGED_CHARS),
      ...(ue === undefined ? {} : { ueId: ue }),
      ...(worker === undefined ? {} : { workerId: worker }),
    }),
  );
  scheduler.on('reconfirmed', ({ kept, dropped }) =>
    log.info(
      `reconnected: edge workers kept [${kept.join(', ')}], taken offline [${dropped.join(', ')}]`,
      { kept, dropped },
    ),
  );
  scheduler.on('workersExpired', ({ workers }) =>
    log.warn(`edge workers taken offline [${workers.join(', ')}]: no status heard in time`, {
      expired: workers,
    }),
  );
  scheduler.on('error', (error) => log.error(`error: ${error.message}`));
}
