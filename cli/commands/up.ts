import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { TraceError, type TraceSpec } from '../../agents/index.js';
import { BrokerListenError } from '../../broker/index.js';
import {
  FleetOptionsError,
  MAX_FLEET_UES,
  MAX_SEED,
  type MeasuredProfile,
  REAL_MODELS,
} from '../../dnn/index.js';
import { asError } from '../../runtime/as-error.js';
import { ENV, envValue } from '../../runtime/env.js';
import type { Logger } from '../../runtime/log.js';
import { stopSignal } from '../../runtime/shutdown.js';
import { bindError, type PrivateRedis, runStack, startPrivateRedis } from '../../system/index.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import {
  addMetricsOptions,
  type MetricsFlags,
  type ServedMetrics,
  serveMetrics,
} from '../metrics-options.js';
import {
  addFleetRunOptions,
  EXIT_USAGE,
  exitCodeOf,
  loadTrace,
  parseEnv,
  parseInteger,
  parseNonNegative,
  parsePort,
  rateLimitedWarnings,
} from '../options.js';
import { stdoutClosed } from '../stdout-epipe.js';
import { REAL_INFERENCE_MODELS, RealInference, storedProfile } from '../up/real-inference.js';
import { formatFinal, formatLive, jsonSummary, lostRequests } from '../up/up-report.js';
import { claimDirFromEnv } from './claim-dir-env.js';

/** Environment variable of the embedded broker's port (flag wins). */
export const UP_PORT_ENV = 'MQTT_PORT';

/** `up` serves its metrics unless told otherwise, on a free port (the URL is its first line). */
const UP_METRICS_PORT = 0;

interface UpFlags extends LogFlags, MetricsFlags {
  readonly port?: number;
  readonly host: string;
  readonly workers: number;
  readonly units?: number;
  readonly ues: number;
  readonly seed: number;
  readonly models?: readonly string[];
  readonly trace: string;
  readonly duration?: number;
  readonly summaryEvery: number;
  readonly graceS: number;
  readonly json: boolean;
  readonly executor: 'emulated' | 'onnx';
  readonly thinkMs?: number;
  /** false with --no-dashboard. */
  readonly dashboard: boolean;
  readonly dashboardPort: number;
}

export function registerUpCommand(program: Command): void {
  const up = program
    .command('up')
    .description(
      'run everything in one process: embedded broker (authentication OFF), ingress, scheduler, ' +
        'edge workers and a simulated fleet, with a live summary; Ctrl-C stops it',
    )
    .option(
      '--port <n>',
      `MQTT port of the embedded broker, 0 for a free one (env ${UP_PORT_ENV}; default 1883)`,
      parsePort,
    )
    .option(
      '--host <addr>',
      'address the broker binds to (0.0.0.0 to let real devices in)',
      '127.0.0.1',
    )
    .option('--workers <n>', 'edge workers', parseInteger, 2)
    .option(
      '--units <n>',
      'units per edge worker (default: 4 emulated; with onnx, the cores shared out over the ' +
        'workers, at least 1: a real unit is a core)',
      parseInteger,
    )
    .option('--ues <n>', `simulated UEs (0 to ${MAX_FLEET_UES})`, parseInteger, 12)
    .option('--seed <s>', `fleet seed (0 to ${MAX_SEED})`, parseInteger, 1);
  addFleetRunOptions(up, {
    trace: 'walk',
    summaryEveryS: 2,
    executor: 'onnx',
    models: `${REAL_INFERENCE_MODELS.join(',')}; with --executor emulated ${REAL_MODELS.join(',')}`,
  })
    .option(
      '--think-ms <ms>',
      'pause of each UE between tasks (default: 500 with onnx, so 12 UEs fit 2 cores; else 0)',
      parseNonNegative,
    )
    .option('--grace-s <s>', 'seconds requests in flight at the end may take', parseNonNegative, 30)
    .option(
      '--dashboard-port <n>',
      'HTTP port of the live dashboard (docs/dashboard.md), on --host; 0 for a free one',
      parsePort,
      0,
    )
    .option('--no-dashboard', 'do not serve the dashboard')
    .option(
      '--json',
      'print one JSON summary on stdout at the end (live lines go to stderr)',
      false,
    );
  // The live lines are what `up` shows: its parts log only warnings and errors unless asked.
  // Metrics on by default here, on a free port: the URL is the first line up prints (on stderr).
  addMetricsOptions(addLogOptions(up, 'warn'), UP_METRICS_PORT).action(runUp);
}

/** Why the broker cannot listen on `port`, and how to choose another. */
function portMessage(port: number, error: NodeJS.ErrnoException | undefined): string {
  const how = `pass --port N (0 picks a free port) or set ${UP_PORT_ENV}`;
  if (error?.code === 'EADDRINUSE')
    return `port ${port} is taken (another MQTT broker, e.g. Mosquitto, may be running): ${how}`;
  return `cannot listen on port ${port} (${error?.message ?? 'unknown error'}): ${how}`;
}

async function runUp(flags: UpFlags): Promise<void> {
  const log = startLogging(flags, 'up', {}, 'warn');
  const fail = (message: string, code: number) => {
    log.fatal(`edgesplit up: ${message}`);
    process.exitCode = code;
  };
  const onnx = flags.executor === 'onnx';
  const units =
    flags.units ?? (onnx ? Math.max(1, Math.floor(availableParallelism() / flags.workers)) : 4);
  if (flags.workers < 1 || units < 1) return fail('--workers and --units must be >= 1', EXIT_USAGE);
  let port = flags.port;
  if (port === undefined) {
    try {
      port = parseEnv(UP_PORT_ENV, parsePort) ?? 1883;
    } catch (error) {
      return fail(asError(error).message, EXIT_USAGE);
    }
  }
  // Before measuring models (up to half a minute the first time): a taken port fails at once.
  const portError = port === 0 ? undefined : await bindError(flags.host, port);
  if (portError !== undefined) return fail(portMessage(port, portError), 1);
  let served: ServedMetrics | undefined;
  try {
    served = await serveMetrics(flags, 'edgesplit up', log, {
      defaultPort: UP_METRICS_PORT,
      // up's own first line (its parts log warnings only unless asked): where to scrape.
      announce: (message) => process.stderr.write(`${message}\n`),
    });
  } catch (error) {
    return fail(`metrics: ${asError(error).message}`, exitCodeOf(error));
  }
  try {
    await runUpServed(flags, port, units, served, log);
  } finally {
    await served?.close();
  }
}

async function runUpServed(
  flags: UpFlags,
  port: number,
  units: number,
  served: ServedMetrics | undefined,
  log: Logger,
): Promise<void> {
  const fail = (message: string, code: number) => {
    log.fatal(`edgesplit up: ${message}`);
    process.exitCode = code;
  };
  const onnx = flags.executor === 'onnx';
  let trace: TraceSpec;
  try {
    trace = await loadTrace(flags.trace);
  } catch (error) {
    return fail(asError(error).message, error instanceof TraceError ? EXIT_USAGE : 1);
  }
  const live = flags.json ? process.stderr : process.stdout;
  const models = flags.models ?? (onnx ? [...REAL_INFERENCE_MODELS] : undefined);
  let real: RealInference | undefined;
  if (onnx) {
    const profiles = new Map<string, MeasuredProfile>();
    for (const model of new Set(models)) {
      const progress = (name: string, done: number, total: number) => {
        if (done === 1 || done === total)
          live.write(
            `measuring ${name} with ONNX Runtime (once; kept in the model store): ${done}/${total}\n`,
          );
      };
      profiles.set(model, await storedProfile(model, progress));
    }
    real = new RealInference(profiles, flags.workers * units);
  }
  let privateRedis: PrivateRedis | undefined;
  let redisUrl = envValue(ENV.redisUrl);
  if (redisUrl === undefined) {
    try {
      privateRedis = await startPrivateRedis();
      redisUrl = privateRedis.url;
    } catch (error) {
      return fail(asError(error).message, 1);
    }
  }
  const redisPrefix = envValue(ENV.redisPrefix);
  const controller = new AbortController();
  const run = runStack({
    port,
    host: flags.host,
    redisUrl,
    ...(redisPrefix === undefined ? {} : { redisPrefix }),
    workers: flags.workers,
    ...(real === undefined ? {} : { realInference: real }),
    thinkTimeMs: flags.thinkMs ?? (onnx ? 500 : 0),
    unitsPerWorker: units,
    ues: flags.ues,
    seed: flags.seed,
    ...(models === undefined ? {} : { models }),
    trace,
    ...(flags.duration === undefined ? {} : { durationS: flags.duration }),
    signal: controller.signal,
    summaryEveryS: flags.summaryEvery,
    stopGraceMs: flags.graceS * 1000,
    ...(served === undefined ? {} : { metrics: served.metrics }),
    ...(flags.dashboard ? { dashboardPort: flags.dashboardPort } : {}),
    ...claimDirFromEnv(),
    onReady: ({ mqttUrl, dashboardUrl }) =>
      live.write(
        `edgesplit up: broker ${mqttUrl} (authentication OFF), ` +
          `Redis ${privateRedis === undefined ? redisUrl : `${redisUrl} (private redis-server)`}, ` +
          `${flags.workers} edge workers x ${units} unit${units === 1 ? '' : 's'}, ${flags.ues} simulated UEs; ` +
          `${dashboardUrl === undefined ? '' : `dashboard ${dashboardUrl}; `}` +
          `${served === undefined ? '' : `metrics ${served.server.url}; `}Ctrl-C stops\n`,
      ),
    onSummary: (window, view) => live.write(`${formatLive(window, view)}\n`),
    onWarning: rateLimitedWarnings(log.child({ component: 'fleet' })),
    log,
  });
  // A second signal does not wait.
  const again = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
  void stopSignal({ done: run, again }).then((signal) => {
    if (signal === undefined) return;
    if (!stdoutClosed())
      log.warn(`edgesplit up: ${signal}, finishing requests in flight and stopping`);
    controller.abort();
  });
  try {
    const { summary, view } = await run;
    if (flags.json) process.stdout.write(`${JSON.stringify(jsonSummary(summary))}\n`);
    else live.write(`${formatFinal(summary, view)}\n`);
    const lost = lostRequests(summary);
    if (lost > 0) fail(`${lost} of ${summary.requests} requests got no result`, 1);
  } catch (error) {
    if (error instanceof BrokerListenError)
      fail(portMessage(port, error.cause as NodeJS.ErrnoException), 1);
    else if (error instanceof FleetOptionsError) fail(`--${error.message}`, EXIT_USAGE);
    else fail(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
  } finally {
    await real?.close();
    await privateRedis?.stop();
  }
}
