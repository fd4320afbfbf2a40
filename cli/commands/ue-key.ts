/** `edgesplit broker ue-key --ue ID`: the MQTT password of one UE under the fleet key. */
import type { Command } from 'commander';
import { isValidId } from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';
import { ENV, envValue } from '../../runtime/env.js';
import {
  currentUeKeyGeneration,
  deriveUeKey,
  fleetKeyProblem,
  parseUeKeyRevocations,
} from '../../runtime/ue-key.js';
import { EXIT_USAGE } from '../options.js';

/** The key to print, or why none can be. */
function keyOf(ue: string): { readonly key: string } | { readonly problem: string } {
  const fleetKey = envValue(ENV.ueFleetKey);
  if (fleetKey === undefined) return { problem: `${ENV.ueFleetKey} is not set` };
  const problem = fleetKeyProblem(fleetKey);
  if (problem !== undefined) return { problem: `${ENV.ueFleetKey} ${problem}` };
  if (!isValidId(ue)) return { problem: '--ue must be 1-64 characters of [A-Za-z0-9._-]' };
  let revocations: ReturnType<typeof parseUeKeyRevocations>;
  try {
    revocations = parseUeKeyRevocations(envValue(ENV.ueKeyRevoked) ?? '');
  } catch (error) {
    return { problem: `${ENV.ueKeyRevoked}: ${asError(error).message}` };
  }
  const generation = currentUeKeyGeneration(revocations, ue);
  if (generation === undefined)
    return { problem: `every derived key of UE ${ue} is revoked in ${ENV.ueKeyRevoked}` };
  return { key: deriveUeKey(fleetKey, ue, generation) };
}

function printUeKey(flags: { readonly ue: string }): void {
  const outcome = keyOf(flags.ue);
  if ('problem' in outcome) {
    process.stderr.write(`edgesplit broker ue-key: ${outcome.problem}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  process.stdout.write(`${outcome.key}\n`);
}

export function registerUeKeyCommand(broker: Command): void {
  broker
    .command('ue-key')
    .description(
      `print the MQTT password of one UE, derived from ${ENV.ueFleetKey} (the generation after those revoked in ${ENV.ueKeyRevoked}); give a device its own key, never the fleet key`,
    )
    .requiredOption('--ue <id>', 'the UE id, also its MQTT username')
    .action(printUeKey);
}
