import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TopLevelSpec } from 'vega-lite';
import { asError } from '../runtime/as-error.js';
import type { Instance } from '../scheduler/instance-schema.js';
import { prepareFleet, type SolverName, solve } from '../scheduler/solvers/index.js';
import { medianOrNaN } from '../stats/quantile.js';
import type { Experiment, ExperimentContext, ExperimentResult } from './context.js';
import { writeCsv } from './csv.js';
import { contendedFleet } from './fleets.js';
import { EXPERIMENT_TITLES } from './names.js';
import { writePlot } from './plot.js';
import { markdownTable, writeReport } from './report.js';

export const COLUMNS = [
  'ues',
  'units',
  'solver',
  'status',
  'solveMs',
  'runs',
  'retainedMB',
  'peakRssMB',
  'maxLatencyMs',
] as const;

const TIMED: readonly SolverName[] = ['optimal', 'iao'];

/** The runtime's collector, exposed for this process (memory figures need a clean heap). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  return typeof gc === 'function' ? () => gc() : () => {};
}

/** Median time of `solve(instance, solver)` (prepareFleet included) within a time budget. */
function timeSolve(instance: Instance, solver: SolverName, budgetMs: number) {
  solve(instance, solver);
  const times: number[] = [];
  const end = performance.now() + budgetMs;
  while (times.length < 3 || (performance.now() < end && times.length < 200)) {
    const start = performance.now();
    solve(instance, solver);
    times.push(performance.now() - start);
  }
  return { medianMs: medianOrNaN(times), runs: times.length };
}

/** Heap still held by a solve's prepared fleet and solution, after a collection. */
function retainedMB(instance: Instance, solver: SolverName, gc: () => void): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const fleet = prepareFleet(instance);
  const solution = solve(fleet, solver);
  gc();
  const after = process.memoryUsage().heapUsed;
  // Keep both alive until measured.
  if (solution.decisions.length !== fleet.n) throw new Error('solution does not cover the fleet');
  // Below about half a megabyte this is within the heap's own noise; never shown negative.
  return Math.max(0, after - before) / 2 ** 20;
}

const peakRssMB = () => process.resourceUsage().maxRSS / 1024;

type MilpModule = typeof import('../scheduler/reference/milp.js');

/** HiGHS solving the reference MILP, or why not (it is a development dependency). */
async function loadMilp(): Promise<MilpModule | string> {
  try {
    const milp: MilpModule = await import('../scheduler/reference/milp.js');
    await milp.loadHighs();
    return milp;
  } catch (error) {
    return `HiGHS not available (${asError(error).message})`;
  }
}

async function run(context: ExperimentContext): Promise<ExperimentResult> {
  const started = new Date();
  const sizes = context.quick ? [100, 1000] : [100, 1000, 10_000, 100_000];
  const highsSizes = context.quick ? [10] : [10, 100, 1000, 10_000];
  const highsLimitS = context.quick ? 5 : 60;
  const budgetMs = context.quick ? 200 : 3000;
  const gc = collector();
  const rows: Record<string, string | number>[] = [];
  for (const ues of sizes) {
    context.log(`scale: N = ${ues}`);
    const instance = contendedFleet({ ues, seed: 1 });
    for (const solver of TIMED) {
      const time = timeSolve(instance, solver, budgetMs);
      rows.push({
        ues,
        units: instance.edge.units,
        solver,
        status: 'solved',
        solveMs: time.medianMs,
        runs: time.runs,
        retainedMB: retainedMB(instance, solver, gc),
        peakRssMB: peakRssMB(),
        maxLatencyMs: solve(instance, solver).maxLatencyMs,
      });
    }
  }
  const milp = await loadMilp();
  const notes: string[] = [];
  if (typeof milp === 'string') notes.push(milp);
  else {
    for (const ues of highsSizes) {
      context.log(`scale: HiGHS, N = ${ues} (limit ${highsLimitS} s)`);
      const instance = contendedFleet({ ues, seed: 1 });
      let status: string;
      let solveMs = Number.NaN;
      let maxLatencyMs = Number.NaN;
      try {
        const result = await milp.solveMilp(instance, highsLimitS);
        status = result.status;
        solveMs = result.solveMs;
        maxLatencyMs = result.maxLatencyMs;
      } catch (error) {
        status = `failed: ${asError(error).message}`;
      }
      rows.push({
        ues,
        units: instance.edge.units,
        solver: 'highs',
        status,
        solveMs,
        runs: 1,
        retainedMB: Number.NaN,
        peakRssMB: peakRssMB(),
        maxLatencyMs,
      });
      if (status !== 'Optimal') break;
    }
  }
  const csv = join(context.outDir, 'scale.csv');
  await writeCsv(csv, COLUMNS, rows);
  const files = [csv, ...(await writePlot(join(context.outDir, 'scale'), spec(rows)))];
  const f = (v: string | number | undefined, digits: number) =>
    typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
  const table = markdownTable(
    [
      'N',
      'R',
      'solver',
      'status',
      'solve ms (median)',
      'runs',
      'retained MB',
      'peak RSS MB',
      'max latency ms',
    ],
    rows.map((r) => [
      String(r.ues),
      String(r.units),
      String(r.solver),
      String(r.status),
      f(r.solveMs, 3),
      String(r.runs),
      f(r.retainedMB, 1),
      f(r.peakRssMB, 0),
      f(r.maxLatencyMs, 1),
    ]),
  );
  files.push(
    await writeReport(join(context.outDir, 'report.md'), {
      title: 'Experiment: scale',
      command: context.command,
      startedAt: started,
      durationS: (Date.now() - started.getTime()) / 1000,
      files,
      sections: [
        'Contended fleets (seed 1, R = N). `solve ms`: median wall clock of one in-process ' +
          '`solve(instance, solver)`, prepareFleet included, after one warm-up run. `retained MB`: ' +
          'heap held by the prepared fleet and the solution after a collection (what a scheduler ' +
          'keeps per solve; below about 0.5 MB within noise). `peak RSS MB`: the peak resident ' +
          'set of the process so far (sizes run in ' +
          `increasing order). HiGHS solves the MILP of benchmarks/milp.ts with a ${highsLimitS} s ` +
          'limit on its search (building and reading the LP text come on top); larger sizes are ' +
          'not tried once one fails to finish, and the plot shows finished solves only.',
        ...notes,
        table,
      ],
    }),
  );
  return { files };
}

function spec(rows: readonly Record<string, string | number>[]): TopLevelSpec {
  // Only finished solves: a HiGHS run stopped at its limit has no solve time to show.
  const data = rows.filter((r) => r.status === 'solved' || r.status === 'Optimal');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'solve time against fleet size (contended fleets, R = N)',
    width: 460,
    height: 280,
    data: { values: data },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'ues',
        type: 'quantitative',
        scale: { type: 'log', nice: false },
        title: 'UEs N (log)',
      },
      y: {
        field: 'solveMs',
        type: 'quantitative',
        scale: { type: 'log' },
        title: 'solve time (ms, log)',
      },
      color: { field: 'solver', type: 'nominal', sort: ['optimal', 'iao', 'highs'] },
    },
  };
}

export const scaleExperiment: Experiment = {
  name: 'scale',
  title: EXPERIMENT_TITLES.scale,
  run,
};
