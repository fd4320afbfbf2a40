import { writeFile } from 'node:fs/promises';
import { type Command, type CommanderError, InvalidArgumentError } from 'commander';
import {
  FleetOptionsError,
  hasModel,
  listModels,
  MAX_FLEET_UES,
  MAX_SEED,
  planFleet,
  REAL_MODELS,
} from '../../dnn/index.js';

/** Exit code of a command line that cannot be acted on (bad flag, unknown model). */
export const EXIT_USAGE = 2;

interface GenerateFlags {
  readonly ues: number;
  readonly units: number;
  readonly seed: number;
  readonly models?: readonly string[];
  readonly out?: string;
}

/** Decimal digits only: `1.5`, `1e3`, `0x10` and `-1` are refused rather than coerced. */
function parseCount(value: string): number {
  if (!/^\d{1,16}$/.test(value)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(value);
}

function parseModels(value: string): string[] {
  const models = value.split(',').map((name) => name.trim());
  const unknown = models.filter((name) => !hasModel(name));
  if (unknown.length > 0) {
    const names = unknown.map((name) => JSON.stringify(name.slice(0, 64))).join(', ');
    throw new InvalidArgumentError(`unknown model ${names} (known: ${listModels().join(', ')})`);
  }
  return models;
}

/** Usage errors exit with 2 (commander's default is 1); help still exits with 0. */
function exitOnUsageError(error: CommanderError): never {
  process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
}

async function generate(flags: GenerateFlags): Promise<void> {
  let text: string;
  let count: number;
  try {
    const { instance } = planFleet({
      ues: flags.ues,
      units: flags.units,
      seed: flags.seed,
      ...(flags.models === undefined ? {} : { models: flags.models }),
    });
    count = instance.ues.length;
    text = `${JSON.stringify(instance, null, 2)}\n`;
  } catch (error) {
    if (!(error instanceof FleetOptionsError)) throw error;
    process.stderr.write(`edgesplit fleet generate: --${error.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (flags.out === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    await writeFile(flags.out, text);
    process.stderr.write(`wrote ${count} UEs to ${flags.out}\n`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`edgesplit fleet generate: cannot write ${flags.out}: ${reason}\n`);
    process.exitCode = 1;
  }
}

/** `edgesplit fleet ...` subcommands. */
export function registerFleetCommands(program: Command): void {
  const fleet = program.command('fleet').description('generate and run simulated fleets');
  // Set before adding subcommands: commander copies the exit handler into them on creation.
  fleet.exitOverride(exitOnUsageError);

  fleet
    .command('generate')
    .description('write an instance (MODEL.md format) for a simulated fleet of zoo models')
    .requiredOption('--ues <n>', `number of UEs (0 to ${MAX_FLEET_UES})`, parseCount)
    .requiredOption('--units <r>', 'edge units R', parseCount)
    .requiredOption('--seed <s>', `PRNG seed (0 to ${MAX_SEED}); same seed, same file`, parseCount)
    .option(
      '--models <list>',
      `comma-separated models, handed out round-robin (default: ${REAL_MODELS.join(',')}; ` +
        `known: ${listModels().join(', ')})`,
      parseModels,
    )
    .option('--out <file>', 'write the JSON to FILE instead of stdout')
    .action(generate);
}
