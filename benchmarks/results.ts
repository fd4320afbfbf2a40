/**
 * Benchmark results on disk: `--save` writes a benchmark's JSON, with when, at which commit and
 * on what machine it ran, to `benchmarks/results/{bench}-{date}.json`. A figure quoted from a
 * run can then be traced to its file, and runs on different machines or loads compared.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asError } from '../runtime/as-error.js';

/** Where `--save` writes. */
export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** What the machine was and how busy, when a benchmark started or ended. */
export interface MachineFacts {
  readonly cores: number;
  readonly cpuModel: string;
  /** 1, 5 and 15 minute load averages (runnable processes; compare with `cores`). */
  readonly loadAverage: readonly [number, number, number];
  readonly totalMemoryBytes: number;
  readonly os: string;
  readonly node: string;
  readonly hostname: string;
}

/** The commit the benchmark ran from, and whether the work tree had changes on top of it. */
export interface CommitFacts {
  readonly commit: string | null;
  readonly dirty: boolean | null;
}

/** The header of a saved result. */
export interface RunRecord<T> {
  readonly bench: string;
  /** ISO 8601, UTC. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly argv: readonly string[];
  readonly commit: string | null;
  readonly dirty: boolean | null;
  /** At the start of the run. */
  readonly machine: MachineFacts;
  /** Load averages at the end of the run. */
  readonly loadAverageAtEnd: readonly [number, number, number];
  readonly result: T;
}

export function machineFacts(): MachineFacts {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    loadAverage: [one, five, fifteen],
    totalMemoryBytes: totalmem(),
    os: `${process.platform} ${release()}`,
    node: process.version,
    hostname: hostname(),
  };
}

export function commitFacts(): CommitFacts {
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain') !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** Facts taken when a benchmark starts; `save` completes them with its result. */
export class BenchRun {
  private readonly started = new Date();
  private readonly machine = machineFacts();

  constructor(readonly bench: string) {}

  /** The record of this run with its result. */
  record<T>(result: T): RunRecord<T> {
    const [one = 0, five = 0, fifteen = 0] = loadavg();
    return {
      bench: this.bench,
      startedAt: this.started.toISOString(),
      finishedAt: new Date().toISOString(),
      argv: process.argv.slice(2),
      ...commitFacts(),
      machine: this.machine,
      loadAverageAtEnd: [one, five, fifteen],
      result,
    };
  }

  /**
   * Writes the record to `{dir}/{bench}-{start date and time, UTC}.json` and returns its path.
   */
  save<T>(result: T, dir = RESULTS_DIR): string {
    mkdirSync(dir, { recursive: true });
    const stamp = this.started
      .toISOString()
      .replace(/:/g, '-')
      .replace(/\.\d+Z$/, 'Z');
    const path = join(dir, `${this.bench}-${stamp}.json`);
    writeFileSync(path, `${JSON.stringify(this.record(result), null, 2)}\n`);
    formatAsTheRepository(path);
    return path;
  }
}

/** The project's formatter, which `biome ci` holds saved results to. */
const BIOME = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
/** The repository's root, whose biome.json the formatter must read. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Formats a saved result as the repository's checks want it (JSON.stringify puts every array
 * item on a line of its own; the formatter keeps short arrays on one). A result that cannot be
 * formatted is still saved: it says so, and `npx biome format --write` does it later.
 */
function formatAsTheRepository(path: string): void {
  try {
    execFileSync(BIOME, ['format', '--write', path], { cwd: ROOT, stdio: 'ignore' });
  } catch (error) {
    process.stderr.write(`saved ${path} unformatted (${asError(error).message})\n`);
  }
}

/** Whether the command line asks for `--save`. */
export function wantsSave(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--save');
}
