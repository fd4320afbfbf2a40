/**
 * Outside tools a test needs (mosquitto, its command-line clients, redis-server). Missing on a
 * developer's machine, the tests that need them are skipped with the reason in their title and
 * on stderr; under CI=true a missing tool fails the run loudly instead, so that CI never passes
 * by skipping.
 */
import { onPath } from '../system/net.js';

/** Whether this is a CI run (CI=true or CI=1), where nothing may be skipped for a missing tool. */
export function inCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/**
 * Why the tests needing `names` cannot run here: undefined when every one is on PATH. Under CI
 * a missing tool throws. Elsewhere the reason is printed, and returned for `describe.skipIf`.
 */
export function missingTools(...names: readonly string[]): string | undefined {
  const missing = names.filter((name) => !onPath(name));
  if (missing.length === 0) return undefined;
  return unavailable(
    `${missing.join(', ')} not on PATH (apt-get install mosquitto mosquitto-clients redis-server coreutils)`,
  );
}

/**
 * A service or tool that is not there, for a reason: throws under CI, otherwise prints the
 * reason and returns it (the caller skips with it).
 */
export function unavailable(reason: string): string {
  if (inCi()) throw new Error(`CI=true and ${reason}`);
  process.stderr.write(`SKIPPED (not under CI): ${reason}\n`);
  return reason;
}

/** A describe title naming why it is skipped, when it is. */
export function titled(title: string, skipReason: string | undefined): string {
  return skipReason === undefined ? title : `${title} [skipped: ${skipReason}]`;
}
