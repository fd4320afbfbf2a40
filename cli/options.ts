/** Option parsers and helpers the commands share. */
import { readFile } from 'node:fs/promises';
import { type Command, type CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseTraceArg, parseTraceCsv, TraceError, type TraceSpec } from '../agents/index.js';
import { hasModel, listModels, REAL_MODELS } from '../dnn/index.js';
import {
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  EdgesplitError,
  type ErrorCode,
  OptionError,
  redisPrefixProblem,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { ENV, envValue } from '../runtime/env.js';
import type { Logger } from '../runtime/log.js';
import { parseRedisUrl } from '../runtime/redis-connect.js';

/** Exit code of a command line that cannot be acted on (bad flag, unknown model, bad file). */
export const EXIT_USAGE = 2;

/** Default broker when MQTT_URL is unset (docs/live-system.md). */
export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';

/**
 * Codes of errors in what a command was given (a flag, a variable, a file named on the command
 * line): the command exits with `EXIT_USAGE`.
 */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INVALID_OPTION',
  'INVALID_PROFILE',
  'INVALID_SCENARIO',
  'INVALID_TRACE',
]);

/** Whether `error` is in what the command was given rather than in what it met while running. */
export function isUsageError(error: unknown): boolean {
  return error instanceof EdgesplitError && USAGE_CODES.has(error.code);
}

/** The exit code of a command that failed with `error`: 2 for a usage error, else 1. */
export function exitCodeOf(error: unknown): number {
  return isUsageError(error) ? EXIT_USAGE : 1;
}

/** Usage errors exit with 2 (commander's default is 1); help still exits with 0. */
export function exitOnUsageError(error: CommanderError): never {
  process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
}

/** A finite number > 0 (`1.5`, `1e3`); anything else is a usage error. */
export function parsePositive(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0)
    throw new InvalidArgumentError('must be a finite number > 0');
  return number;
}

/** A finite number >= 0. */
export function parseNonNegative(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0)
    throw new InvalidArgumentError('must be a finite number >= 0');
  return number;
}

/**
 * Decimal digits only, at most `digits` of them, making an integer >= `least`: `1.5`, `1e3`,
 * `0x10` and `-1` are refused rather than coerced. `unit` names what it counts in the message.
 */
function wholeNumber(value: string, least: 0 | 1, digits: number, unit?: string): number {
  if (!new RegExp(`^\\d{1,${digits}}$`).test(value) || Number(value) < least)
    throw new InvalidArgumentError(
      `must be a whole number${unit === undefined ? '' : ` of ${unit}`} >= ${least}`,
    );
  return Number(value);
}

/** A parser of whole numbers >= `least` of at most `digits` digits (see `parseInteger`). */
export function wholeNumberParser(
  least: 0 | 1,
  digits: number,
  unit?: string,
): (value: string) => number {
  return (value) => wholeNumber(value, least, digits, unit);
}

/** Decimal digits only: `1.5`, `1e3`, `0x10` and `-1` are refused rather than coerced. */
export function parseInteger(value: string): number {
  return wholeNumber(value, 0, 15);
}

/** An integer >= 1, decimal digits only. */
export function parsePositiveInteger(value: string): number {
  return wholeNumber(value, 1, 16);
}

/** A number of bytes >= 1, decimal digits only (up to 12). */
export function parseBytes(value: string): number {
  return wholeNumber(value, 1, 12, 'bytes');
}

/** A number of milliseconds >= 1, decimal digits only (up to 9). */
export function parseMs(value: string): number {
  return wholeNumber(value, 1, 9, 'milliseconds');
}

/** A TCP port, 0 to 65535 (0: pick a free one). */
export function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535)
    throw new InvalidArgumentError('must be a port number from 0 to 65535');
  return Number(value);
}

/**
 * The environment variable `name` read with `parse` (a flag's parser), undefined when it is
 * unset or empty; a value `parse` refuses is an `OptionError` naming the variable (its value is
 * not repeated: it may be a secret).
 */
export function parseEnv<T>(name: string, parse: (text: string) => T): T | undefined {
  const text = envValue(name);
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new OptionError(`${name}: ${asError(error).message}`, { cause: error, option: name });
  }
}

/** A comma-separated list of zoo model names. */
export function parseModels(value: string): string[] {
  const models = value.split(',').map((name) => name.trim());
  const unknown = models.filter((name) => !hasModel(name));
  if (unknown.length > 0) {
    const names = unknown.map((name) => JSON.stringify(name.slice(0, 64))).join(', ');
    throw new InvalidArgumentError(`unknown model ${names} (known: ${listModels().join(', ')})`);
  }
  return models;
}

/** The `--trace` argument as a spec, reading a CSV file if it names one. */
export async function loadTrace(arg: string): Promise<TraceSpec> {
  const parsed = parseTraceArg(arg);
  if (parsed.kind !== 'file') return parsed;
  let text: string;
  try {
    text = await readFile(parsed.path, 'utf8');
  } catch (error) {
    throw new TraceError(`cannot read ${parsed.path}: ${asError(error).message}`, undefined, {
      cause: error,
    });
  }
  return { kind: 'points', points: parseTraceCsv(text, parsed.path), source: parsed.path };
}

/**
 * What is wrong with a Redis URL (`REDIS_URL`: `redis://`, `rediss://`, or a cluster's
 * `redis+cluster://host:port,...`) or Redis prefix, or undefined.
 */
export function redisSettingsProblem(redisUrl: string, redisPrefix: string): string | undefined {
  try {
    parseRedisUrl(redisUrl);
  } catch (error) {
    return `${ENV.redisUrl}: ${asError(error).message}`;
  }
  const problem = redisPrefixProblem(redisPrefix);
  return problem === undefined ? undefined : `${ENV.redisPrefix}: ${problem}`;
}

/** Default Redis when REDIS_URL is unset. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Connection flags of the services (`scheduler`, `edge-worker`). */
export interface ConnectionFlags {
  readonly mqttUrl: string;
  readonly redisUrl: string;
  readonly topicPrefix: string;
  readonly redisPrefix: string;
}

/**
 * The broker and Redis options every service takes, each defaulting to its environment
 * variable (the flag wins); the broker login stays in the environment only, so that it never
 * shows in a process list.
 */
export function addConnectionOptions(command: Command): Command {
  return command
    .option(
      '--mqtt-url <url>',
      `broker URL (env ${ENV.mqttUrl})`,
      envValue(ENV.mqttUrl) ?? DEFAULT_MQTT_URL,
    )
    .option(
      '--redis-url <url>',
      `Redis URL (env ${ENV.redisUrl})`,
      envValue(ENV.redisUrl) ?? DEFAULT_REDIS_URL,
    )
    .option(
      '--topic-prefix <prefix>',
      `topic prefix (env ${ENV.topicPrefix})`,
      envValue(ENV.topicPrefix) ?? DEFAULT_TOPIC_PREFIX,
    )
    .option(
      '--redis-prefix <prefix>',
      `Redis key prefix (env ${ENV.redisPrefix})`,
      envValue(ENV.redisPrefix) ?? DEFAULT_REDIS_PREFIX,
    )
    .addHelpText(
      'after',
      `\nEnvironment: ${ENV.mqttUsername} and ${ENV.mqttPassword} log in to the broker.`,
    );
}

/** Connection settings every agent of this process shares, from the environment. */
export function mqttFromEnv(): {
  mqttUrl: string;
  topicPrefix: string;
  username?: string;
  password?: string;
} {
  const username = envValue(ENV.mqttUsername);
  const password = envValue(ENV.mqttPassword);
  return {
    mqttUrl: envValue(ENV.mqttUrl) ?? DEFAULT_MQTT_URL,
    topicPrefix: envValue(ENV.topicPrefix) ?? DEFAULT_TOPIC_PREFIX,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

/** The options `fleet run` and `up` share: which models, which trace, how long, how often. */
export function addFleetRunOptions(
  command: Command,
  defaults: {
    readonly trace: string;
    readonly summaryEveryS: number;
    readonly executor: 'emulated' | 'onnx';
    /** The default models as help shows them. @defaultValue every real model */
    readonly models?: string;
  },
): Command {
  return command
    .option(
      '--models <list>',
      `comma-separated zoo models, handed out round-robin (default: ${defaults.models ?? REAL_MODELS.join(',')})`,
      parseModels,
    )
    .option(
      '--trace <trace>',
      'uplink bandwidth over time: constant, walk, steps:SECONDS=MBPS,... or FILE.csv (seconds,Mbps)',
      defaults.trace,
    )
    .option('--duration <s>', 'seconds to run (default: until SIGINT/SIGTERM)', parsePositive)
    .option(
      '--summary-every <s>',
      'seconds between summary lines',
      parsePositive,
      defaults.summaryEveryS,
    )
    .addOption(
      new Option(
        '--executor <kind>',
        'head (and in up, tail) executor: emulated (sleep the profiled time) or onnx (ONNX Runtime)',
      )
        .choices(['emulated', 'onnx'])
        .default(defaults.executor),
    );
}

/**
 * Logs a UE's warning (`source` is its id) as `source: message` with its `ueId`, at most once
 * per `everyMs` per UE.
 */
export function rateLimitedWarnings(
  log: Logger,
  everyMs = 10_000,
): (source: string, error: Error) => void {
  const warned = new Map<string, number>();
  return (source, error) => {
    const now = Date.now();
    if (now - (warned.get(source) ?? Number.NEGATIVE_INFINITY) < everyMs) return;
    warned.set(source, now);
    log.warn(`${source}: ${error.message}`, { ueId: source });
  };
}

/** How an agent treats its requests and its first task: `agent` and `fleet run` share these. */
export function addAgentBehaviourOptions(command: Command): Command {
  return command
    .option(
      '--timeout-ms <ms>',
      'a request with no result this long is sent again',
      parsePositive,
      10_000,
    )
    .option('--max-retries <n>', 're-sends of a request before it fails', parseInteger, 3)
    .option('--real-link', 'do not emulate transfer times (the network is real)', false)
    .addOption(
      new Option('--before-decision <mode>', 'tasks before the first decision')
        .choices(['wait', 'local'])
        .default('wait'),
    );
}
