import { execFileSync } from 'node:child_process';

/** What every experiment is given. */
export interface ExperimentContext {
  /** Folder the experiment writes its files into (created by the runner). */
  readonly outDir: string;
  /** Few, small points: finishes in under a minute, for tests and a first look. */
  readonly quick: boolean;
  /** The command line that ran the experiment, as the report names it. */
  readonly command: string;
  /** Progress lines (stderr for the CLI). */
  readonly log: (line: string) => void;
}

/** What an experiment hands back: the files it wrote, and its report's findings. */
export interface ExperimentResult {
  readonly files: readonly string[];
}

export interface Experiment {
  readonly name: string;
  readonly title: string;
  readonly run: (context: ExperimentContext) => Promise<ExperimentResult>;
}

/**
 * The git commit of the code that runs, with `-dirty` when the work tree has uncommitted changes
 * to tracked files; `unknown` outside a git checkout.
 */
export function gitCommit(cwd = process.cwd()): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      encoding: 'utf8',
    });
    return status.trim() === '' ? head : `${head}-dirty`;
  } catch {
    return 'unknown';
  }
}
