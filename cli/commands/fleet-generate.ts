/** `edgesplit fleet generate`: writes an instance file for a simulated fleet. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  FleetOptionsError,
  listModels,
  loadScenario,
  MAX_FLEET_UES,
  MAX_SEED,
  planFleet,
  REAL_MODELS,
  SCENARIO_NAMES,
  type Scenario,
  ScenarioError,
} from '../../dnn/index.js';
import { asError } from '../../runtime/as-error.js';
import type { InstanceInput } from '../../scheduler/instance-schema.js';
import { contentionLine } from '../contention-text.js';
import { EXIT_USAGE, parseInteger, parseModels } from '../options.js';

interface GenerateFlags {
  readonly ues: number;
  readonly units?: number;
  readonly scenario: string;
  readonly seed: number;
  readonly models?: readonly string[];
  readonly out?: string;
}

/** Largest fleet whose contention `fleet generate` checks (a solve of about a second). */
const MAX_CHECKED_UES = 100_000;

async function generate(flags: GenerateFlags): Promise<void> {
  let text: string;
  let instance: InstanceInput;
  let scenario: Scenario;
  try {
    scenario = await loadScenario(flags.scenario);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    process.stderr.write(`edgesplit fleet generate: --scenario ${error.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  try {
    instance = planFleet({
      ues: flags.ues,
      ...(flags.units === undefined ? {} : { units: flags.units }),
      seed: flags.seed,
      scenario,
      ...(flags.models === undefined ? {} : { models: flags.models }),
    }).instance;
    text = `${JSON.stringify(instance, null, 2)}\n`;
  } catch (error) {
    if (!(error instanceof FleetOptionsError)) throw error;
    process.stderr.write(`edgesplit fleet generate: --${error.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  // Solving a million UEs takes minutes: beyond this, `solve` on the file tells.
  const contention =
    instance.ues.length <= MAX_CHECKED_UES
      ? contentionLine(instance)
      : `pinned or not unchecked above ${MAX_CHECKED_UES} UEs (edgesplit solve FILE tells)`;
  const about = `scenario ${scenario.name}, R = ${instance.edge.units}; ${contention}`;
  if (flags.out === undefined) {
    process.stdout.write(text);
    process.stderr.write(`${instance.ues.length} UEs (${about})\n`);
    return;
  }
  try {
    await writeFile(flags.out, text);
    process.stderr.write(`wrote ${instance.ues.length} UEs to ${flags.out} (${about})\n`);
  } catch (error) {
    const reason = asError(error).message;
    process.stderr.write(`edgesplit fleet generate: cannot write ${flags.out}: ${reason}\n`);
    process.exitCode = 1;
  }
}

/** Adds `fleet generate` to `fleet`. */
export function registerFleetGenerateCommand(fleet: Command): void {
  fleet
    .command('generate')
    .description('write an instance (docs/model.md format) for a simulated fleet of zoo models')
    .requiredOption('--ues <n>', `number of UEs (0 to ${MAX_FLEET_UES})`, parseInteger)
    .option(
      '--units <r>',
      "edge units R (default: the scenario's units per UE times --ues)",
      parseInteger,
    )
    .option(
      '--scenario <name|file>',
      `what devices, links and batches are drawn from: ${SCENARIO_NAMES.join(', ')}, or a JSON ` +
        'scenario file (docs/experiments.md)',
      'catalog',
    )
    .requiredOption(
      '--seed <s>',
      `PRNG seed (0 to ${MAX_SEED}); same seed, same file`,
      parseInteger,
    )
    .option(
      '--models <list>',
      `comma-separated models, handed out round-robin (default: ${REAL_MODELS.join(',')}; ` +
        `known: ${listModels().join(', ')})`,
      parseModels,
    )
    .option('--out <file>', 'write the JSON to FILE instead of stdout')
    .action(generate);
}
