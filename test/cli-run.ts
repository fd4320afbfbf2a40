import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const cliPath = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** Runs the built CLI (`npm test` builds first) and returns its exit code and output. */
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
    timeout: 200_000,
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
