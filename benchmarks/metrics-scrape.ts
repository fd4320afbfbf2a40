/**
 * `tsx benchmarks/metrics-scrape.ts [--ues 10000] [--runs 40]`: how long one scrape holds the
 * event loop. One process's registry with Node.js's metrics and the scheduler's, following a
 * stand-in scheduler of `--ues` decisions (a tenth replaced before each scrape, so that the
 * per-UE series are chosen again). Alternating, it renders with prom-client's
 * `registry.metrics()` (every metric at once) and with `ProcessMetrics.render()` (one metric per
 * turn of the event loop), and prints, for each, the longest the loop was held (the most CPU
 * time between two links of a setImmediate chain run beside the rendering: on a loaded machine
 * wall time would count the time the process waited for a core) and the rendering's CPU time:
 * medians and p99 over the runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ProcessMetrics, RENDER_REUSE_MS, schedulerMetrics } from '../metrics/index.js';
import type { Decision } from '../proto/index.js';
import type { Scheduler, SolveReport } from '../scheduler/index.js';
import { quantile } from '../stats/quantile.js';

const { values } = parseArgs({
  options: { ues: { type: 'string', default: '10000' }, runs: { type: 'string', default: '40' } },
});
const ues = Number(values.ues);
const runs = Number(values.runs);

const decisions = new Map<string, Decision>();
const decide = (): Decision => ({
  epoch: 1,
  cut: 3,
  cutName: 'conv2',
  units: 1,
  predictedMs: Math.random() * 1000,
  solver: 'optimal',
});
for (let k = 0; k < ues; k++) decisions.set(`ue-${k}`, decide());
let solved: ((report: SolveReport) => void) | undefined;
// Only what SchedulerMetrics reads of a scheduler.
const scheduler = {
  on: (event: string, listener: (report: SolveReport) => void) => {
    if (event === 'solved') solved = listener;
    return () => {};
  },
  stats: () => ({ epoch: 1 }),
  state: () => ({ decisions }),
} as unknown as Scheduler;

const metrics = new ProcessMetrics();
schedulerMetrics(metrics).follow(scheduler);

function solve(): void {
  for (let k = 0; k < ues / 10; k++) {
    const ue = `ue-${Math.floor(Math.random() * ues)}`;
    decisions.set(ue, decide());
  }
  solved?.({
    epoch: 1,
    ues,
    units: 8,
    solveMs: 1,
    reactionMs: 1,
    maxPredictedMs: 1000,
    published: [],
  } as unknown as SolveReport);
}

/** CPU time of this process so far, in ms (a time the machine's other work does not stretch). */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * Runs `render` beside a setImmediate chain: the most CPU time spent between two links (the
 * longest the loop was held, whatever else the machine runs) and the rendering's CPU time.
 */
async function measure(render: () => Promise<unknown>): Promise<{ heldMs: number; cpuMs: number }> {
  let last = cpuMs();
  let held = 0;
  let running = true;
  const chain = new Promise<void>((resolve) => {
    const link = () => {
      const now = cpuMs();
      held = Math.max(held, now - last);
      last = now;
      if (running) setImmediate(link);
      else resolve();
    };
    setImmediate(link);
  });
  const started = cpuMs();
  await render();
  const spent = cpuMs() - started;
  running = false;
  await chain;
  return { heldMs: held, cpuMs: spent };
}

const modes = {
  'registry.metrics() (all at once)': () => metrics.registry.metrics(),
  'render() (one metric per turn)': () => metrics.render(),
} as const;
const results = new Map<string, { heldMs: number; cpuMs: number }[]>();
for (let run = -3; run < runs; run++)
  for (const [name, render] of Object.entries(modes)) {
    solve();
    // Past the reuse window: every render() renders.
    await sleep(RENDER_REUSE_MS + 10);
    const result = await measure(render);
    if (run >= 0) results.set(name, [...(results.get(name) ?? []), result]);
  }
const fmt = (value: number | null) => (value ?? Number.NaN).toFixed(2);
process.stdout.write(
  `${ues} UEs' decisions (per-UE cap ${metrics.ueCap}), ${runs} scrapes each, alternating:\n`,
);
for (const [name, list] of results) {
  const held = list.map((r) => r.heldMs);
  const cpu = list.map((r) => r.cpuMs);
  process.stdout.write(
    `  ${name}: loop held p50 ${fmt(quantile(held, 0.5))} ms, p99 ${fmt(quantile(held, 0.99))} ms; ` +
      `rendering's CPU p50 ${fmt(quantile(cpu, 0.5))} ms\n`,
  );
}
