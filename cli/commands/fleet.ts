/** `edgesplit fleet`: its subcommands, each in a file of its own. */
import type { Command } from 'commander';
import { exitOnUsageError } from '../options.js';
import { registerFleetGenerateCommand } from './fleet-generate.js';
import { registerFleetRunCommand } from './fleet-run.js';

/** `edgesplit fleet ...` subcommands. */
export function registerFleetCommands(program: Command): void {
  const fleet = program.command('fleet').description('generate and run simulated fleets');
  // Set before adding subcommands: commander copies the exit handler into them on creation.
  fleet.exitOverride(exitOnUsageError);
  registerFleetGenerateCommand(fleet);
  registerFleetRunCommand(fleet);
}
