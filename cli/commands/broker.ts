import { readFile } from 'node:fs/promises';
import { type Command, type CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  attachIngress,
  type Broker,
  BrokerListenError,
  type BrokerOptions,
  CredentialsError,
  createBroker,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_CONNECT_BYTES,
  DEFAULT_MAX_PENDING_PER_ADDRESS,
  DEFAULT_PACKET_TIMEOUT_MS,
  hashPassword,
  type Ingress,
  isRole,
  type LoginLimits,
  parseTokens,
  ROLES,
  resolveLoginLimits,
  type TokenRecord,
  upsertUser,
} from '../../broker/index.js';
import { watchBroker, watchIngress } from '../../metrics/index.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  ENV,
  envValue,
  isValidId,
  parseUeKeyRevocations,
} from '../../proto/index.js';
import type { Logger } from '../../runtime/log.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import {
  addMetricsOptions,
  type MetricsFlags,
  type ServedMetrics,
  serveMetrics,
} from '../metrics-options.js';
import { EXIT_USAGE, parsePort } from '../options.js';
import { BROKER_ENV, ENV_HELP, LOGIN_ENV } from './broker-env.js';
import { queueBoundsFromEnv } from './queue-bounds-env.js';
import { registerUeKeyCommand } from './ue-key.js';

interface BrokerFlags extends LogFlags, MetricsFlags {
  readonly port?: number;
  readonly host?: string;
  readonly wsPort?: number;
  readonly tlsKey?: string;
  readonly tlsCert?: string;
  readonly credentials?: string;
  readonly auth: boolean;
  readonly maxPayload?: number;
  readonly connectTimeout?: number;
  readonly maxPendingPerAddress?: number;
  readonly maxConnectBytes?: number;
  readonly packetTimeout?: number;
  readonly ingress: boolean;
  readonly retainedStore: boolean;
}

class UsageError extends Error {}

function parseBytes(value: string): number {
  if (!/^\d{1,12}$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('must be a positive number of bytes');
  return Number(value);
}

function parseMs(value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('must be a positive number of milliseconds');
  return Number(value);
}

function parseCount(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError('must be a whole number >= 0');
  return Number(value);
}

/** A flag's value, else its environment variable's (parsed alike), else undefined. */
function fromEnv<T>(flag: T | undefined, name: string, parse: (text: string) => T): T | undefined {
  if (flag !== undefined) return flag;
  const text = envValue(name);
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new UsageError(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The login limits set in the environment, checked together with the defaults. */
function loginLimitsFromEnv(): Partial<LoginLimits> {
  const limits: Partial<Record<keyof LoginLimits, number>> = {};
  for (const limit of Object.keys(LOGIN_ENV) as (keyof LoginLimits)[]) {
    const value = fromEnv(undefined, LOGIN_ENV[limit], parseCount);
    if (value !== undefined) limits[limit] = value;
  }
  try {
    resolveLoginLimits(limits);
  } catch (error) {
    // Name the variables, not the option names the message uses.
    const names = LOGIN_ENV as Readonly<Record<string, string>>;
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\b\w+\b/g, (word) => names[word] ?? word));
  }
  return limits;
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read the TLS ${what} ${path}: ${(error as Error).message}`);
  }
}

async function brokerOptions(flags: BrokerFlags, tokens: TokenRecord[]): Promise<BrokerOptions> {
  const tlsKey = fromEnv(flags.tlsKey, BROKER_ENV.tlsKey, String);
  const tlsCert = fromEnv(flags.tlsCert, BROKER_ENV.tlsCert, String);
  if ((tlsKey === undefined) !== (tlsCert === undefined))
    throw new UsageError('--tls-key and --tls-cert go together');
  const wsPort = fromEnv(flags.wsPort, BROKER_ENV.wsPort, parsePort);
  const credentialsFile = fromEnv(flags.credentials, BROKER_ENV.credentials, String);
  const authOff = !flags.auth || envValue(BROKER_ENV.auth) === 'off';
  const ueFleetKey = envValue(ENV.ueFleetKey);
  const ueKeyRevocations = fromEnv(undefined, ENV.ueKeyRevoked, parseUeKeyRevocations);
  if (!authOff && credentialsFile === undefined && tokens.length === 0 && ueFleetKey === undefined)
    throw new UsageError(
      `no credentials: pass --credentials FILE or set ${BROKER_ENV.tokens} or ${ENV.ueFleetKey}, or run with --no-auth`,
    );
  return {
    port: fromEnv(flags.port, BROKER_ENV.port, parsePort) ?? 1883,
    host: fromEnv(flags.host, BROKER_ENV.host, String) ?? '0.0.0.0',
    auth: authOff
      ? 'off'
      : {
          tokens,
          ...(credentialsFile === undefined ? {} : { credentialsFile }),
          ...(ueFleetKey === undefined ? {} : { ueFleetKey }),
          ...(ueKeyRevocations === undefined ? {} : { ueKeyRevocations }),
        },
    loginLimits: loginLimitsFromEnv(),
    maxPayloadBytes:
      fromEnv(flags.maxPayload, BROKER_ENV.maxPayload, parseBytes) ?? DEFAULT_MAX_PAYLOAD_BYTES,
    connectTimeoutMs:
      fromEnv(flags.connectTimeout, BROKER_ENV.connectTimeout, parseMs) ??
      DEFAULT_CONNECT_TIMEOUT_MS,
    maxPendingPerAddress:
      fromEnv(flags.maxPendingPerAddress, BROKER_ENV.maxPendingPerAddress, parseCount) ??
      DEFAULT_MAX_PENDING_PER_ADDRESS,
    maxConnectBytes:
      fromEnv(flags.maxConnectBytes, BROKER_ENV.maxConnectBytes, parseBytes) ??
      DEFAULT_MAX_CONNECT_BYTES,
    packetTimeoutMs:
      fromEnv(flags.packetTimeout, BROKER_ENV.packetTimeout, parseMs) ?? DEFAULT_PACKET_TIMEOUT_MS,
    topicPrefix: envValue(ENV.topicPrefix) ?? DEFAULT_TOPIC_PREFIX,
    ...(flags.retainedStore
      ? {
          retainedStore: {
            redisUrl: envValue(ENV.redisUrl) ?? 'redis://127.0.0.1:6379',
            redisPrefix: envValue(ENV.redisPrefix) ?? DEFAULT_REDIS_PREFIX,
          },
        }
      : {}),
    ...(wsPort === undefined ? {} : { wsPort }),
    ...(tlsKey === undefined || tlsCert === undefined
      ? {}
      : {
          tls: { key: await readPem(tlsKey, 'key'), cert: await readPem(tlsCert, 'certificate') },
        }),
  };
}

function fail(error: unknown, log?: Logger): void {
  const known =
    error instanceof UsageError ||
    error instanceof CredentialsError ||
    error instanceof BrokerListenError;
  const message = `edgesplit broker: ${error instanceof Error ? error.message : String(error)}`;
  const stack = !known && error instanceof Error ? error.stack : undefined;
  if (log !== undefined) log.fatal(message, stack === undefined ? {} : { stack });
  else process.stderr.write(`${message}\n${stack === undefined ? '' : `${stack}\n`}`);
  process.exitCode = error instanceof UsageError ? EXIT_USAGE : 1;
}

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
      });
    served = await serveMetrics(flags, 'edgesplit broker');
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
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info(`edgesplit broker: ${signal}, closing`);
      // A second signal while closing gives up on a clean close.
      process.once(signal, () => process.exit(1));
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await broker.close();
  await ingress?.close();
  await served?.close();
}

/** Reads a password from stdin (all of it, without the final newline). */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('empty password on stdin');
  if (password.length > 1024) throw new UsageError('password longer than 1024 characters');
  return password;
}

interface AddUserFlags {
  readonly file: string;
  readonly username: string;
  readonly role: string;
  readonly ue?: string;
}

async function addUser(flags: AddUserFlags): Promise<void> {
  try {
    if (!isValidId(flags.username))
      throw new UsageError('--username must be 1-64 characters of [A-Za-z0-9._-]');
    const { role, ue } = flags;
    if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    if (role === 'ue' && ue === undefined) throw new UsageError('role ue needs --ue ID');
    if (role !== 'ue' && ue !== undefined) throw new UsageError('--ue is only for role ue');
    if (ue !== undefined && !isValidId(ue))
      throw new UsageError('--ue must be 1-64 characters of [A-Za-z0-9._-]');
    const passwordHash = await hashPassword(await readPassword());
    const user = {
      username: flags.username,
      role,
      passwordHash,
      ...(ue === undefined ? {} : { ue }),
    };
    const outcome = await upsertUser(flags.file, user);
    process.stderr.write(`${outcome} user ${flags.username} (role ${role}) in ${flags.file}\n`);
  } catch (error) {
    fail(error);
  }
}

async function printHash(): Promise<void> {
  try {
    process.stdout.write(`${await hashPassword(await readPassword())}\n`);
  } catch (error) {
    fail(error);
  }
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
      ).argParser(parseCount),
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
  broker.exitOverride((error: CommanderError) =>
    process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE),
  );
  addMetricsOptions(broker).action(runBroker);

  broker
    .command('hash-password')
    .description('read a password from stdin and print its scrypt hash for a credentials file')
    .action(printHash);

  broker
    .command('add-user')
    .description('add (or replace) a user in a credentials file; the password is read from stdin')
    .requiredOption('--file <file>', 'credentials file (created if missing)')
    .requiredOption('--username <name>', 'username (an edge worker: its worker id)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--ue <id>', 'the UE id (role ue only)')
    .action(addUser);

  registerUeKeyCommand(broker);
}
