import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { contentionOf } from '../scheduler/contention.js';
import { prepareFleet, SOLVER_NAMES, solve } from '../scheduler/solvers/index.js';
import type { Experiment, ExperimentContext, ExperimentResult } from './context.js';
import { writeCsv } from './csv.js';
import { contendedFleet } from './fleets.js';
import { EXPERIMENT_TITLES } from './names.js';
import { independentPlan, type Outcome, outcomeOf, planOf } from './outcome.js';
import { writePlot } from './plot.js';
import { spread } from './quantiles.js';
import { markdownTable, writeReport } from './report.js';

/** One axis the experiment sweeps, the others held at the defaults. */
interface Sweep {
  readonly name: 'ues' | 'units' | 'bandwidth';
  readonly values: readonly number[];
}

const DEFAULT_UES = 100;
const SOLVERS = [...SOLVER_NAMES, 'independent'] as const;

function sweeps(quick: boolean): Sweep[] {
  return [
    {
      name: 'ues',
      values: quick ? [10, 30, 100] : [10, 30, 100, 300, 1000],
    },
    {
      name: 'units',
      values: quick ? [0.5, 1, 2] : [0.25, 0.5, 1, 2, 4],
    },
    {
      name: 'bandwidth',
      values: quick ? [0.5, 1, 2] : [0.25, 0.5, 1, 2, 4],
    },
  ];
}

export const COLUMNS = [
  'sweep',
  'x',
  'ues',
  'units',
  'bandwidthScale',
  'seed',
  'pinned',
  'solver',
  'maxLatencyMs',
  'meanLatencyMs',
  'localUes',
] as const;

async function run(context: ExperimentContext): Promise<ExperimentResult> {
  const started = new Date();
  const seeds = context.quick ? 3 : 20;
  const rows: Record<string, string | number | boolean>[] = [];
  const gaps: number[] = [];
  let fleets = 0;
  let pinned = 0;
  for (const sweep of sweeps(context.quick)) {
    for (const x of sweep.values) {
      context.log(`solvers: ${sweep.name} = ${x}`);
      for (let seed = 1; seed <= seeds; seed++) {
        const ues = sweep.name === 'ues' ? x : DEFAULT_UES;
        const unitsPerUe = sweep.name === 'units' ? x : 1;
        const bandwidthScale = sweep.name === 'bandwidth' ? x : 1;
        const instance = contendedFleet({ ues, seed, unitsPerUe, bandwidthScale });
        const fleet = prepareFleet(instance);
        const outcomes = new Map<string, Outcome>();
        for (const name of SOLVER_NAMES)
          outcomes.set(name, outcomeOf(fleet, planOf(solve(fleet, name))));
        outcomes.set('independent', outcomeOf(fleet, independentPlan(fleet)));
        const optimal = outcomes.get('optimal');
        const iao = outcomes.get('iao');
        if (optimal !== undefined && iao !== undefined && optimal.maxLatencyMs > 0)
          gaps.push(iao.maxLatencyMs / optimal.maxLatencyMs - 1);
        const isPinned = contentionOf(fleet).pinned;
        fleets++;
        if (isPinned) pinned++;
        for (const solver of SOLVERS) {
          const o = outcomes.get(solver);
          if (o === undefined) continue;
          rows.push({
            sweep: sweep.name,
            x,
            ues,
            units: instance.edge.units,
            bandwidthScale,
            seed,
            pinned: isPinned,
            solver,
            maxLatencyMs: o.maxLatencyMs,
            meanLatencyMs: o.meanLatencyMs,
            localUes: o.localUes,
          });
        }
      }
    }
  }
  const csv = join(context.outDir, 'solvers.csv');
  await writeCsv(csv, COLUMNS, rows);
  const files = [csv];
  for (const metric of ['maxLatencyMs', 'meanLatencyMs'] as const) {
    const base = join(context.outDir, metric === 'maxLatencyMs' ? 'solvers-max' : 'solvers-mean');
    files.push(...(await writePlot(base, plotSpec(rows, metric, context.quick))));
  }
  const gap = spread(gaps);
  const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);
  const means = meanTable(rows);
  const report = await writeReport(join(context.outDir, 'report.md'), {
    title: 'Experiment: solvers',
    command: context.command,
    startedAt: started,
    durationS: (Date.now() - started.getTime()) / 1000,
    files,
    sections: [
      `Fleets of the \`contended\` scenario (\`fleet generate --scenario contended\`), ${seeds} ` +
        'seeds per point; each sweep varies one of N, R / N and the link rates, the others held ' +
        `at N = ${DEFAULT_UES}, R = N, catalog rates. ${pinned} of ${fleets} fleets are pinned ` +
        "(the optimum equals one UE's own limit with unlimited units).",
      '`independent`: each UE picks its cut alone as if the edge served it only (all the units ' +
        'its batch can use), as Neurosurgeon does, and the units are split evenly; `even` splits ' +
        'evenly too but each UE picks its best cut for its share.',
      `IAO's gap to the optimum (iao max / optimal max − 1) over the ${gaps.length} fleets: ` +
        `median ${pct(gap.median)}, p90 ${pct(gap.p90)}, p99 ${pct(gap.p99)}, max ${pct(gap.max)}.`,
      'Max latency (ms), mean over seeds:',
      means,
    ],
  });
  files.push(report);
  return { files };
}

/** Mean over seeds of the max latency, one row per sweep point, one column per solver. */
function meanTable(rows: readonly Record<string, string | number | boolean>[]): string {
  const points = new Map<string, Map<string, number[]>>();
  for (const r of rows) {
    const key = `${r.sweep} = ${r.x}`;
    const bySolver = points.get(key) ?? new Map<string, number[]>();
    points.set(key, bySolver);
    const list = bySolver.get(String(r.solver)) ?? [];
    list.push(Number(r.maxLatencyMs));
    bySolver.set(String(r.solver), list);
  }
  const body = [...points].map(([key, bySolver]) => [
    key,
    ...SOLVERS.map((s) => {
      const v = bySolver.get(s) ?? [];
      return v.length === 0 ? '-' : (v.reduce((a, b) => a + b, 0) / v.length).toFixed(0);
    }),
  ]);
  return markdownTable(['point', ...SOLVERS], body);
}

function plotSpec(
  rows: readonly Record<string, string | number | boolean>[],
  metric: 'maxLatencyMs' | 'meanLatencyMs',
  quick: boolean,
): TopLevelSpec {
  const label = metric === 'maxLatencyMs' ? 'max latency' : 'mean latency';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${label} of each solver on contended fleets (mean over seeds${quick ? ', --quick' : ''})`,
    data: { values: rows.map((r) => ({ ...r, panel: panelTitle(String(r.sweep)) })) },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: PANEL_ORDER } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 260,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'x',
          type: 'quantitative',
          scale: { type: 'log', nice: false },
          title: 'swept value (log)',
        },
        y: {
          aggregate: 'mean',
          field: metric,
          type: 'quantitative',
          scale: { type: 'log' },
          title: `${label} (ms, log)`,
        },
        color: { field: 'solver', type: 'nominal', sort: [...SOLVERS], title: 'solver' },
        // Several baselines often coincide: dashes keep each line visible.
        strokeDash: { field: 'solver', type: 'nominal', sort: [...SOLVERS], title: 'solver' },
      },
    },
  };
}

const PANEL_ORDER = ['UEs N (R = N)', 'units per UE (N = 100)', 'link rate x (N = 100)'];

function panelTitle(sweep: string): string {
  if (sweep === 'ues') return PANEL_ORDER[0] ?? sweep;
  if (sweep === 'units') return PANEL_ORDER[1] ?? sweep;
  return PANEL_ORDER[2] ?? sweep;
}

export const solversExperiment: Experiment = {
  name: 'solvers',
  title: EXPERIMENT_TITLES.solvers,
  run,
};
