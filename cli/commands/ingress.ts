import type { Command } from 'commander';
import { type Ingress, startIngress } from '../../broker/index.js';
import { watchIngress } from '../../metrics/index.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REDIS_PREFIX,
  ENV,
  envValue,
  isValidId,
} from '../../proto/index.js';
import {
  addMetricsOptions,
  type MetricsFlags,
  type ServedMetrics,
  serveMetrics,
} from '../metrics-options.js';
import { EXIT_USAGE, mqttFromEnv, untilSignal } from '../options.js';
import { BROKER_ENV } from './broker-env.js';
import { QUEUE_BOUNDS_HELP, queueBoundsFromEnv } from './queue-bounds-env.js';

interface IngressFlags extends MetricsFlags {
  readonly clientId: string;
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
      'MQTT client id; the session is persistent, so a restarted ingress gets what it missed',
      'edgesplit-ingress',
    )
    .addHelpText(
      'after',
      `\nEnvironment: ${ENV.mqttUrl}, ${ENV.mqttUsername}, ${ENV.mqttPassword}, ${ENV.redisUrl}, ` +
        `${ENV.redisPrefix}, ${ENV.topicPrefix}, ${BROKER_ENV.maxPayload}; ${QUEUE_BOUNDS_HELP}`,
    );
  addMetricsOptions(command).action(runIngress);
}

async function runIngress(flags: IngressFlags): Promise<void> {
  if (!isValidId(flags.clientId)) {
    process.stderr.write(
      'edgesplit ingress: --client-id must be 1-64 characters of [A-Za-z0-9._-]\n',
    );
    process.exitCode = EXIT_USAGE;
    return;
  }
  const maxPayload = envValue(BROKER_ENV.maxPayload);
  if (maxPayload !== undefined && !/^\d{1,12}$/.test(maxPayload)) {
    process.stderr.write(`edgesplit ingress: ${BROKER_ENV.maxPayload} must be a number of bytes\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const mqtt = mqttFromEnv();
  let ingress: Ingress;
  let served: ServedMetrics | undefined;
  try {
    served = await serveMetrics(flags, 'edgesplit ingress');
    ingress = await startIngress({
      mqttUrl: mqtt.mqttUrl,
      topicPrefix: mqtt.topicPrefix,
      ...(mqtt.username === undefined ? {} : { username: mqtt.username }),
      ...(mqtt.password === undefined ? {} : { password: mqtt.password }),
      clientId: flags.clientId,
      redisUrl: envValue(ENV.redisUrl) ?? 'redis://127.0.0.1:6379',
      redisPrefix: envValue(ENV.redisPrefix) ?? DEFAULT_REDIS_PREFIX,
      maxPayloadBytes: maxPayload === undefined ? DEFAULT_MAX_PAYLOAD_BYTES : Number(maxPayload),
      ...queueBoundsFromEnv(),
    });
  } catch (error) {
    process.stderr.write(`edgesplit ingress: ${error instanceof Error ? error.message : error}\n`);
    process.exitCode = 1;
    await served?.close();
    return;
  }
  if (served !== undefined) watchIngress(served.metrics, ingress);
  process.stderr.write(`edgesplit ingress: connected to ${mqtt.mqttUrl}\n`);
  const signal = await untilSignal();
  process.stderr.write(`edgesplit ingress: ${signal}, finishing requests in flight\n`);
  await ingress.close();
  await served?.close();
}
