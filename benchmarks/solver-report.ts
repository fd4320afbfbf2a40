import { renderTable } from '../runtime/table.js';

/** One fleet size of `npm run bench:solver`; `null` where the MILP was not run. */
export interface BenchRow {
  readonly ues: number;
  readonly units: number;
  /** Cuts over all UEs (the size of the solvers' input). */
  readonly cuts: number;
  /** Median of prepareFleet alone (it is also inside `optimalMs` and `iaoMs`). */
  readonly prepareMs: number;
  readonly optimalMs: number;
  readonly optimalRuns: number;
  readonly iaoMs: number;
  readonly iaoRuns: number;
  readonly iaoIterations: number;
  readonly optimalMaxMs: number;
  readonly iaoMaxMs: number;
  /** IAO's maximum latency (after rounding to integer units) over the optimum. */
  readonly iaoOverOptimal: number;
  /** The same for the mean latency (the max-min leftover rule shows here). */
  readonly iaoMeanOverOptimal: number;
  /** The optimum equals one UE's best latency with all units it can use (a lower bound). */
  readonly pinned: boolean;
  /** UEs that run locally at the optimum. */
  readonly localUes: number;
  /** Median of building the LP text and HiGHS' solve. */
  readonly milpMs: number | null;
  readonly milpMaxMs: number | null;
  readonly milpStatus: string | null;
  readonly milpBinaries: number | null;
  readonly milpAgrees: boolean | null;
  readonly highsOverOptimal: number | null;
}

export interface TargetCheck {
  readonly target: string;
  /** `null` when the size it needs was not benchmarked. */
  readonly met: boolean | null;
  readonly actual: string;
}

/** Three significant digits without exponent notation, for times from µs to minutes. */
function ms(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

function milpCheck(row: BenchRow): string {
  if (row.milpAgrees === null) return '-';
  if (row.milpAgrees) return 'agrees';
  return `MISMATCH (${row.milpStatus ?? '?'})`;
}

export function printTable(
  rows: readonly BenchRow[],
  targets: readonly TargetCheck[],
  seed: number,
  scenario: string,
): void {
  const header = [
    'N',
    'R',
    'cuts',
    'prepare ms',
    'optimal ms',
    'iao ms',
    'iao iters',
    'max latency ms',
    'pinned',
    'local',
    'iao/opt max',
    'iao/opt mean',
    'HiGHS ms',
    'HiGHS/opt',
    'MILP check',
  ];
  const body = rows.map((r) => [
    String(r.ues),
    String(r.units),
    String(r.cuts),
    ms(r.prepareMs),
    `${ms(r.optimalMs)} (${r.optimalRuns}x)`,
    `${ms(r.iaoMs)} (${r.iaoRuns}x)`,
    String(r.iaoIterations),
    r.optimalMaxMs.toFixed(1),
    r.pinned ? 'yes' : 'no',
    String(r.localUes),
    r.iaoOverOptimal.toFixed(4),
    r.iaoMeanOverOptimal.toFixed(4),
    r.milpMs === null ? '-' : ms(r.milpMs),
    r.highsOverOptimal === null ? '-' : `${r.highsOverOptimal.toFixed(0)}x`,
    milpCheck(r),
  ]);
  const lines = [
    `Solver benchmark: scenario ${scenario}, seed ${seed}, R = ${rows[0] === undefined ? '?' : `${rows[0].units / rows[0].ues} x N`}; median wall-clock`,
    'time per solve (prepareFleet included; (kx) = measured runs after warm-up).',
    "pinned: the optimum is one UE's best latency with all the units it can use (a lower bound),",
    'so the maximum cannot tell allocations apart; local: UEs running locally at the optimum.',
    '',
    renderTable(header, body, 'first-left'),
    '',
    `Pinned fleets: ${rows.filter((r) => r.pinned).length} of ${rows.length}.`,
    '',
    'Targets:',
    ...targets.map((t) => {
      const mark = t.met === null ? 'n/a   ' : t.met ? 'met   ' : 'MISSED';
      return `  ${mark} ${t.target}: ${t.actual}`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
