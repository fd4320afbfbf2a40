/** How the `broker` commands fail: a usage error exits 2, any other 1, each with its message. */

import { EdgesplitError } from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';
import type { Logger } from '../../runtime/log.js';
import { exitCodeOf } from '../options.js';

/**
 * Logs (or writes) why a `broker` command failed and sets the exit code; an error thrown on
 * purpose is logged without its stack.
 */
export function fail(error: unknown, log?: Logger): void {
  const message = `edgesplit broker: ${asError(error).message}`;
  const stack =
    !(error instanceof EdgesplitError) && error instanceof Error ? error.stack : undefined;
  if (log !== undefined) log.fatal(message, stack === undefined ? {} : { stack });
  else process.stderr.write(`${message}\n${stack === undefined ? '' : `${stack}\n`}`);
  process.exitCode = exitCodeOf(error);
}
