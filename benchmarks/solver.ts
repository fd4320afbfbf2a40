import { parseArgs } from 'node:util';
import { generateFleet, loadScenario, type Scenario } from '../dnn/index.js';
import { contentionOf } from '../scheduler/contention.js';
import { parseInstance } from '../scheduler/instance.js';
import type { Instance } from '../scheduler/instance-schema.js';
import { loadHighs, solveMilp } from '../scheduler/reference/milp.js';
import { prepareFleet, solve } from '../scheduler/solvers/index.js';
import { medianOrNaN as median } from '../stats/quantile.js';
import { BenchRun } from './results.js';
import { type BenchRow, printTable, type TargetCheck } from './solver-report.js';
import { timeMedian } from './timing.js';

/**
 * `npm run bench:solver [-- --sizes 10,100] [--seed 1] [--scenario contended] [--json] [--save]`
 *
 * For each fleet size N: a fleet of N UEs generated from the scenario (default `contended`,
 * R = N units; `catalog` gets R = N/2), whether it is pinned, its local UEs, the median in-process
 * time of `optimal` and `iao` (prepareFleet included, as the CLI does it), IAO's iterations and
 * its maximum latency against the optimum; for N <= MILP_MAX_UES also HiGHS on the MILP, whose
 * optimum must agree with `optimal` (exit 1 on a mismatch).
 */

const DEFAULT_SIZES = [10, 100, 1000, 10_000];
const MILP_MAX_UES = 100;
const MILP_RUNS = 3;
/** HiGHS stops within its tolerances (benchmarks/milp.ts); more than this is a real mismatch. */
const AGREE_REL = 1e-6;

interface Args {
  readonly sizes: readonly number[];
  readonly seed: number;
  readonly scenario: string;
  readonly json: boolean;
  readonly save: boolean;
}

function parseCliArgs(argv: readonly string[]): Args {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string' },
      seed: { type: 'string', default: '1' },
      scenario: { type: 'string', default: 'contended' },
      json: { type: 'boolean', default: false },
      save: { type: 'boolean', default: false },
    },
  });
  const sizes =
    values.sizes === undefined ? DEFAULT_SIZES : values.sizes.split(',').map((s) => Number(s));
  for (const n of sizes) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`--sizes: bad fleet size "${n}"`);
  }
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`--seed: bad seed "${seed}"`);
  return { sizes, seed, scenario: values.scenario, json: values.json, save: values.save };
}

function fleetOf(ues: number, seed: number, scenario: Scenario): Instance {
  const units = scenario.unitsPerUe === undefined ? Math.floor(ues / 2) : undefined;
  const parsed = parseInstance(
    generateFleet({ ues, seed, scenario, ...(units === undefined ? {} : { units }) }),
  );
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

function relDiff(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

async function benchSize(ues: number, seed: number, scenario: Scenario): Promise<BenchRow> {
  const instance = fleetOf(ues, seed, scenario);
  const optimal = solve(instance, 'optimal');
  const iao = solve(instance, 'iao');
  const contention = contentionOf(prepareFleet(instance), optimal);
  const budget = { budgetMs: ues >= 10_000 ? 3000 : 1000 };
  const prepareTime = timeMedian(() => prepareFleet(instance), budget);
  const optimalTime = timeMedian(() => solve(instance, 'optimal'), budget);
  const iaoTime = timeMedian(() => solve(instance, 'iao'), budget);
  const row: BenchRow = {
    ues,
    units: instance.edge.units,
    cuts: instance.ues.reduce((s, ue) => s + ue.cuts.length, 0),
    prepareMs: prepareTime.medianMs,
    optimalMs: optimalTime.medianMs,
    optimalRuns: optimalTime.runs,
    iaoMs: iaoTime.medianMs,
    iaoRuns: iaoTime.runs,
    iaoIterations: iao.continuous?.iterations ?? 0,
    optimalMaxMs: optimal.maxLatencyMs,
    iaoMaxMs: iao.maxLatencyMs,
    iaoOverOptimal: iao.maxLatencyMs / optimal.maxLatencyMs,
    iaoMeanOverOptimal: iao.meanLatencyMs / optimal.meanLatencyMs,
    pinned: contention.pinned,
    localUes: contention.localUes,
    milpMs: null,
    milpMaxMs: null,
    milpStatus: null,
    milpBinaries: null,
    milpAgrees: null,
    highsOverOptimal: null,
  };
  if (ues > MILP_MAX_UES) return row;
  const times: number[] = [];
  let milp = await solveMilp(instance);
  for (let k = 0; k < MILP_RUNS; k++) {
    milp = await solveMilp(instance);
    times.push(milp.solveMs);
  }
  const milpMs = median(times);
  return {
    ...row,
    milpMs,
    milpMaxMs: milp.maxLatencyMs,
    milpStatus: milp.status,
    milpBinaries: milp.binaries,
    milpAgrees:
      milp.status === 'Optimal' && relDiff(optimal.maxLatencyMs, milp.maxLatencyMs) <= AGREE_REL,
    highsOverOptimal: milpMs / optimalTime.medianMs,
  };
}

function targetChecks(rows: readonly BenchRow[]): TargetCheck[] {
  const at = (ues: number) => rows.find((r) => r.ues === ues);
  const small = at(1000);
  const large = at(10_000);
  const milp = at(100);
  return [
    {
      target: 'optimal <= 2 ms at N = 1,000',
      met: small ? small.optimalMs <= 2 : null,
      actual: small ? `${small.optimalMs.toFixed(3)} ms` : 'not measured',
    },
    {
      target: 'optimal <= 30 ms at N = 10,000',
      met: large ? large.optimalMs <= 30 : null,
      actual: large ? `${large.optimalMs.toFixed(3)} ms` : 'not measured',
    },
    {
      target: 'iao <= 2 ms at N = 1,000',
      met: small ? small.iaoMs <= 2 : null,
      actual: small ? `${small.iaoMs.toFixed(3)} ms` : 'not measured',
    },
    {
      target: 'iao <= 30 ms at N = 10,000',
      met: large ? large.iaoMs <= 30 : null,
      actual: large ? `${large.iaoMs.toFixed(3)} ms` : 'not measured',
    },
    {
      target: 'optimal >= 100x faster than HiGHS at N = 100',
      met: milp?.highsOverOptimal != null ? milp.highsOverOptimal >= 100 : null,
      actual:
        milp?.highsOverOptimal != null ? `${milp.highsOverOptimal.toFixed(0)}x` : 'not measured',
    },
  ];
}

async function main(): Promise<number> {
  const args = parseCliArgs(process.argv.slice(2));
  const scenario = await loadScenario(args.scenario);
  const run = new BenchRun('solver');
  if (args.sizes.some((n) => n <= MILP_MAX_UES)) await loadHighs();
  const rows: BenchRow[] = [];
  for (const ues of args.sizes) {
    if (!args.json) process.stderr.write(`N = ${ues} ...\n`);
    rows.push(await benchSize(ues, args.seed, scenario));
  }
  const targets = targetChecks(rows);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    printTable(rows, targets, args.seed, scenario.name);
  }
  if (args.save) process.stderr.write(`saved ${run.save({ seed: args.seed, rows, targets })}\n`);
  const mismatches = rows.filter((r) => r.milpAgrees === false);
  for (const r of mismatches) {
    process.stderr.write(
      `MISMATCH at N = ${r.ues}: optimal ${r.optimalMaxMs} ms, HiGHS ${r.milpMaxMs} ms (status ${r.milpStatus})\n`,
    );
  }
  return mismatches.length > 0 ? 1 : 0;
}

process.exitCode = await main();
