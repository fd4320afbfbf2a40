/** `--log-level` of the long-running commands, and the process's logger it sets up. */
import { type Command, Option } from 'commander';
import {
  LOG_ENV,
  LOG_LEVELS,
  type LogFields,
  type Logger,
  type LogLevel,
  LogOptionError,
  logger,
  logLevelFromEnv,
  setupLogging,
} from '../runtime/log.js';
import { EXIT_USAGE } from './options.js';

export interface LogFlags {
  readonly logLevel?: LogLevel;
}

/** Adds `--log-level` (env EDGESPLIT_LOG_LEVEL; `defaultLevel` without either). */
export function addLogOptions(command: Command, defaultLevel: LogLevel = 'info'): Command {
  return command.addOption(
    new Option(
      '--log-level <level>',
      `least severe log lines written, on stderr (env ${LOG_ENV.level}; default ${defaultLevel}; ` +
        `JSON lines unless stderr is a terminal, env ${LOG_ENV.format}=json|text to choose)`,
    ).choices([...LOG_LEVELS]),
  );
}

/**
 * Sets up the process's logger from `--log-level`, else the environment, else `defaultLevel`,
 * and returns `component`'s logger. A bad EDGESPLIT_LOG_LEVEL or EDGESPLIT_LOG_FORMAT is a usage
 * error: it says so on stderr and exits with code 2.
 */
export function startLogging(
  flags: LogFlags,
  component: string,
  bindings: LogFields = {},
  defaultLevel: LogLevel = 'info',
): Logger {
  try {
    setupLogging({ level: flags.logLevel ?? logLevelFromEnv() ?? defaultLevel });
  } catch (error) {
    if (!(error instanceof LogOptionError)) throw error;
    process.stderr.write(`edgesplit: ${error.message}\n`);
    process.exit(EXIT_USAGE);
  }
  return logger(component, bindings);
}
