import type { Command } from 'commander';
import { type Ingress, startIngress } from '../../broker/index.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REDIS_PREFIX,
  ENV,
  envValue,
  isValidId,
} from '../../proto/index.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import { EXIT_USAGE, mqttFromEnv, untilSignal } from '../options.js';
import { BROKER_ENV } from './broker-env.js';
import { QUEUE_BOUNDS_HELP, queueBoundsFromEnv } from './queue-bounds-env.js';

interface IngressFlags extends LogFlags {
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
  addLogOptions(command).action(runIngress);
}

async function runIngress(flags: IngressFlags): Promise<void> {
  const log = startLogging(flags, 'ingress');
  if (!isValidId(flags.clientId)) {
    log.fatal('edgesplit ingress: --client-id must be 1-64 characters of [A-Za-z0-9._-]');
    process.exitCode = EXIT_USAGE;
    return;
  }
  const maxPayload = envValue(BROKER_ENV.maxPayload);
  if (maxPayload !== undefined && !/^\d{1,12}$/.test(maxPayload)) {
    log.fatal(`edgesplit ingress: ${BROKER_ENV.maxPayload} must be a number of bytes`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const mqtt = mqttFromEnv();
  let ingress: Ingress;
  try {
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
    log.fatal(`edgesplit ingress: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
    return;
  }
  log.info(`edgesplit ingress: connected to ${mqtt.mqttUrl}`);
  const signal = await untilSignal();
  log.info(`edgesplit ingress: ${signal}, finishing requests in flight`);
  await ingress.close();
}
