import { type Command, Option } from 'commander';
import { schedulerMetrics } from '../../metrics/index.js';
import { asError } from '../../runtime/as-error.js';
import { ENV, envValue } from '../../runtime/env.js';
import type { Logger } from '../../runtime/log.js';
import { logText } from '../../runtime/log-text.js';
import { stopSignal } from '../../runtime/shutdown.js';
import {
  DEFAULT_LOCK_TTL_MS,
  SCHEDULER_DEFAULTS,
  type Scheduler,
  SOLVER_NAMES,
  type SolverName,
  type StandbyScheduler,
  startStandbyScheduler,
} from '../../scheduler/index.js';
import { logSchedulerEvents } from '../../system/index.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import { addMetricsOptions, type MetricsFlags, serveMetrics } from '../metrics-options.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  exitCodeOf,
  parseInteger,
  parseNonNegative,
} from '../options.js';

interface SchedulerFlags extends ConnectionFlags, LogFlags, MetricsFlags {
  readonly solver: SolverName;
  readonly coalesceMs: number;
  readonly hysteresis: number;
  readonly id?: string;
  readonly lockTtlMs: number;
  readonly edgeStatusExpiryMs: number;
}

/** Log lines of the scheduler that leads: one per solve, one per rejected payload, errors. */
function logLeader(scheduler: Scheduler, log: Logger): void {
  log.info(`edgesplit scheduler ${scheduler.id}: leading`);
  logSchedulerEvents(scheduler, log);
}

async function run(flags: SchedulerFlags): Promise<void> {
  let scheduler: StandbyScheduler;
  let log = startLogging(flags, 'scheduler');
  let served: Awaited<ReturnType<typeof serveMetrics>>;
  try {
    served = await serveMetrics(flags, 'edgesplit scheduler', log);
  } catch (error) {
    log.fatal(`edgesplit scheduler: metrics: ${asError(error).message}`);
    process.exitCode = exitCodeOf(error);
    return;
  }
  const metrics = served === undefined ? undefined : schedulerMetrics(served.metrics);
  let unfollow: (() => void) | undefined;
  try {
    scheduler = startStandbyScheduler(
      {
        mqttUrl: flags.mqttUrl,
        redisUrl: flags.redisUrl,
        topicPrefix: flags.topicPrefix,
        redisPrefix: flags.redisPrefix,
        ...optional('mqttUsername', envValue(ENV.mqttUsername)),
        ...optional('mqttPassword', envValue(ENV.mqttPassword)),
        ...optional('id', flags.id),
        solver: flags.solver,
        coalesceMs: flags.coalesceMs,
        hysteresis: flags.hysteresis,
        edgeStatusExpiryMs: flags.edgeStatusExpiryMs,
      },
      {
        lockTtlMs: flags.lockTtlMs,
        onLeading: (leading) => {
          logLeader(leading, log);
          metrics?.role('leader');
          unfollow = metrics?.follow(leading);
        },
        onStandby: (leader) => {
          metrics?.role('standby');
          log.info(`edgesplit scheduler: standing by (leader: ${logText(leader ?? undefined)})`, {
            leaderId: leader?.slice(0, 64) ?? null,
          });
        },
        onStepDown: (reason) => {
          unfollow?.();
          metrics?.role('standby');
          log.warn(`edgesplit scheduler: no longer leading: ${reason}`);
        },
        onError: (error) => log.error(`error: ${error.message}`),
      },
    );
  } catch (error) {
    const message = asError(error).message;
    log.fatal(`edgesplit scheduler: ${message}`);
    process.exitCode = exitCodeOf(error);
    await served?.close();
    return;
  }
  // A standby holds no MQTT connection: it is ready with Redis alone.
  served?.metrics.watchConnections(
    'scheduler',
    {
      mqtt: () => scheduler.current()?.connected().mqtt ?? false,
      redis: () => scheduler.redisConnected() && (scheduler.current()?.connected().redis ?? true),
    },
    { mqtt: () => scheduler.role() === 'leader' },
  );
  log = log.child({ schedulerId: scheduler.id });
  log.info(`edgesplit scheduler ${scheduler.id} started`);
  const signal = await stopSignal();
  log.info(`edgesplit scheduler: ${signal}, closing`);
  try {
    await scheduler.close();
  } catch (error) {
    log.error(`edgesplit scheduler: close failed: ${String(error)}`);
    process.exitCode = 1;
  }
  await served?.close().catch(() => {});
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * `edgesplit scheduler`: runs the scheduler service. Connection settings come from flags or
 * the environment (MQTT_URL, REDIS_URL, EDGESPLIT_TOPIC_PREFIX, EDGESPLIT_REDIS_PREFIX; the
 * login from MQTT_USERNAME and MQTT_PASSWORD only); SIGINT and SIGTERM close it cleanly.
 */
export function registerSchedulerCommand(program: Command): void {
  const command = program
    .command('scheduler')
    .description(
      'run the scheduler: re-solve the fleet on every change, publish decisions, set queue concurrency',
    )
    .addOption(
      new Option('--solver <name>', 'solver run on every change')
        .choices([...SOLVER_NAMES])
        .default(SCHEDULER_DEFAULTS.solver),
    )
    .option(
      '--coalesce-ms <ms>',
      'changes within this window are solved together',
      parseNonNegative,
      SCHEDULER_DEFAULTS.coalesceMs,
    )
    .option(
      '--hysteresis <fraction>',
      'relative link change below which nothing is re-solved (0.1 = 10%)',
      parseNonNegative,
      SCHEDULER_DEFAULTS.hysteresis,
    )
    .option('--id <id>', 'scheduler id, published as leaderId (default scheduler.{host}.{pid})')
    .option(
      '--lock-ttl-ms <ms>',
      'life of the leadership lock in Redis: a standby scheduler takes over at most this long after the leader dies',
      parseInteger,
      DEFAULT_LOCK_TTL_MS,
    )
    .option(
      '--edge-status-expiry-ms <ms>',
      'an edge worker whose status was not heard for this long is taken for offline (0: never)',
      parseInteger,
      SCHEDULER_DEFAULTS.edgeStatusExpiryMs,
    );
  addMetricsOptions(addLogOptions(addConnectionOptions(command))).action(run);
}
