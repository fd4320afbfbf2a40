import type { Command } from 'commander';

/** `edgesplit fleet ...` subcommands. */
export function registerFleetCommands(program: Command): void {
  program.command('fleet').description('generate and run simulated fleets');
}
