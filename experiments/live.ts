import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { AgentStats } from '../agents/index.js';
import { CONTENDED_SCENARIO } from '../dnn/index.js';
import { ENV, envValue } from '../runtime/env.js';
import type { SolverName } from '../scheduler/solvers/index.js';
import { type PrivateRedis, runStack, startPrivateRedis } from '../system/index.js';
import type { Experiment, ExperimentContext, ExperimentResult } from './context.js';
import { writeCsv } from './csv.js';
import { EXPERIMENT_TITLES } from './names.js';
import { writePlot } from './plot.js';
import { mean } from './quantiles.js';
import { markdownTable, writeReport } from './report.js';

/** `local` is left out: Pi Zero-class devices take up to minutes per task on their own. */
export const LIVE_SOLVERS: readonly SolverName[] = ['optimal', 'iao', 'even', 'edge'];

export const COLUMNS = [
  'solver',
  'ues',
  'units',
  'durationS',
  'tasks',
  'failedTasks',
  'measuredMaxMs',
  'measuredMeanMs',
  'predictedMaxMs',
  'predictedMeanMs',
] as const;

interface Measured {
  readonly tasks: number;
  readonly failedTasks: number;
  readonly measuredMaxMs: number;
  readonly measuredMeanMs: number;
  readonly predictedMaxMs: number;
  readonly predictedMeanMs: number;
}

/**
 * Latencies of the tasks that finished after `fromMs` (the first part of a run, while UEs come
 * online and decisions settle, is left out): the max over UEs of each UE's mean, and the mean
 * over every task; the same for what the decisions predicted.
 */
export function measuredOf(
  agents: readonly { readonly stats: AgentStats }[],
  fromMs: number,
): Measured {
  const perUe: { measured: number; predicted: number }[] = [];
  const measured: number[] = [];
  const predicted: number[] = [];
  let failed = 0;
  for (const { stats } of agents) {
    const tasks = stats.latencies.filter((t) => t.at >= fromMs && t.epoch !== null);
    failed += tasks.filter((t) => !t.ok).length;
    const ok = tasks.filter((t) => t.ok);
    if (ok.length === 0) continue;
    perUe.push({
      measured: mean(ok.map((t) => t.measuredMs)),
      predicted: mean(ok.map((t) => t.predictedMs)),
    });
    measured.push(...ok.map((t) => t.measuredMs));
    predicted.push(...ok.map((t) => t.predictedMs));
  }
  return {
    tasks: measured.length,
    failedTasks: failed,
    measuredMaxMs: perUe.length === 0 ? Number.NaN : Math.max(...perUe.map((u) => u.measured)),
    measuredMeanMs: mean(measured),
    predictedMaxMs: perUe.length === 0 ? Number.NaN : Math.max(...perUe.map((u) => u.predicted)),
    predictedMeanMs: mean(predicted),
  };
}

async function run(context: ExperimentContext): Promise<ExperimentResult> {
  const started = new Date();
  const ues = context.quick ? 4 : 12;
  const durationS = context.quick ? 4 : 60;
  const workers = 2;
  // With one unit per UE every solver gives this fleet the same maximum (each UE takes one
  // unit); two units fewer than UEs make the allocation decide it (docs/experiments.md).
  const unitsPerWorker = context.quick ? Math.ceil(ues / workers) : (ues - 2) / workers;
  let privateRedis: PrivateRedis | undefined;
  let redisUrl = envValue(ENV.redisUrl);
  if (redisUrl === undefined) {
    privateRedis = await startPrivateRedis();
    redisUrl = privateRedis.url;
  }
  const rows: Record<string, string | number>[] = [];
  const warnings: string[] = [];
  try {
    for (const solver of LIVE_SOLVERS) {
      context.log(`live: ${solver}, ${ues} UEs, ${durationS} s`);
      const startedAt = Date.now();
      let result: Measured | undefined;
      await runStack({
        port: 0,
        host: '127.0.0.1',
        redisUrl,
        workers,
        unitsPerWorker,
        thinkTimeMs: 0,
        ues,
        seed: 1,
        scenario: CONTENDED_SCENARIO,
        solver,
        trace: { kind: 'constant' },
        durationS,
        summaryEveryS: durationS,
        stopGraceMs: 3000,
        onSummary: () => {},
        onWarning: (source, error) => {
          // The embedded broker runs without authentication on loopback, as `up` does.
          if (error.message.startsWith('AUTHENTICATION IS OFF')) return;
          if (warnings.length < 20) warnings.push(`${solver}: ${source}: ${error.message}`);
        },
        onFinished: (agents) => {
          result = measuredOf(agents, startedAt + (durationS * 1000) / 3);
        },
      });
      if (result === undefined) throw new Error(`live run with ${solver} reported no agents`);
      rows.push({ solver, ues, units: workers * unitsPerWorker, durationS, ...result });
    }
  } finally {
    await privateRedis?.stop();
  }
  const csv = join(context.outDir, 'live.csv');
  await writeCsv(csv, COLUMNS, rows);
  const files = [csv, ...(await writePlot(join(context.outDir, 'live'), spec(rows)))];
  const f = (v: string | number | undefined) =>
    typeof v === 'number' && Number.isFinite(v) ? v.toFixed(1) : '-';
  const table = markdownTable(
    [
      'solver',
      'tasks',
      'failed',
      'measured max',
      'measured mean',
      'predicted max',
      'predicted mean',
    ],
    rows.map((r) => [
      String(r.solver),
      String(r.tasks),
      String(r.failedTasks),
      f(r.measuredMaxMs),
      f(r.measuredMeanMs),
      f(r.predictedMaxMs),
      f(r.predictedMeanMs),
    ]),
  );
  files.push(
    await writeReport(join(context.outDir, 'report.md'), {
      title: 'Experiment: live',
      command: context.command,
      startedAt: started,
      durationS: (Date.now() - started.getTime()) / 1000,
      files,
      sections: [
        `One contended fleet (seed 1, ${ues} UEs) in the live system as \`edgesplit up ` +
          '--executor emulated` assembles it: embedded broker and ingress, scheduler, ' +
          `${workers} edge workers x ${unitsPerWorker} units, UEs sleeping their FLOP-based ` +
          `profile over emulated links. One run of ${durationS} s per solver (the scheduler's ` +
          '`--solver`), each on a fresh stack. Latencies in ms, of tasks finished after the ' +
          "first third of the run: `max` is the largest of the UEs' mean task latencies, `mean` " +
          'the mean over tasks; `predicted` is what the decisions promised (docs/model.md).',
        table,
        ...(warnings.length === 0
          ? []
          : ['Warnings during the runs:', warnings.map((w) => `- ${w}`).join('\n')]),
      ],
    }),
  );
  return { files };
}

function spec(rows: readonly Record<string, string | number>[]): TopLevelSpec {
  const data = rows.flatMap((r) => [
    { solver: r.solver, what: 'measured max', ms: r.measuredMaxMs },
    { solver: r.solver, what: 'predicted max', ms: r.predictedMaxMs },
    { solver: r.solver, what: 'measured mean', ms: r.measuredMeanMs },
    { solver: r.solver, what: 'predicted mean', ms: r.predictedMeanMs },
  ]);
  const order = ['measured max', 'predicted max', 'measured mean', 'predicted mean'];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'live system: latency per solver (contended fleet)',
    data: { values: data },
    width: 420,
    height: 260,
    mark: 'bar',
    encoding: {
      x: { field: 'solver', type: 'nominal', sort: [...LIVE_SOLVERS], title: 'solver' },
      xOffset: { field: 'what', type: 'nominal', sort: order },
      y: { field: 'ms', type: 'quantitative', title: 'latency (ms)' },
      color: { field: 'what', type: 'nominal', sort: order, title: null },
    },
  };
}

export const liveExperiment: Experiment = {
  name: 'live',
  title: EXPERIMENT_TITLES.live,
  run,
};
