import { performance } from 'node:perf_hooks';
import { type Command, Option } from 'commander';
import { defined } from '../../runtime/defined.js';
import { formatMs, renderTable } from '../../runtime/table.js';
import { type Contention, contentionOf, localCount } from '../../scheduler/contention.js';
import {
  prepareFleet,
  SOLVER_NAMES,
  type Solution,
  type SolverName,
  solve,
} from '../../scheduler/solvers/index.js';
import { contentionText } from '../contention-text.js';
import { readInstance } from '../read-instance.js';

interface SolveOptions {
  solver: SolverName | 'all';
  json: boolean;
}

/** `edgesplit solve FILE`: solves an instance file and prints decisions or a comparison. */
export function registerSolveCommand(program: Command): void {
  program
    .command('solve')
    .description(
      'solve an instance file (docs/model.md format): where each UE cuts, how many units it gets',
    )
    .argument('<file>', 'instance JSON file')
    .addOption(
      new Option('--solver <name>', 'solver to run')
        .choices([...SOLVER_NAMES, 'all'])
        .default('optimal'),
    )
    .option('--json', 'print JSON instead of a table', false)
    .action(async (file: string, options: SolveOptions) => {
      const instance = await readInstance(file);
      if (!instance.ok) {
        process.stderr.write(`${instance.lines.join('\n')}\n`);
        process.exitCode = 2;
        return;
      }
      const fleet = prepareFleet(instance.value);
      const names = options.solver === 'all' ? SOLVER_NAMES : [options.solver];
      const results = names.map((name) => timedSolve(fleet, name));
      const optimal = results.find((r) => r.solver === 'optimal') ?? solve(fleet, 'optimal');
      const contention = contentionOf(fleet, optimal);
      if (options.json) {
        const json = (s: Timed) => toJson(s, contention);
        const out =
          options.solver === 'all'
            ? results.map(json)
            : json(defined(results[0], `the solution of solver "${options.solver}"`));
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else if (options.solver === 'all') {
        process.stdout.write(
          `${comparisonTable(results)}\n\nfleet ${contentionText(contention)}\n`,
        );
      } else {
        const solution = defined(results[0], `the solution of solver "${options.solver}"`);
        process.stdout.write(`${decisionTable(solution, contention)}\n`);
      }
    });
}

type Timed = Solution & { solveMs: number };

function timedSolve(fleet: ReturnType<typeof prepareFleet>, name: SolverName): Timed {
  const started = performance.now();
  const solution = solve(fleet, name);
  return { ...solution, solveMs: performance.now() - started };
}

function toJson(s: Timed, c: Contention): Record<string, unknown> {
  const out: Record<string, unknown> = {
    solver: s.solver,
    maxLatencyMs: s.maxLatencyMs,
    meanLatencyMs: s.meanLatencyMs,
    unitsUsed: s.unitsUsed,
    localUes: localCount(s),
    solveMs: s.solveMs,
  };
  if (s.continuous) {
    out.continuousMaxLatencyMs = s.continuous.maxLatencyMs;
    out.iterations = s.continuous.iterations;
  }
  out.fleet = {
    pinned: c.pinned,
    unlimitedMaxLatencyMs: c.unlimitedMaxLatencyMs,
    limitingUe: c.limitingUe,
    optimalMaxLatencyMs: c.optimalMaxLatencyMs,
    localUesAtOptimum: c.localUes,
  };
  out.decisions = s.decisions.map(({ id, cut, cutName, units, latencyMs }) => ({
    id,
    cut,
    cutName,
    units,
    latencyMs,
  }));
  return out;
}

function decisionTable(s: Timed, c: Contention): string {
  const rows = s.decisions.map((d) => [
    d.id,
    `${d.cutName} (${d.cut})`,
    String(d.units),
    formatMs(d.latencyMs),
    d.latencyMs === s.maxLatencyMs ? '<- bottleneck' : '',
  ]);
  const summary = [
    `solver ${s.solver}: max ${formatMs(s.maxLatencyMs)} ms, mean ${formatMs(s.meanLatencyMs)} ms, ` +
      `${s.unitsUsed} units used, ${localCount(s)} UEs local, solved in ${s.solveMs.toFixed(3)} ms`,
  ];
  if (s.continuous) {
    summary.push(
      `continuous (IAO) max ${formatMs(s.continuous.maxLatencyMs)} ms after ${s.continuous.iterations} iterations`,
    );
  }
  summary.push(`fleet ${contentionText(c)}`);
  return `${renderTable(['UE', 'cut', 'units', 'latency ms', ''], rows)}\n\n${summary.join('\n')}`;
}

function comparisonTable(results: readonly Timed[]): string {
  const rows = results.map((s) => [
    s.solver,
    formatMs(s.maxLatencyMs),
    formatMs(s.meanLatencyMs),
    String(s.unitsUsed),
    String(localCount(s)),
    s.solveMs.toFixed(3),
  ]);
  return renderTable(
    ['solver', 'max latency ms', 'mean latency ms', 'units used', 'local UEs', 'solve ms'],
    rows,
  );
}
