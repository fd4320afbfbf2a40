import type { Command } from 'commander';
import {
  DEFAULT_INGRESS_CONNECTIONS,
  type Ingress,
  type IngressStats,
  MAX_INGRESS_CONNECTIONS,
  startIngress,
} from '../../broker/index.js';
import { watchIngress } from '../../metrics/index.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_REDIS_PREFIX, isValidId } from '../../proto/index.js';
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
  EXIT_USAGE,
  exitCodeOf,
  mqttFromEnv,
  parseEnv,
  parseInteger,
  redisSettingsProblem,
  wholeNumberParser,
} from '../options.js';
import { BROKER_ENV } from './broker-env.js';
import { claimDirFromEnv } from './claim-dir-env.js';
import { QUEUE_BOUNDS_HELP, queueBoundsFromEnv } from './queue-bounds-env.js';

interface IngressFlags extends LogFlags, MetricsFlags {
  readonly clientId?: string;
  readonly group?: string;
  readonly connections: number;
  readonly statsEvery: number;
}

/** One line of an ingress's counters, for its log. */
function statsLine(stats: IngressStats): string {
  return (
    `accepted ${stats.accepted}, duplicates ${stats.duplicates}, answered again ` +
    `${stats.answeredAgain}, rejected ${stats.rejected}, no units ${stats.noUnits}, queue full ` +
    `${stats.queueFull}, unavailable ${stats.failed}, expired ${stats.expired}`
  );
}

/**
 * `edgesplit ingress`: the ingress alone, against any broker (`MQTT_URL`: Mosquitto, EMQX, or an
 * `edgesplit broker --no-ingress`).
 */
export function registerIngressCommand(program: Command): void {
  const command = program
    .command('ingress')
    .description(
      'turn ue/+/infer messages from the broker at MQTT_URL into BullMQ jobs on REDIS_URL ' +
        '(the ingress "edgesplit broker" embeds, for other brokers)',
    )
    .option(
      '--client-id <id>',
      'MQTT client id; without --group the session is persistent, so a restarted ingress gets ' +
        'what it missed (default: edgesplit-ingress; with --group, edgesplit-ingress-GROUP-RANDOM)',
    )
    .option(
      '--group <name>',
      'share the requests with every ingress of this group through an MQTT shared subscription ' +
        '($share/NAME/...; Mosquitto 1.6+, EMQX; not the embedded broker): clean session, and ' +
        'what a killed member held is resent by its UEs (docs/scale-out.md)',
    )
    .option(
      '--connections <n>',
      `request connections (1-${MAX_INGRESS_CONNECTIONS}), each storing up to 16 requests at once, ` +
        'sharing the requests through a shared subscription of their own (with --group, of ' +
        "the group's); a broker without shared subscriptions gets one (docs/scale-out.md)",
      parseInteger,
      DEFAULT_INGRESS_CONNECTIONS,
    )
    .option(
      '--stats-every <seconds>',
      'log the counters (accepted, duplicates, ...) this often when they changed; 0: only on exit',
      parseInteger,
      60,
    )
    .addHelpText(
      'after',
      `\nEnvironment: ${ENV.mqttUrl}, ${ENV.mqttUsername}, ${ENV.mqttPassword}, ${ENV.redisUrl}, ` +
        `${ENV.redisPrefix}, ${ENV.topicPrefix}, ${BROKER_ENV.maxPayload}; ${QUEUE_BOUNDS_HELP}; ` +
        `${ENV.claimDir}: a tmpfs directory for tensors instead of Redis values, shared with ` +
        'the edge workers of this host (docs/scale-out.md)',
    );
  addMetricsOptions(addLogOptions(command)).action(runIngress);
}

async function runIngress(flags: IngressFlags): Promise<void> {
  const log = startLogging(flags, 'ingress');
  if (flags.clientId !== undefined && !isValidId(flags.clientId)) {
    log.fatal('edgesplit ingress: --client-id must be 1-64 characters of [A-Za-z0-9._-]');
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (flags.group !== undefined && !isValidId(flags.group)) {
    log.fatal('edgesplit ingress: --group must be 1-64 characters of [A-Za-z0-9._-]');
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (flags.connections < 1 || flags.connections > MAX_INGRESS_CONNECTIONS) {
    log.fatal(`edgesplit ingress: --connections must be 1-${MAX_INGRESS_CONNECTIONS}`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const redisUrl = envValue(ENV.redisUrl) ?? 'redis://127.0.0.1:6379';
  const redisPrefix = envValue(ENV.redisPrefix) ?? DEFAULT_REDIS_PREFIX;
  const redisProblem = redisSettingsProblem(redisUrl, redisPrefix);
  if (redisProblem !== undefined) {
    log.fatal(`edgesplit ingress: ${redisProblem}`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  let maxPayload: number | undefined;
  try {
    maxPayload = parseEnv(BROKER_ENV.maxPayload, wholeNumberParser(0, 12, 'bytes'));
  } catch (error) {
    log.fatal(`edgesplit ingress: ${asError(error).message}`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const mqtt = mqttFromEnv();
  let ingress: Ingress;
  let served: ServedMetrics | undefined;
  try {
    served = await serveMetrics(flags, 'edgesplit ingress', log);
    ingress = await startIngress({
      mqttUrl: mqtt.mqttUrl,
      topicPrefix: mqtt.topicPrefix,
      ...(mqtt.username === undefined ? {} : { username: mqtt.username }),
      ...(mqtt.password === undefined ? {} : { password: mqtt.password }),
      ...(flags.clientId === undefined ? {} : { clientId: flags.clientId }),
      ...(flags.group === undefined ? {} : { group: flags.group }),
      connections: flags.connections,
      redisUrl,
      redisPrefix,
      maxPayloadBytes: maxPayload ?? DEFAULT_MAX_PAYLOAD_BYTES,
      ...queueBoundsFromEnv(),
      ...claimDirFromEnv(),
    });
  } catch (error) {
    log.fatal(`edgesplit ingress: ${asError(error).message}`);
    process.exitCode = exitCodeOf(error);
    await served?.close();
    return;
  }
  if (served !== undefined) watchIngress(served.metrics, ingress);
  log.info(`edgesplit ingress: connected to ${mqtt.mqttUrl}`);
  let logged = '';
  const logStats = () => {
    const line = statsLine(ingress.stats());
    if (line !== logged) log.info(`edgesplit ingress: ${line}`);
    logged = line;
  };
  const timer =
    flags.statsEvery > 0 ? setInterval(logStats, flags.statsEvery * 1000).unref() : undefined;
  const signal = await stopSignal();
  clearInterval(timer);
  log.info(`edgesplit ingress: ${signal}, finishing requests in flight`);
  await ingress.close();
  log.info(`edgesplit ingress: stopped: ${statsLine(ingress.stats())}`);
  await served?.close();
}
