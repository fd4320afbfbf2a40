/** `edgesplit broker ue-key --ue ID`: the MQTT password of one UE under the fleet key. */
import type { Command } from 'commander';
import { deriveUeKey, ENV, envValue, fleetKeyProblem, isValidId } from '../../proto/index.js';
import { EXIT_USAGE } from '../options.js';

/** Why no key can be printed, or undefined. */
function problemOf(fleetKey: string | undefined, ue: string): string | undefined {
  if (fleetKey === undefined) return `${ENV.ueFleetKey} is not set`;
  const problem = fleetKeyProblem(fleetKey);
  if (problem !== undefined) return `${ENV.ueFleetKey} ${problem}`;
  if (!isValidId(ue)) return '--ue must be 1-64 characters of [A-Za-z0-9._-]';
  return undefined;
}

function printUeKey(flags: { readonly ue: string }): void {
  const fleetKey = envValue(ENV.ueFleetKey);
  const problem = problemOf(fleetKey, flags.ue);
  if (problem !== undefined || fleetKey === undefined) {
    process.stderr.write(`edgesplit broker ue-key: ${problem}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  process.stdout.write(`${deriveUeKey(fleetKey, flags.ue)}\n`);
}

export function registerUeKeyCommand(broker: Command): void {
  broker
    .command('ue-key')
    .description(
      `print the MQTT password of one UE, derived from ${ENV.ueFleetKey} (give a device its own key, never the fleet key)`,
    )
    .requiredOption('--ue <id>', 'the UE id, also its MQTT username')
    .action(printUeKey);
}
