import { hostname } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_MAX_SESSIONS, listModels, ThreadedOnnxExecutor } from '../../dnn/index.js';
import { EDGE_WORKER_DEFAULTS, type EdgeWorker, startEdgeWorker } from '../../edge-worker/index.js';
import { edgeMetrics } from '../../metrics/index.js';
import { MAX_UNITS } from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';
import { ENV, envValue } from '../../runtime/env.js';
import { stopSignal } from '../../runtime/shutdown.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import {
  addMetricsOptions,
  type MetricsFlags,
  type ServedMetrics,
  serveMetrics,
} from '../metrics-options.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  exitCodeOf,
  parseInteger,
  parseModels,
  parseNonNegative,
  parsePositiveInteger,
} from '../options.js';
import { loadEdgeProfiles } from '../profiles.js';
import { claimDirFromEnv } from './claim-dir-env.js';

interface EdgeWorkerFlags extends ConnectionFlags, LogFlags, MetricsFlags {
  readonly id: string;
  readonly units: number;
  readonly models?: readonly string[];
  readonly speedFactor: number;
  readonly executor: 'emulated' | 'onnx';
  readonly threads: number;
  readonly maxSessions: number;
  readonly calibrate: boolean;
  readonly profile?: readonly string[];
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly announceMs: number;
  readonly edgeStatusExpiryMs: number;
}

/** `{hostname}-{pid}`, with characters ids may not hold replaced and the length capped at 64. */
function defaultWorkerId(): string {
  const pid = String(process.pid);
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-') || 'edge';
  return `${host.slice(0, 63 - pid.length)}-${pid}`;
}

function parseUnits(value: string): number {
  const units = parsePositiveInteger(value);
  if (units > MAX_UNITS) throw new InvalidArgumentError(`must be at most ${MAX_UNITS}`);
  return units;
}

async function runEdgeWorker(flags: EdgeWorkerFlags): Promise<void> {
  let worker: EdgeWorker;
  const log = startLogging(flags, 'edge-worker', { workerId: flags.id });
  const stopping = stopSignal({
    again: (signal) => {
      log.warn(`edge worker: ${signal} again, exiting without finishing jobs`);
      process.exit(1);
    },
  });
  const username = envValue(ENV.mqttUsername);
  const password = envValue(ENV.mqttPassword);
  let served: ServedMetrics | undefined;
  try {
    served = await serveMetrics(flags, `edge worker ${flags.id}`, log);
    const metrics = served === undefined ? undefined : edgeMetrics(served.metrics);
    const edgeProfiles = await loadEdgeProfiles(flags.profile ?? []);
    worker = await startEdgeWorker({
      edgeProfiles,
      ...(flags.executor === 'onnx'
        ? {
            executor: new ThreadedOnnxExecutor({
              workers: flags.units,
              threads: flags.threads,
              maxSessions: flags.maxSessions,
            }),
          }
        : {}),
      id: flags.id,
      units: flags.units,
      ...(metrics === undefined ? {} : { jobTimes: metrics.jobTimes(flags.id) }),
      onPacking: (packing) =>
        log.info(
          `edge worker ${flags.id}: packing ${packing.digest}: serves ${packing.served} UEs ` +
            `with ${packing.units} units (${packing.ues} UEs on ${packing.workers} workers)`,
          { packing: packing.digest, servedUes: packing.served, servedUnits: packing.units },
        ),
      onReconfirm: ({ dropped, kept }) =>
        log.info(
          `edge worker ${flags.id}: reconnected: other workers kept [${kept.join(', ')}], ` +
            `taken offline [${dropped.join(', ')}]`,
          { kept, dropped },
        ),
      onExpired: ({ workers }) =>
        log.warn(
          `edge worker ${flags.id}: taken offline [${workers.join(', ')}]: no status heard ` +
            `for ${flags.edgeStatusExpiryMs / 1000} s`,
          { expired: workers },
        ),
      calibrate: flags.calibrate,
      ...(flags.models === undefined ? {} : { models: flags.models }),
      speedFactor: flags.speedFactor,
      mqttUrl: flags.mqttUrl,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      redisUrl: flags.redisUrl,
      redisPrefix: flags.redisPrefix,
      topicPrefix: flags.topicPrefix,
      lockDurationMs: flags.lockDurationMs,
      stalledIntervalMs: flags.stalledIntervalMs,
      announceMs: flags.announceMs,
      edgeStatusExpiryMs: flags.edgeStatusExpiryMs,
      ...claimDirFromEnv(),
    });
    metrics?.add(worker);
  } catch (error) {
    const reason = asError(error).message;
    log.fatal(`edgesplit edge-worker: cannot start: ${reason}`);
    process.exit(exitCodeOf(error));
  }
  log.info(
    `edge worker ${worker.id}: online with ${worker.units} units (${flags.executor} executor)`,
    { units: worker.units },
  );
  const signal = await stopping;
  log.info(`edge worker ${worker.id}: ${signal}: finishing jobs in flight`);
  try {
    await worker.close();
  } catch (error) {
    const reason = asError(error).message;
    log.error(`edge worker ${worker.id}: close failed: ${reason}`);
    process.exit(1);
  }
  await served?.close();
  const { completed, failed } = worker.stats();
  log.info(`edge worker ${worker.id}: offline (${completed} completed, ${failed} failed)`, {
    completed,
    failed,
  });
  // Every connection is closed by now; exiting explicitly keeps a stray timer from holding on.
  process.exit(0);
}

/** `edgesplit edge-worker`: runs an edge worker until SIGTERM or SIGINT. */
export function registerEdgeWorkerCommand(program: Command): void {
  const command = program
    .command('edge-worker')
    .description(
      'run an edge worker: declare units and models, run the tails of its share of UE queues',
    )
    .addOption(
      new Option(
        '--id <id>',
        'worker id, 1-64 characters of [A-Za-z0-9._-]; with broker authentication it must be ' +
          `the MQTT username (env ${ENV.mqttUsername})`,
      ).default(
        envValue(ENV.mqttUsername) ?? defaultWorkerId(),
        `${ENV.mqttUsername} or hostname-pid`,
      ),
    )
    .option('--units <n>', `units: most tail jobs run at once (1 to ${MAX_UNITS})`, parseUnits, 4)
    .option(
      '--models <list>',
      `comma-separated models to serve (default: all: ${listModels().join(',')})`,
      parseModels,
    )
    .option(
      '--speed-factor <x>',
      'multiplies emulated compute time and declared edgeMs',
      parseNonNegative,
      EDGE_WORKER_DEFAULTS.speedFactor,
    )
    .addOption(
      new Option(
        '--executor <kind>',
        'tail executor: emulated (sleep the profiled time) or onnx (ONNX Runtime)',
      )
        .choices(['emulated', 'onnx'])
        .default('emulated'),
    )
    .option(
      '--profile <files>',
      'comma-separated profile files (edgesplit profile): declare their measured edgeMs',
      (value: string) => value.split(',').filter((path) => path !== ''),
    )
    .option(
      '--threads <n>',
      'onnx: intra-op threads of each running tail (one unit = one tail at a time)',
      parsePositiveInteger,
      1,
    )
    .option(
      '--max-sessions <n>',
      'onnx: tail sessions each unit keeps open; the least recently used is closed beyond it ' +
        '(a resnet18 tail holds 36-78 MiB)',
      parsePositiveInteger,
      DEFAULT_MAX_SESSIONS,
    )
    .option(
      '--calibrate',
      'declare what jobs really take: fit the declared edgeMs to the measured compute and overhead, declare again when they drift',
      false,
    )
    .option(
      '--lock-duration-ms <ms>',
      'BullMQ job lock; a dead worker is noticed after it expires',
      parsePositiveInteger,
      EDGE_WORKER_DEFAULTS.lockDurationMs,
    )
    .option(
      '--stalled-interval-ms <ms>',
      'how often stalled jobs are looked for',
      parsePositiveInteger,
      EDGE_WORKER_DEFAULTS.stalledIntervalMs,
    )
    .option(
      '--announce-ms <ms>',
      'how often the status is published again while connected',
      parsePositiveInteger,
      EDGE_WORKER_DEFAULTS.announceMs,
    )
    .option(
      '--edge-status-expiry-ms <ms>',
      'another worker whose status was not heard for this long is taken for offline (0: never)',
      parseInteger,
      EDGE_WORKER_DEFAULTS.edgeStatusExpiryMs,
    )
    .addHelpText(
      'after',
      `\n${ENV.claimDir}: the ingress's claim directory, when it keeps tensors in files on ` +
        'this host instead of in Redis (docs/scale-out.md).',
    );
  addMetricsOptions(addLogOptions(addConnectionOptions(command))).action(runEdgeWorker);
}
