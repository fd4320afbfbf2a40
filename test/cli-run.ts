import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** See `runCli`. */
export const CLI_TIMEOUT_MS = 900_000;
export const cliPath = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/**
 * Runs the built CLI (`npm test` builds first) and returns its exit code and output. A run is
 * killed after 15 minutes: a generous bound (a first `up` builds and measures its models, which
 * takes minutes on a busy 2-core machine), there only so that a hang cannot block CI forever.
 */
export function runCli(
  args: readonly string[],
  input?: string,
  env: NodeJS.ProcessEnv = process.env,
): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
    env,
    timeout: CLI_TIMEOUT_MS,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The documented keys of a fleet's JSON summary (`fleet run --json`, `up --json`), sorted. */
export const FLEET_SUMMARY_KEYS = [
  'duplicatesDropped',
  'epochs',
  'failed',
  'maxPredictedMs',
  'measured',
  'ok',
  'predictionError',
  'requests',
  'retried',
  'ues',
].sort();
