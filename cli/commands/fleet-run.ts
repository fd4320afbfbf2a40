/** `edgesplit fleet run`: a simulated fleet of UE agents in this process, against a live broker. */
import type { Command } from 'commander';
import {
  type BeforeDecision,
  type FleetSummary,
  formatPredictionErrors,
  formatWindow,
  runFleet,
  type TraceSpec,
  type UeAgent,
} from '../../agents/index.js';
import { MAX_FLEET_UES, MAX_SEED, ThreadedOnnxExecutor } from '../../dnn/index.js';
import { agentMetrics } from '../../metrics/index.js';
import { asError } from '../../runtime/as-error.js';
import { ENV, envValue } from '../../runtime/env.js';
import { stopSignal } from '../../runtime/shutdown.js';
import {
  currentUeKeyGeneration,
  deriveUeKey,
  fleetKeyProblem,
  parseUeKeyRevocations,
  type UeKeyRevocations,
} from '../../runtime/ue-key.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import {
  addMetricsOptions,
  type MetricsFlags,
  type ServedMetrics,
  serveMetrics,
} from '../metrics-options.js';
import {
  addAgentBehaviourOptions,
  addFleetRunOptions,
  EXIT_USAGE,
  exitCodeOf,
  loadTrace,
  mqttFromEnv,
  parseInteger,
  parseNonNegative,
  rateLimitedWarnings,
} from '../options.js';
import { stdoutClosed } from '../stdout-epipe.js';

/** Adds `fleet run` to `fleet`. */
export function registerFleetRunCommand(fleet: Command): void {
  const run = fleet
    .command('run')
    .description(
      'run a simulated fleet of UE agents in this process against a live broker (MQTT_URL)',
    )
    .requiredOption('--ues <n>', `number of UEs (0 to ${MAX_FLEET_UES})`, parseInteger)
    .requiredOption(
      '--seed <s>',
      `PRNG seed (0 to ${MAX_SEED}): same seed, same fleet`,
      parseInteger,
    );
  addFleetRunOptions(run, { trace: 'constant', summaryEveryS: 5, executor: 'emulated' });
  addAgentBehaviourOptions(run)
    .option('--think-ms <ms>', 'pause between tasks of each UE', parseNonNegative, 0)
    .option('--speed <factor>', 'multiplies every device time', parseNonNegative, 1)
    .option(
      '--json',
      'print the final summary as JSON on stdout (summary lines go to stderr)',
      false,
    );
  addMetricsOptions(addLogOptions(run)).action(runFleetCommand);
}

interface RunFlags extends LogFlags, MetricsFlags {
  readonly ues: number;
  readonly seed: number;
  readonly models?: readonly string[];
  readonly trace: string;
  readonly duration?: number;
  readonly summaryEvery: number;
  readonly thinkMs: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly speed: number;
  readonly realLink: boolean;
  readonly beforeDecision: BeforeDecision;
  readonly json: boolean;
  readonly executor: 'emulated' | 'onnx';
}

async function runFleetCommand(flags: RunFlags): Promise<void> {
  const log = startLogging(flags, 'fleet');
  const fail = (error: unknown) => {
    const message = asError(error).message;
    log.fatal(`edgesplit fleet run: ${message}`);
    process.exitCode = exitCodeOf(error);
  };
  let trace: TraceSpec;
  try {
    trace = await loadTrace(flags.trace);
  } catch (error) {
    fail(error);
    return;
  }
  const fleetKey = envValue(ENV.ueFleetKey);
  const keyProblem = fleetKey === undefined ? undefined : fleetKeyProblem(fleetKey);
  if (keyProblem !== undefined) {
    log.fatal(`edgesplit fleet run: ${ENV.ueFleetKey} ${keyProblem}`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  let revocations: UeKeyRevocations;
  try {
    revocations = parseUeKeyRevocations(envValue(ENV.ueKeyRevoked) ?? '');
  } catch (error) {
    log.fatal(`edgesplit fleet run: ${ENV.ueKeyRevoked}: ${asError(error).message}`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  let served: ServedMetrics | undefined;
  try {
    served = await serveMetrics(flags, 'edgesplit fleet run', log);
  } catch (error) {
    fail(error);
    return;
  }
  const agents = served === undefined ? undefined : agentMetrics(served.metrics);
  const lines = flags.json ? process.stderr : process.stdout;
  const controller = new AbortController();
  // One pool of threads for the whole fleet, as big as this machine: the devices share its cores.
  const executor = flags.executor === 'onnx' ? new ThreadedOnnxExecutor() : undefined;
  const run = runFleet({
    ...mqttFromEnv(),
    // Each UE logs in as itself with its key derived from the fleet key, of the generation the
    // broker accepts (a UE whose every key is revoked is refused, as a real device would be).
    ...(fleetKey === undefined
      ? {}
      : {
          credentialsFor: (ue: string) => ({
            username: ue,
            password: deriveUeKey(fleetKey, ue, currentUeKeyGeneration(revocations, ue) ?? 1),
          }),
        }),
    ues: flags.ues,
    seed: flags.seed,
    ...(flags.models === undefined ? {} : { models: flags.models }),
    trace,
    ...(flags.duration === undefined ? {} : { durationS: flags.duration }),
    signal: controller.signal,
    summaryEveryS: flags.summaryEvery,
    thinkTimeMs: flags.thinkMs,
    requestTimeoutMs: flags.timeoutMs,
    maxRetries: flags.maxRetries,
    speedFactor: flags.speed,
    ...(executor === undefined ? {} : { executor }),
    linkMode: flags.realLink ? 'real' : 'emulated',
    beforeDecision: flags.beforeDecision,
    onSummary: (window) => lines.write(`${formatWindow(window)}\n`),
    onWarning: rateLimitedWarnings(log),
    ...(agents === undefined ? {} : { onAgent: (agent: UeAgent) => agents.add(agent) }),
  });
  void stopSignal({ done: run }).then((signal) => {
    if (signal === undefined) return;
    if (!stdoutClosed()) log.info(`edgesplit fleet run: ${signal}, stopping`);
    controller.abort();
  });
  let summary: FleetSummary;
  try {
    summary = await run;
  } catch (error) {
    fail(error);
    return;
  } finally {
    await executor?.close();
    await served?.close();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else process.stdout.write(`${formatFleetSummary(summary)}\n`);
}

const fixed = (value: number | null, unit = ' ms') =>
  value === null ? '-' : `${value.toFixed(1)}${unit}`;

function formatFleetSummary(s: FleetSummary): string {
  return [
    `fleet: ${s.ues} UEs, ${s.epochs} epochs; requests ${s.requests}: ok ${s.ok} failed ${s.failed} ` +
      `retried ${s.retried}, duplicates dropped ${s.duplicatesDropped}`,
    `latency: max predicted ${fixed(s.maxPredictedMs)}, measured p50 ${fixed(s.measured.p50Ms)} ` +
      `p99 ${fixed(s.measured.p99Ms)}`,
    formatPredictionErrors(s.predictionError),
  ].join('\n');
}
