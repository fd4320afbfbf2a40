/**
 * The one logger of every edgesplit process (docs/operations.md, "Logs"): pino, one JSON object
 * per line when its stream is not a terminal, a readable line when it is. Every line names its
 * component (`broker`, `scheduler`, ...) and, where there is one, the UE (`ueId`) or the edge
 * worker (`workerId`) it is about.
 *
 * Text that came from the network goes into a line either as a field (JSON-encoded like every
 * value) or inside the message through `logText` (quoted and cut); the readable format escapes
 * every control character of the message and quotes any field value that is not a plain word,
 * so neither format lets such text start a line of its own or forge a field.
 */
import { hostname } from 'node:os';
import { pino, stdTimeFunctions } from 'pino';
import { type ErrorOptions, OptionError } from '../proto/index.js';
import { envValue } from './env.js';

/** Levels from the most to the least verbose; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How lines are written: `json` (one object per line), `text` (readable), `auto` (text on a TTY). */
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Environment variables read when no flag says otherwise. */
export const LOG_ENV = { level: 'EDGESPLIT_LOG_LEVEL', format: 'EDGESPLIT_LOG_FORMAT' } as const;

export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** Structured fields of a line: `ueId`, `workerId`, `topic`, counts, ... */
export type LogFields = Readonly<Record<string, unknown>>;

type LogMethod = (message: string, fields?: LogFields) => void;

/** What components log through. */
export interface Logger {
  readonly trace: LogMethod;
  readonly debug: LogMethod;
  readonly info: LogMethod;
  readonly warn: LogMethod;
  readonly error: LogMethod;
  readonly fatal: LogMethod;
  /** A logger whose every line also carries `bindings` (e.g. `{ component: 'broker' }`). */
  child(bindings: LogFields): Logger;
  /** Whether a line at `level` would be written (to skip building an expensive one). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

/** Where lines go: anything with a synchronous `write` of one whole line. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** @defaultValue `EDGESPLIT_LOG_LEVEL`, else `info` */
  readonly level?: LogLevel;
  /** @defaultValue `EDGESPLIT_LOG_FORMAT`, else `auto` */
  readonly format?: LogFormat;
  /** @defaultValue `process.stderr` */
  readonly destination?: LogDestination;
  /** Whether the destination is a terminal, for `auto`. @defaultValue `process.stderr.isTTY` */
  readonly isTty?: boolean;
  /** Colours in the readable format. @defaultValue on a TTY unless `NO_COLOR` is set */
  readonly color?: boolean;
  /** Fields of every line. */
  readonly bindings?: LogFields;
}

/** A log level or format that is not one (a usage error: commands exit 2). */
export class LogOptionError extends OptionError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LogOptionError';
  }
}

const isLevel = (value: string): value is LogLevel =>
  (LOG_LEVELS as readonly string[]).includes(value);
const isFormat = (value: string): value is LogFormat =>
  (LOG_FORMATS as readonly string[]).includes(value);

/** `value` as a level; throws `LogOptionError` naming `source` otherwise. */
export function parseLogLevel(value: string, source = '--log-level'): LogLevel {
  const level = value.trim().toLowerCase();
  if (!isLevel(level))
    throw new LogOptionError(
      `${source}: ${JSON.stringify(value.slice(0, 32))} is not a level (${LOG_LEVELS.join(', ')})`,
    );
  return level;
}

/** The level set in the environment, if any (throws on a value that is not a level). */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel | undefined {
  const value = envValue(LOG_ENV.level, env);
  return value === undefined ? undefined : parseLogLevel(value, LOG_ENV.level);
}

/** The format set in the environment, if any (throws on a value that is not a format). */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat | undefined {
  const value = envValue(LOG_ENV.format, env);
  if (value === undefined) return undefined;
  const format = value.trim().toLowerCase();
  if (!isFormat(format))
    throw new LogOptionError(
      `${LOG_ENV.format}: ${JSON.stringify(value.slice(0, 32))} is not a format (${LOG_FORMATS.join(', ')})`,
    );
  return format;
}

/** A new logger (most code takes `logger(component)` of the process's one instead). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? logLevelFromEnv() ?? DEFAULT_LOG_LEVEL;
  const format = options.format ?? logFormatFromEnv() ?? 'auto';
  const isTty = options.isTty ?? (options.destination === undefined && process.stderr.isTTY);
  const text = format === 'text' || (format === 'auto' && isTty === true);
  const json: LogDestination =
    // process.stderr, not a pino.destination on fd 2: Node writes it synchronously to a pipe, a
    // file or a terminal on Linux, in order with the commands' own lines, and a full pipe blocks
    // the write as it always did rather than making SonicBoom sleep and retry.
    options.destination ?? process.stderr;
  const color =
    options.color ?? (isTty === true && envValue('NO_COLOR', process.env) === undefined);
  const destination = text ? readableDestination(json, color) : json;
  const instance = pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname() },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return wrap(instance, safeFields(options.bindings ?? {}));
}

/** Keys pino writes itself: a field of that name is written with a `_` after it. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

function safeFields(fields: LogFields): LogFields {
  if (!Object.keys(fields).some((key) => RESERVED.has(key))) return fields;
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [RESERVED.has(key) ? `${key}_` : key, value]),
  );
}

/**
 * A logger over `root` with `bound` on every line. pino writes a key once per binding and once
 * more per call, so a key given again (a child's `component`, a line's own `ueId`) is merged
 * here instead: the latest value wins and each key appears once.
 */
function wrap(root: pino.Logger, bound: LogFields): Logger {
  const instance = Object.keys(bound).length === 0 ? root : root.child(bound);
  // Always (fields, message): pino formats a message with `%s` only when more arguments follow.
  const method =
    (level: Exclude<LogLevel, 'silent'>): LogMethod =>
    (message, fields) => {
      if (!instance.isLevelEnabled(level)) return;
      if (fields === undefined) {
        instance[level]({}, message);
        return;
      }
      const safe = safeFields(fields);
      if (!Object.keys(safe).some((key) => Object.hasOwn(bound, key))) {
        instance[level](safe, message);
        return;
      }
      const rebound: Record<string, unknown> = { ...bound };
      const rest: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(safe))
        if (Object.hasOwn(bound, key)) rebound[key] = value;
        else rest[key] = value;
      root.child(rebound)[level](rest, message);
    };
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (bindings) => wrap(root, { ...bound, ...safeFields(bindings) }),
    enabled: (level) => instance.isLevelEnabled(level),
  };
}

let root: Logger | undefined;

/**
 * Sets up the process's logger: commands call it first, with their `--log-level`; code that
 * logs before (or without) it gets one from the environment.
 */
export function setupLogging(options: LoggerOptions = {}): Logger {
  root = createLogger(options);
  return root;
}

/** The process's logger for `component`, with `bindings` (`ueId`, `workerId`) on every line. */
export function logger(component: string, bindings: LogFields = {}): Logger {
  root ??= createLogger();
  return root.child({ component, ...bindings });
}

/** A logger that writes nothing. */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child: () => silentLogger,
  enabled: () => false,
};

const LEVEL_NAMES: readonly Exclude<LogLevel, 'silent'>[] = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
];

/**
 * Logs a line another edgesplit process wrote (a child of `lab`) through `log`, at its level
 * and with its fields; its `component`, `time` and `pid` become `childComponent`, `childTime`
 * and `childPid` (its `hostname` is dropped). A line that is not one of ours is logged at info,
 * quoted.
 */
export function relayLine(log: Logger, line: string): void {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    record = undefined;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    log.info(`output: ${JSON.stringify(line.length > 2000 ? `${line.slice(0, 2000)}...` : line)}`);
    return;
  }
  const {
    level,
    time,
    pid,
    hostname: _host,
    msg,
    component,
    ...fields
  } = record as Record<string, unknown>;
  const at =
    typeof level === 'string' && (LEVEL_NAMES as string[]).includes(level) ? level : 'info';
  log[at as Exclude<LogLevel, 'silent'>](typeof msg === 'string' ? msg : '', {
    ...fields,
    ...(component === undefined ? {} : { childComponent: component }),
    ...(time === undefined ? {} : { childTime: time }),
    ...(pid === undefined ? {} : { childPid: pid }),
  });
}

// --- the readable format -------------------------------------------------------------------

/** Fields the readable line shows in its own place rather than as `key=value`. */
const PLACED = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'component',
  'msg',
  'ueId',
  'workerId',
]);

const COLORS: Readonly<Record<string, string>> = {
  trace: '\u001b[90m',
  debug: '\u001b[90m',
  warn: '\u001b[33m',
  error: '\u001b[31m',
  fatal: '\u001b[41;97m',
};

/** Every control character (C0, DEL, C1) and the JavaScript line separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `text` with every control character written as an escape: one line, no terminal codes. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A field value: plain words bare, anything else JSON (strings quoted, control escaped). */
function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w.:/@+-]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null)
    return String(value);
  try {
    return escapeControl(JSON.stringify(value) ?? String(value));
  } catch {
    return '"[unserializable]"';
  }
}

/** One record (pino's JSON) as `time LEVEL component ueId=... message key=value ...`. */
export function readableLine(record: Readonly<Record<string, unknown>>, color = false): string {
  const level = typeof record.level === 'string' ? record.level : 'info';
  const time = typeof record.time === 'string' ? record.time : new Date().toISOString();
  const paint = color ? COLORS[level] : undefined;
  const levelText = level.toUpperCase().padEnd(5);
  const parts = [time, paint === undefined ? levelText : `${paint}${levelText}\u001b[0m`];
  if (record.component !== undefined) parts.push(fieldValue(record.component));
  for (const key of ['ueId', 'workerId'])
    if (record[key] !== undefined) parts.push(`${key}=${fieldValue(record[key])}`);
  parts.push(escapeControl(typeof record.msg === 'string' ? record.msg : ''));
  for (const [key, value] of Object.entries(record))
    if (!PLACED.has(key)) parts.push(`${escapeControl(key)}=${fieldValue(value)}`);
  return `${parts.join(' ')}\n`;
}

/** A destination that turns pino's JSON lines into readable ones before writing them. */
function readableDestination(out: LogDestination, color: boolean): LogDestination {
  return {
    write(line: string) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        return out.write(line);
      }
      return out.write(readableLine(record as Record<string, unknown>, color));
    },
  };
}
