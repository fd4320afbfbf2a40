import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { EXPERIMENT_NAMES, EXPERIMENT_TITLES } from '../../experiments/names.js';

interface ExperimentFlags {
  readonly out?: string;
  readonly quick: boolean;
}

/** `edgesplit experiment NAME`: runs one experiment, writing CSV, plots and a report. */
export function registerExperimentCommand(program: Command): void {
  program
    .command('experiment')
    .description(
      'run an experiment and write its CSV, plots (SVG and PNG) and report (docs/experiments.md)',
    )
    .addArgument(
      program
        .createArgument(
          '<name>',
          EXPERIMENT_NAMES.map((n) => `${n}: ${EXPERIMENT_TITLES[n]}`).join('; '),
        )
        .choices(EXPERIMENT_NAMES),
    )
    .addOption(new Option('--out <dir>', 'folder to write into (default: experiments-out/NAME)'))
    .option('--quick', 'few small points, under a minute (for tests and a first look)', false)
    .action(async (name: string, flags: ExperimentFlags) => {
      // Loaded here: the plotting libraries are needed by this command only.
      const { EXPERIMENTS, runExperiment } = await import('../../experiments/index.js');
      const experiment = EXPERIMENTS.find((e) => e.name === name);
      if (experiment === undefined) return;
      const outDir = flags.out ?? join('experiments-out', name);
      const command = ['edgesplit', 'experiment', name, ...process.argv.slice(4)].join(' ');
      const result = await runExperiment(experiment, {
        outDir,
        quick: flags.quick,
        command,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      for (const file of result.files) process.stdout.write(`${file}\n`);
    });
}
