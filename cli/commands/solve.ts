import { performance } from 'node:perf_hooks';
import { type Command, Option } from 'commander';
import {
  prepareFleet,
  SOLVER_NAMES,
  type Solution,
  type SolverName,
  solve,
} from '../../scheduler/solvers/index.js';
import { readInstance } from '../read-instance.js';
import { formatMs, renderTable } from '../table.js';

interface SolveOptions {
  solver: SolverName | 'all';
  json: boolean;
}

/** `edgesplit solve FILE`: solves an instance file and prints decisions or a comparison. */
export function registerSolveCommand(program: Command): void {
  program
    .command('solve')
    .description(
      'solve an instance file (MODEL.md format): where each UE cuts, how many units it gets',
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
      if (options.json) {
        const out = options.solver === 'all' ? results.map(toJson) : toJson(results[0]!);
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else if (options.solver === 'all') {
        process.stdout.write(`${comparisonTable(results)}\n`);
      } else {
        process.stdout.write(`${decisionTable(results[0]!)}\n`);
      }
    });
}

type Timed = Solution & { solveMs: number };

function timedSolve(fleet: ReturnType<typeof prepareFleet>, name: SolverName): Timed {
  const started = performance.now();
  const solution = solve(fleet, name);
  return { ...solution, solveMs: performance.now() - started };
}

function toJson(s: Timed): Record<string, unknown> {
  const out: Record<string, unknown> = {
    solver: s.solver,
    maxLatencyMs: s.maxLatencyMs,
    meanLatencyMs: s.meanLatencyMs,
    unitsUsed: s.unitsUsed,
    solveMs: s.solveMs,
  };
  if (s.continuous) {
    out.continuousMaxLatencyMs = s.continuous.maxLatencyMs;
    out.iterations = s.continuous.iterations;
  }
  out.decisions = s.decisions.map(({ id, cut, cutName, units, latencyMs }) => ({
    id,
    cut,
    cutName,
    units,
    latencyMs,
  }));
  return out;
}

function decisionTable(s: Timed): string {
  const rows = s.decisions.map((d) => [
    d.id,
    `${d.cutName} (${d.cut})`,
    String(d.units),
    formatMs(d.latencyMs),
    d.latencyMs === s.maxLatencyMs ? '<- bottleneck' : '',
  ]);
  const summary = [
    `solver ${s.solver}: max ${formatMs(s.maxLatencyMs)} ms, mean ${formatMs(s.meanLatencyMs)} ms, ` +
      `${s.unitsUsed} units used, solved in ${s.solveMs.toFixed(3)} ms`,
  ];
  if (s.continuous) {
    summary.push(
      `continuous (IAO) max ${formatMs(s.continuous.maxLatencyMs)} ms after ${s.continuous.iterations} iterations`,
    );
  }
  return `${renderTable(['UE', 'cut', 'units', 'latency ms', ''], rows)}\n\n${summary.join('\n')}`;
}

function comparisonTable(results: readonly Timed[]): string {
  const rows = results.map((s) => [
    s.solver,
    formatMs(s.maxLatencyMs),
    formatMs(s.meanLatencyMs),
    String(s.unitsUsed),
    s.solveMs.toFixed(3),
  ]);
  return renderTable(
    ['solver', 'max latency ms', 'mean latency ms', 'units used', 'solve ms'],
    rows,
  );
}
