import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPERIMENTS, runExperiment } from '../experiments/index.js';
import { COLUMNS as LIVE_COLUMNS, LIVE_SOLVERS } from '../experiments/live.js';
import { COLUMNS as ROBUSTNESS_COLUMNS } from '../experiments/robustness.js';
import { COLUMNS as SCALE_COLUMNS } from '../experiments/scale.js';
import { COLUMNS as SOLVERS_COLUMNS } from '../experiments/solvers.js';
import { runCli } from './cli-run.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'edgesplit-experiment-'));
}

/** Runs an experiment in --quick mode into a fresh folder; returns its files by base name. */
async function quick(name: string): Promise<{ dir: string; files: Map<string, string> }> {
  const experiment = EXPERIMENTS.find((e) => e.name === name);
  if (experiment === undefined) throw new Error(`no experiment ${name}`);
  const dir = tempDir();
  const result = await runExperiment(experiment, {
    outDir: dir,
    quick: true,
    command: `edgesplit experiment ${name} --quick`,
    log: () => {},
  });
  return { dir, files: new Map(result.files.map((f) => [basename(f), f])) };
}

/** CSV rows as records (the experiments write no quoted fields). */
function readCsv(file: string): { header: string[]; rows: Record<string, string>[] } {
  const [head = '', ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const header = head.split(',');
  const rows = lines.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(header.map((h, k) => [h, cells[k] ?? '']));
  });
  return { header, rows };
}

function expectPlot(files: Map<string, string>, base: string): void {
  const svg = readFileSync(files.get(`${base}.svg`) ?? '', 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const png = readFileSync(files.get(`${base}.png`) ?? '');
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.length).toBeGreaterThan(20_000);
}

function expectReport(files: Map<string, string>, name: string): void {
  const report = readFileSync(files.get('report.md') ?? '', 'utf8');
  expect(report).toContain(`command: \`edgesplit experiment ${name} --quick\``);
  expect(report).toMatch(/commit: `[0-9a-f]{40}(-dirty)?`/);
  for (const file of files.keys()) if (file !== 'report.md') expect(report).toContain(file);
}

const SLOW = 300_000;

describe('edgesplit experiment --quick', () => {
  it(
    'solvers: CSV of 3 sweeps x 3 points x 3 seeds x 6 solvers, optimal never beaten; plots; report',
    async () => {
      const { files } = await quick('solvers');
      const { header, rows } = readCsv(files.get('solvers.csv') ?? '');
      expect(header).toEqual([...SOLVERS_COLUMNS]);
      expect(rows).toHaveLength(3 * 3 * 3 * 6);
      expect(new Set(rows.map((r) => r.solver))).toEqual(
        new Set(['optimal', 'iao', 'local', 'edge', 'even', 'independent']),
      );
      expect(new Set(rows.map((r) => r.sweep))).toEqual(new Set(['ues', 'units', 'bandwidth']));
      const fleets = new Map<string, Record<string, string>[]>();
      for (const r of rows) {
        const key = `${r.sweep}/${r.x}/${r.seed}`;
        fleets.set(key, [...(fleets.get(key) ?? []), r]);
      }
      expect(fleets.size).toBe(27);
      for (const fleet of fleets.values()) {
        const optimal = Number(fleet.find((r) => r.solver === 'optimal')?.maxLatencyMs);
        for (const r of fleet) expect(Number(r.maxLatencyMs)).toBeGreaterThanOrEqual(optimal);
      }
      expectPlot(files, 'solvers-max');
      expectPlot(files, 'solvers-mean');
      expectReport(files, 'solvers');
      expect(readFileSync(files.get('report.md') ?? '', 'utf8')).toMatch(
        /IAO's gap to the optimum .* median [\d.]+%, p90 [\d.]+%, p99 [\d.]+%, max [\d.]+%/,
      );
    },
    SLOW,
  );

  it(
    'robustness: CSV of 3 error levels x 4 seeds x 3 solvers, none beating the true optimum; plot; report',
    async () => {
      const { files } = await quick('robustness');
      const { header, rows } = readCsv(files.get('robustness.csv') ?? '');
      expect(header).toEqual([...ROBUSTNESS_COLUMNS]);
      expect(rows).toHaveLength(3 * 4 * 3);
      expect(new Set(rows.map((r) => r.error))).toEqual(new Set(['0.1', '0.3', '0.5']));
      expect(new Set(rows.map((r) => r.solver))).toEqual(new Set(['optimal', 'iao', 'even']));
      for (const r of rows) expect(Number(r.ratio)).toBeGreaterThanOrEqual(1 - 1e-9);
      expectPlot(files, 'robustness');
      expectReport(files, 'robustness');
    },
    SLOW,
  );

  it(
    'scale: CSV of optimal and iao at N = 100 and 1,000 and HiGHS solving N = 10 to optimality; plot; report',
    async () => {
      const { files } = await quick('scale');
      const { header, rows } = readCsv(files.get('scale.csv') ?? '');
      expect(header).toEqual([...SCALE_COLUMNS]);
      expect(rows.map((r) => `${r.solver}@${r.ues}`)).toEqual([
        'optimal@100',
        'iao@100',
        'optimal@1000',
        'iao@1000',
        'highs@10',
      ]);
      for (const r of rows) expect(Number(r.solveMs)).toBeGreaterThan(0);
      expect(rows.at(-1)?.status).toBe('Optimal');
      expectPlot(files, 'scale');
      expectReport(files, 'scale');
    },
    SLOW,
  );

  it(
    'live: CSV with one row per solver, every row with finished tasks and none failed; plot; report',
    async () => {
      const { files } = await quick('live');
      const { header, rows } = readCsv(files.get('live.csv') ?? '');
      expect(header).toEqual([...LIVE_COLUMNS]);
      expect(rows.map((r) => r.solver)).toEqual([...LIVE_SOLVERS]);
      for (const r of rows) {
        expect(Number(r.tasks)).toBeGreaterThan(0);
        expect(r.failedTasks).toBe('0');
        expect(Number(r.measuredMaxMs)).toBeGreaterThanOrEqual(Number(r.measuredMeanMs));
      }
      expectPlot(files, 'live');
      expectReport(files, 'live');
    },
    SLOW,
  );

  it(
    'the CLI writes into --out and lists the files; an unknown experiment exits 2',
    () => {
      const dir = tempDir();
      const run = runCli(['experiment', 'robustness', '--quick', '--out', dir]);
      expect(run.code).toBe(0);
      const listed = run.stdout.trim().split('\n');
      expect(listed.map((f) => basename(f))).toEqual([
        'robustness.csv',
        'robustness.svg',
        'robustness.png',
        'report.md',
      ]);
      for (const file of listed) expect(statSync(file).size).toBeGreaterThan(0);
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain(
        `edgesplit experiment robustness --quick --out ${dir}`,
      );
      const unknown = runCli(['experiment', 'nope']);
      expect([unknown.code, unknown.stdout]).toEqual([2, '']);
    },
    SLOW,
  );
});
