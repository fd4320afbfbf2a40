import type { Command } from 'commander';

/** `edgesplit solve FILE`. */
export function registerSolveCommand(program: Command): void {
  program.command('solve').description('solve an instance file');
}
