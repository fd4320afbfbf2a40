import type { Command } from 'commander';
import { hasModel, listModels, measureProfile, writeProfileFile } from '../../dnn/index.js';
import { EXIT_USAGE, parseInteger, parsePositive } from '../options.js';

interface ProfileFlags {
  readonly model: string;
  readonly runs: number;
  readonly threads: number;
  readonly slowdown: number;
  readonly out?: string;
}

/** A one-line progress bar on a terminal, a line per quarter otherwise. */
function progress(label: string): (done: number, total: number) => void {
  let lastQuarter = 0;
  return (done, total) => {
    if (process.stderr.isTTY) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stderr.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
      );
      if (done === total) process.stderr.write('\n');
      return;
    }
    const quarter = Math.floor((done / total) * 4);
    if (quarter > lastQuarter) {
      lastQuarter = quarter;
      process.stderr.write(`${label}: ${done}/${total} segments\n`);
    }
  };
}

export function registerProfileCommand(program: Command): void {
  program
    .command('profile')
    .description(
      'measure a zoo model with ONNX Runtime: per cut, head time (deviceMs) and tail time ' +
        '(edgeMs), median of the runs after a warm-up; writes the profile JSON agents and edge ' +
        'workers load',
    )
    .requiredOption('--model <name>', `zoo model (${listModels().join(', ')})`)
    .option('--runs <n>', 'timed runs per segment', parseInteger, 5)
    .option('--threads <n>', 'intra-op threads per session', parseInteger, 1)
    .option('--slowdown <k>', 'multiply device times by k (a weaker device)', parsePositive, 1)
    .option('--out <file>', 'write the JSON to FILE instead of stdout')
    .action(runProfile);
}

async function runProfile(flags: ProfileFlags): Promise<void> {
  if (!hasModel(flags.model)) {
    process.stderr.write(
      `edgesplit profile: unknown model "${flags.model.slice(0, 64)}" (known: ${listModels().join(', ')})\n`,
    );
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (flags.runs < 1 || flags.threads < 1) {
    process.stderr.write('edgesplit profile: --runs and --threads must be >= 1\n');
    process.exitCode = EXIT_USAGE;
    return;
  }
  const profile = await measureProfile(flags.model, {
    runs: flags.runs,
    threads: flags.threads,
    slowdown: flags.slowdown,
    onProgress: progress(`profiling ${flags.model}`),
  });
  if (flags.out === undefined) process.stdout.write(`${JSON.stringify(profile, null, 2)}\n`);
  else {
    await writeProfileFile(flags.out, profile);
    process.stderr.write(`wrote ${flags.out}\n`);
  }
}
