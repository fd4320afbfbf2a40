import { join } from 'node:path';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { mersenne } from 'pure-rand/generator/mersenne';
import type { TopLevelSpec } from 'vega-lite';
import type { Instance } from '../scheduler/instance-schema.js';
import { prepareFleet, type SolverName, solve } from '../scheduler/solvers/index.js';
import type { Experiment, ExperimentContext, ExperimentResult } from './context.js';
import { writeCsv } from './csv.js';
import { contendedFleet } from './fleets.js';
import { EXPERIMENT_TITLES } from './names.js';
import { outcomeOf, planOf } from './outcome.js';
import { writePlot } from './plot.js';
import { mean, spread } from './quantiles.js';
import { markdownTable, writeReport } from './report.js';

const ERRORS = [0.1, 0.3, 0.5];
const DECIDERS: readonly SolverName[] = ['optimal', 'iao', 'even'];

export const COLUMNS = [
  'error',
  'seed',
  'solver',
  'achievedMaxMs',
  'optimalMaxMs',
  'ratio',
  'achievedMeanMs',
] as const;

/**
 * What the scheduler would believe: every UE's device times, edge times and link rates each
 * multiplied by its own factor drawn uniformly from [1 − e, 1 + e] (one factor per UE and
 * quantity, so the cut tables keep their shape).
 */
export function estimated(instance: Instance, error: number, seed: number): Instance {
  const rng = mersenne(seed);
  const factor = () => 1 - error + 2 * error * uniformFloat64(rng);
  return {
    ...instance,
    ues: instance.ues.map((ue) => {
      const device = factor();
      const edge = factor();
      const link = factor();
      return {
        ...ue,
        uplinkMbps: ue.uplinkMbps * link,
        ...(ue.downlinkMbps === undefined ? {} : { downlinkMbps: ue.downlinkMbps * link }),
        cuts: ue.cuts.map((cut) => ({
          ...cut,
          deviceMs: cut.deviceMs * device,
          edgeMs: cut.edgeMs * edge,
        })),
      };
    }),
  };
}

async function run(context: ExperimentContext): Promise<ExperimentResult> {
  const started = new Date();
  const seeds = context.quick ? 4 : 40;
  const ues = context.quick ? 30 : 100;
  const rows: Record<string, string | number>[] = [];
  for (const error of ERRORS) {
    context.log(`robustness: error ${error * 100}%`);
    for (let seed = 1; seed <= seeds; seed++) {
      const truth = contendedFleet({ ues, seed });
      const trueFleet = prepareFleet(truth);
      const optimum = solve(trueFleet, 'optimal').maxLatencyMs;
      const believed = prepareFleet(estimated(truth, error, 1000 + seed));
      for (const solver of DECIDERS) {
        const achieved = outcomeOf(trueFleet, planOf(solve(believed, solver)));
        rows.push({
          error,
          seed,
          solver,
          achievedMaxMs: achieved.maxLatencyMs,
          optimalMaxMs: optimum,
          ratio: achieved.maxLatencyMs / optimum,
          achievedMeanMs: achieved.meanLatencyMs,
        });
      }
    }
  }
  const csv = join(context.outDir, 'robustness.csv');
  await writeCsv(csv, COLUMNS, rows);
  const files = [csv, ...(await writePlot(join(context.outDir, 'robustness'), spec(rows)))];
  const table = markdownTable(
    ['error', 'solver', 'mean', 'median', 'p90', 'max'],
    ERRORS.flatMap((error) =>
      DECIDERS.map((solver) => {
        const ratios = rows
          .filter((r) => r.error === error && r.solver === solver)
          .map((r) => Number(r.ratio));
        const s = spread(ratios);
        const f = (v: number | null) => (v === null ? '-' : v.toFixed(3));
        return [`${error * 100}%`, solver, f(mean(ratios)), f(s.median), f(s.p90), f(s.max)];
      }),
    ),
  );
  files.push(
    await writeReport(join(context.outDir, 'report.md'), {
      title: 'Experiment: robustness',
      command: context.command,
      startedAt: started,
      durationS: (Date.now() - started.getTime()) / 1000,
      files,
      sections: [
        `Contended fleets (N = ${ues}, R = N, ${seeds} seeds). Each solver decides on estimates: ` +
          "every UE's device times, edge times and link rates each off by a factor drawn from " +
          '[1 − e, 1 + e]. The decisions (cut and units per UE) are then scored on the true fleet: ' +
          'achieved max latency / the true optimum (1 = as good as deciding on the truth).',
        table,
      ],
    }),
  );
  return { files };
}

const Y_TITLE = 'achieved / optimal (median; band: quartiles)';

function spec(rows: readonly Record<string, string | number>[]): TopLevelSpec {
  const data = rows.map((r) => ({ ...r, errorPct: Number(r.error) * 100 }));
  const x = {
    field: 'errorPct',
    type: 'quantitative',
    title: 'estimation error e (%)',
    scale: { domain: [0, 55] as number[] },
  } as const;
  const color = { field: 'solver', type: 'nominal', sort: [...DECIDERS], title: 'solver' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'achieved max latency / true optimum, decisions made on estimates',
    width: 460,
    height: 280,
    data: { values: data },
    layer: [
      {
        mark: { type: 'errorband', extent: 'iqr', opacity: 0.2 },
        encoding: { x, y: { field: 'ratio', type: 'quantitative', title: Y_TITLE }, color },
      },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: {
            aggregate: 'median',
            field: 'ratio',
            type: 'quantitative',
            title: Y_TITLE,
            scale: { zero: false },
          },
          color,
        },
      },
    ],
  };
}

export const robustnessExperiment: Experiment = {
  name: 'robustness',
  title: EXPERIMENT_TITLES.robustness,
  run,
};
