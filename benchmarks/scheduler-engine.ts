/**
 * `npx tsx benchmarks/scheduler-engine.ts [--ues 10000] [--changes 100] [--solver optimal]
 *   [--seed 3] [--json] [--save]`
 *
 * The scheduler's own share of a reaction, without MQTT: a `SchedulerEngine` in this process
 * takes a fleet of the `contended` scenario (R = N / 2 from one edge worker), solves it once, and
 * then takes `--changes` link changes one at a time, each waiting for its solve to end. Each
 * solve reports `solveMs` (the solver's input brought up to date, and the solve) and `reactionMs`
 * (the change taken in to the first decision handed to the sink: coalescing window, solve,
 * plan); the sink and the queue concurrencies do nothing. `bench:reaction` measures the whole
 * reaction over a broker; this tells the scheduler's part of it apart.
 */
import { parseArgs } from 'node:util';
import { parseInteger, parsePositiveInteger } from '../cli/options.js';
import { CONTENDED_SCENARIO, edgeProfile, REAL_MODELS } from '../dnn/index.js';
import type { EdgeStatus } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { defined } from '../runtime/defined.js';
import { renderTable } from '../runtime/table.js';
import { SchedulerEngine } from '../scheduler/service/index.js';
import { SOLVER_NAMES, type SolverName } from '../scheduler/solvers/index.js';
import { quantile } from '../stats/quantile.js';
import { BenchRun } from './results.js';
import { fleetOf } from './system-reaction.js';

/** Uplink divided or multiplied by this at each change: far past the 10% hysteresis. */
const LINK_FACTOR = 25;
const AT = 1_700_000_000_000;

const { values } = parseArgs({
  options: {
    ues: { type: 'string', default: '10000' },
    changes: { type: 'string', default: '100' },
    solver: { type: 'string', default: 'optimal' },
    seed: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
  },
});
const run = new BenchRun('engine');
/** A value of a command-line option, or exit 2 saying which option and why. */
function option<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    process.stderr.write(`--${name}: ${asError(error).message}\n`);
    process.exit(2);
  }
}
const ues = option('ues', () => parsePositiveInteger(values.ues));
const changes = option('changes', () => parsePositiveInteger(values.changes));
const seed = option('seed', () => parseInteger(values.seed));
const solver = option('solver', () => {
  const name = values.solver as SolverName;
  if (!SOLVER_NAMES.includes(name)) throw new Error(`one of ${SOLVER_NAMES.join(', ')}`);
  return name;
});
const units = Math.max(1, Math.floor(ues / 2));

const fleet = fleetOf(ues, seed, CONTENDED_SCENARIO, units);
let published = 0;
const engine = new SchedulerEngine({
  id: 'bench-engine',
  solver,
  coalesceMs: 0,
  hysteresis: 0.1,
  retryMs: 1000,
  sink: {
    publishDecision: () => {
      published++;
    },
    clearDecision: () => {},
    publishStatus: () => {},
    publishError: () => {},
  },
  concurrency: { setConcurrency: async () => {}, close: async () => {} },
});
const solves: { solveMs: number; reactionMs: number }[] = [];
engine.on('solved', ({ solveMs, reactionMs }) => solves.push({ solveMs, reactionMs }));
engine.on('error', (error) => {
  throw error;
});

const links = fleet.ues.map(({ id, profile, link }) => {
  engine.apply({
    type: 'ueStatus',
    ue: id,
    status: { state: 'online', agentVersion: 'bench', at: AT },
  });
  engine.apply({ type: 'profile', ue: id, profile });
  engine.apply({ type: 'link', ue: id, link });
  return { ue: id, link, toggled: false };
});
const edge: EdgeStatus = {
  state: 'online',
  units,
  models: REAL_MODELS.map((model) => ({ model, edgeMs: edgeProfile(model) })),
  at: AT,
};
engine.apply({ type: 'edgeStatus', worker: 'bench-edge', status: edge });
engine.start();
await engine.idle();
const first = defined(solves[0], 'the first solve');
solves.length = 0;
const before = published;
for (let k = 0; k < changes; k++) {
  // Spread over the fleet; each UE toggles between its own link and one 25 times slower.
  const entry = defined(links[(k * 7919) % links.length], 'a UE of the fleet');
  entry.toggled = !entry.toggled;
  const uplinkMbps = entry.link.uplinkMbps / (entry.toggled ? LINK_FACTOR : 1);
  const link = { ...entry.link, uplinkMbps, measuredAt: AT + k + 1 };
  engine.apply({ type: 'link', ue: entry.ue, link });
  await engine.idle();
}
await engine.close();

const percentiles = (values: number[]) => ({
  p50: quantile(values, 0.5) ?? Number.NaN,
  p99: quantile(values, 0.99) ?? Number.NaN,
});
const summary = {
  ues,
  units,
  solver,
  firstSolveMs: first.solveMs,
  solves: solves.length,
  published: published - before,
  solveMs: percentiles(solves.map((s) => s.solveMs)),
  reactionMs: percentiles(solves.map((s) => s.reactionMs)),
};
if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
else {
  const ms = (value: number) => value.toFixed(2);
  process.stdout.write(
    `N = ${ues}, R = ${units}, ${solver}: first solve ${ms(first.solveMs)} ms; ` +
      `${solves.length} solves after single link changes, ${summary.published} decisions published\n`,
  );
  process.stdout.write(
    `${renderTable(
      ['', 'p50 ms', 'p99 ms'],
      [
        ['solve (input and solver)', ms(summary.solveMs.p50), ms(summary.solveMs.p99)],
        ['change to first publish', ms(summary.reactionMs.p50), ms(summary.reactionMs.p99)],
      ],
    )}\n`,
  );
}
if (values.save) process.stderr.write(`saved ${run.save(summary)}\n`);
