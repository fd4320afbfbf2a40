/**
 * `edgesplit broker`: runs the embedded broker (and its ingress) until SIGINT or SIGTERM; its
 * subcommands are registered here from files of their own.
 */
import { type Command, Option } from 'commander';
import {
  attachIngress,
  type Broker,
  createBroker,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_CONNECT_BYTES,
  DEFAULT_MAX_PENDING_PER_ADDRESS,
  DEFAULT_PACKET_TIMEOUT_MS,
  type Ingress,
  parseTokens,
} from '../../broker/index.js';
import { watchBroker, watchIngress } from '../../metrics/index.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
} from '../../proto/index.js';
import { ENV, envValue } from '../../runtime/env.js';
import { stopSignal } from '../../runtime/shutdown.js';
import { addLogOptions, startLogging } from '../log-options.js';
import { addMetricsOptions, type ServedMetrics, serveMetrics } from '../metrics-options.js';
import { exitOnUsageError, parseBytes, parseInteger, parseMs, parsePort } from '../options.js';
import { registerAddUserCommand } from './broker-add-user.js';
import { BROKER_ENV, ENV_HELP, fromEnv } from './broker-env.js';
import { fail } from './broker-fail.js';
import { registerHashPasswordCommand } from './broker-hash-password.js';
import { type BrokerFlags, brokerOptions } from './broker-options.js';
import { claimDirFromEnv } from './claim-dir-env.js';
import { queueBoundsFromEnv } from './queue-bounds-env.js';
import { registerUeKeyCommand } from './ue-key.js';

async function runBroker(flags: BrokerFlags): Promise<void> {
  const log = startLogging(flags, 'broker');
  let broker: Broker | undefined;
  let ingress: Ingress | undefined;
  let served: ServedMetrics | undefined;
  try {
    const tokens = fromEnv(undefined, BROKER_ENV.tokens, parseTokens) ?? [];
    const options = await brokerOptions(flags, tokens);
    broker = await createBroker(options);
    const scheme = options.tls === undefined ? 'mqtt' : 'mqtts';
    const ws =
      broker.wsPort === undefined
        ? ''
        : `, ${scheme === 'mqtts' ? 'wss' : 'ws'} port ${broker.wsPort}`;
    log.info(
      `edgesplit broker listening on ${scheme}://${options.host}:${broker.port}${ws}, ` +
        `auth ${options.auth === 'off' ? 'OFF' : 'on'}, max payload ${options.maxPayloadBytes} bytes, ` +
        `retained decisions ${options.retainedStore === undefined ? 'in memory only' : 'kept in redis'}`,
      { port: broker.port, ...(broker.wsPort === undefined ? {} : { wsPort: broker.wsPort }) },
    );
    if (flags.ingress)
      ingress = attachIngress(broker, {
        redisUrl: envValue(ENV.redisUrl) ?? 'redis://127.0.0.1:6379',
        redisPrefix: envValue(ENV.redisPrefix) ?? DEFAULT_REDIS_PREFIX,
        topicPrefix: options.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
        maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        ...queueBoundsFromEnv(),
        ...claimDirFromEnv(),
      });
    served = await serveMetrics(flags, 'edgesplit broker', log);
    if (served !== undefined) {
      watchBroker(served.metrics, broker);
      if (ingress !== undefined) watchIngress(served.metrics, ingress);
    }
  } catch (error) {
    fail(error, log);
    // The broker first, so that no request is acknowledged once the ingress stops taking them.
    await broker?.close();
    await ingress?.close();
    return;
  }
  // A second signal while closing gives up on a clean close.
  const signal = await stopSignal({ again: () => process.exit(1) });
  log.info(`edgesplit broker: ${signal}, closing`);
  await broker.close();
  await ingress?.close();
  await served?.close();
}

/** `edgesplit broker`, `edgesplit broker hash-password`, `edgesplit broker add-user`. */
export function registerBrokerCommands(program: Command): void {
  const broker = program
    .command('broker')
    .description('run the MQTT broker with authentication and ACLs, and the ingress')
    .option('--port <n>', `MQTT port; 0 picks a free one (default 1883)`, parsePort)
    .option('--host <address>', 'address to bind (default 0.0.0.0)')
    .option('--ws-port <n>', 'also serve MQTT over WebSocket on this port', parsePort)
    .option('--tls-key <file>', 'PEM private key: TLS on the MQTT port, wss on the WebSocket port')
    .option('--tls-cert <file>', 'PEM certificate (with --tls-key)')
    .option('--credentials <file>', 'credentials file (see "broker add-user")')
    .option('--no-auth', 'let any client connect and do anything (logged as a warning)')
    .addOption(
      new Option('--max-payload <bytes>', 'largest payload accepted (default 16 MiB)').argParser(
        parseBytes,
      ),
    )
    .addOption(
      new Option(
        '--connect-timeout <ms>',
        `time from accept to login (TLS handshake, WebSocket upgrade, CONNECT, authentication) (default ${DEFAULT_CONNECT_TIMEOUT_MS})`,
      ).argParser(parseMs),
    )
    .addOption(
      new Option(
        '--max-pending-per-address <n>',
        `most connections of one address still logging in; 0: no limit (default ${DEFAULT_MAX_PENDING_PER_ADDRESS})`,
      ).argParser(parseInteger),
    )
    .addOption(
      new Option(
        '--max-connect-bytes <bytes>',
        `most bytes read before authentication, CONNECT and will included (default ${DEFAULT_MAX_CONNECT_BYTES})`,
      ).argParser(parseBytes),
    )
    .addOption(
      new Option(
        '--packet-timeout <ms>',
        `longest a packet may take from first to last byte, whatever the keepalive (default ${DEFAULT_PACKET_TIMEOUT_MS})`,
      ).argParser(parseMs),
    )
    .option('--no-ingress', 'do not run the ingress (infer messages to BullMQ jobs)')
    .option(
      '--no-retained-store',
      "keep the scheduler's retained decisions and status in memory only, not in Redis (lost on restart)",
    )
    .addHelpText('after', ENV_HELP);
  // Set before adding subcommands: commander copies the exit handler into them on creation.
  addLogOptions(broker);
  broker.exitOverride(exitOnUsageError);
  addMetricsOptions(broker).action(runBroker);

  registerHashPasswordCommand(broker);
  registerAddUserCommand(broker);

  registerUeKeyCommand(broker);
}
