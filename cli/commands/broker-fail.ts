/** How the `broker` commands fail: a usage error exits 2, any other 1, each with its message. */
import { AedesInternalsError, BrokerListenError, CredentialsError } from '../../broker/index.js';
import type { Logger } from '../../runtime/log.js';
import { EXIT_USAGE } from '../options.js';

/** A flag, a variable or an input of a `broker` command that cannot be used. */
export class UsageError extends Error {}

/** Logs (or writes) why a `broker` command failed and sets the exit code. */
export function fail(error: unknown, log?: Logger): void {
  const known =
    error instanceof UsageError ||
    error instanceof CredentialsError ||
    error instanceof BrokerListenError ||
    error instanceof AedesInternalsError;
  const message = `edgesplit broker: ${error instanceof Error ? error.message : String(error)}`;
  const stack = !known && error instanceof Error ? error.stack : undefined;
  if (log !== undefined) log.fatal(message, stack === undefined ? {} : { stack });
  else process.stderr.write(`${message}\n${stack === undefined ? '' : `${stack}\n`}`);
  process.exitCode = error instanceof UsageError ? EXIT_USAGE : 1;
}
