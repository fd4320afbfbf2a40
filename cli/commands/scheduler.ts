import { type Command, Option } from 'commander';
import { schedulerMetrics } from '../../metrics/index.js';
import { ENV, envValue, logText } from '../../proto/index.js';
import {
  DEFAULT_LOCK_TTL_MS,
  SCHEDULER_DEFAULTS,
  type Scheduler,
  SchedulerOptionsError,
  SOLVER_NAMES,
  type SolveReport,
  type SolverName,
  type StandbyScheduler,
  startStandbyScheduler,
} from '../../scheduler/index.js';
import { addMetricsOptions, type MetricsFlags, serveMetrics } from '../metrics-options.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  parseInteger,
  parseNonNegative,
} from '../options.js';

interface SchedulerFlags extends ConnectionFlags, MetricsFlags {
  readonly solver: SolverName;
  readonly coalesceMs: number;
  readonly hysteresis: number;
  readonly id?: string;
  readonly lockTtlMs: number;
}

function formatMs(ms: number | null): string {
  return ms === null ? '-' : ms.toFixed(ms < 10 ? 3 : 1);
}

/** One log line per solve. */
export function formatSolve(report: SolveReport): string {
  const local = report.forcedLocal.length > 0 ? `, ${report.forcedLocal.length} local-only` : '';
  return (
    `epoch ${report.epoch}: ${report.solver} solved ${report.ues} UEs on R=${report.units} in ` +
    `${formatMs(report.solveMs)} ms, max ${formatMs(report.maxPredictedMs)} ms; ` +
    `${report.published.length} published, ${report.cleared.length} cleared${local}`
  );
}

/** Log lines of the scheduler that leads: one per solve, one per rejected payload, errors. */
function logLeader(scheduler: Scheduler): void {
  process.stderr.write(`edgesplit scheduler ${scheduler.id}: leading\n`);
  scheduler.on('solved', (report) => process.stdout.write(`${formatSolve(report)}\n`));
  scheduler.on('rejected', ({ topic, error }) =>
    process.stderr.write(`rejected ${logText(topic)}: ${logText(error.message)}\n`),
  );
  scheduler.on('error', (error) => process.stderr.write(`error: ${error.message}\n`));
}

async function run(flags: SchedulerFlags): Promise<void> {
  let scheduler: StandbyScheduler;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let served: Awaited<ReturnType<typeof serveMetrics>>;
  try {
    served = await serveMetrics(flags, 'edgesplit scheduler');
  } catch (error) {
    process.stderr.write(`edgesplit scheduler: metrics: ${(error as Error).message}\n`);
    process.exitCode = 1;
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
      },
      {
        lockTtlMs: flags.lockTtlMs,
        onLeading: (leader) => {
          logLeader(leader);
          metrics?.role('leader');
          unfollow = metrics?.follow(leader);
        },
        onStandby: (leader) => {
          metrics?.role('standby');
          log(`edgesplit scheduler: standing by (leader: ${logText(leader ?? undefined)})`);
        },
        onStepDown: (reason) => {
          unfollow?.();
          metrics?.role('standby');
          log(`edgesplit scheduler: no longer leading: ${reason}`);
        },
        onError: (error) => log(`error: ${error.message}`),
      },
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`edgesplit scheduler: ${message}\n`);
    process.exitCode = error instanceof SchedulerOptionsError ? 2 : 1;
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
  process.stderr.write(`edgesplit scheduler ${scheduler.id} started\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write(`edgesplit scheduler: ${signal}, closing\n`);
      scheduler
        .close()
        .catch((error: unknown) => {
          process.stderr.write(`edgesplit scheduler: close failed: ${String(error)}\n`);
          process.exitCode = 1;
        })
        .then(() => served?.close())
        .then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
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
    );
  addMetricsOptions(addConnectionOptions(command)).action(run);
}
