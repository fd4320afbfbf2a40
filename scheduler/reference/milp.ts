import highsPackage, { type Highs, type InitOptions } from 'highs';
import { defined } from '../../runtime/defined.js';
import type { Instance, UeSpec } from '../instance-schema.js';

/**
 * docs/model.md's integer model as a MILP, written by hand and solved by HiGHS: an independent check
 * of the `optimal` solver (no code shared with scheduler/solvers/). For UE i there is one binary per
 * option (p, r): every offload cut p < L with every useful unit count r <= R, plus the local
 * option (L, 0).
 *
 *   minimise t
 *   subject  Σ_options x_io = 1                 for each UE i   (one option each)
 *            Σ_i Σ_options r_o · x_io <= R                       (units)
 *            t - Σ_options T_i(o) · x_io >= 0   for each UE i   (t is the maximum)
 *
 * Useful unit counts are {ceil(B/k) : k = 1..B}: the latency only changes where ceil(B/r)
 * changes, and among the r of one plateau the least uses fewest units.
 */

/** HiGHS' answer: the exact latency of the assignment it chose, and what it cost. */
export interface MilpResult {
  /** Max latency of HiGHS' assignment, recomputed exactly from docs/model.md (NaN unless Optimal). */
  readonly maxLatencyMs: number;
  /** HiGHS' own objective value t (subject to its feasibility tolerances). */
  readonly objectiveMs: number;
  /** Building the LP text plus HiGHS' solve, wall clock. */
  readonly solveMs: number;
  /** HiGHS' model status, `Optimal` when solved. */
  readonly status: string;
  readonly binaries: number;
}

/** One candidate (cut, units) of one UE with its integer-model latency. */
interface MilpOption {
  readonly name: string;
  readonly cut: number;
  readonly units: number;
  readonly latencyMs: number;
}

/**
 * Tolerances tighter than HiGHS' defaults (mip_rel_gap 1e-4 would let HiGHS stop 0.01 % above
 * the optimum). What remains is HiGHS' floating-point tolerance, about 1e-9 relative.
 */
const HIGHS_OPTIONS = {
  output_flag: false,
  mip_rel_gap: 1e-10,
  mip_abs_gap: 1e-10,
  mip_feasibility_tolerance: 1e-9,
  primal_feasibility_tolerance: 1e-9,
} as const;

/** Terms per line of LP text (the format allows a row to continue on the next line). */
const TERMS_PER_LINE = 8;

/**
 * The package's types describe it as CommonJS (default import = `module.exports`, the loader on
 * `.default`), while Node and Vite load its ES build, whose default export is the loader itself.
 */
const highsLoader: (options?: InitOptions) => Promise<Highs> =
  typeof highsPackage === 'function' ? highsPackage : highsPackage.default;

let loaded: Promise<Highs> | undefined;

/** HiGHS' WebAssembly module takes a while to load: load it once per process. */
export function loadHighs(): Promise<Highs> {
  loaded ??= highsLoader();
  return loaded;
}

/** docs/model.md's T_i(p, r), written again from the formula (not shared with the solvers). */
export function modelLatency(ue: UeSpec, p: number, r: number): number {
  const L = ue.cuts.length - 1;
  const B = ue.batch;
  const cut = defined(ue.cuts[p], `cut ${p} of UE "${ue.id}"`);
  if (p === L) return B * cut.deviceMs;
  if (r < 1) return Number.POSITIVE_INFINITY;
  const head = B * cut.deviceMs;
  const upload = (B * cut.bytes * 8) / (ue.uplinkMbps * 1000);
  const tail = Math.ceil(B / r) * cut.edgeMs;
  const result =
    ue.downlinkMbps === undefined ? 0 : (ue.resultBytes * 8) / (ue.downlinkMbps * 1000);
  return head + upload + ue.rttMs + tail + result;
}

/** The unit counts at which ceil(B/r) changes, capped by R, ascending. */
export function usefulUnitCounts(batch: number, units: number): number[] {
  const counts = new Set<number>();
  for (let k = 1; k <= batch; k++) {
    const r = Math.ceil(batch / k);
    if (r <= units) counts.add(r);
  }
  return [...counts].sort((a, b) => a - b);
}

function optionsOf(ue: UeSpec, i: number, units: number): MilpOption[] {
  const L = ue.cuts.length - 1;
  const options: MilpOption[] = [
    { name: `x${i}_0`, cut: L, units: 0, latencyMs: modelLatency(ue, L, 0) },
  ];
  const counts = usefulUnitCounts(ue.batch, units);
  for (let p = 0; p < L; p++) {
    for (const r of counts) {
      const name = `x${i}_${options.length}`;
      options.push({ name, cut: p, units: r, latencyMs: modelLatency(ue, p, r) });
    }
  }
  return options;
}

/** `c` as LP text: shortest round-trip decimal, which HiGHS' reader parses back exactly. */
function coefficient(c: number): string {
  if (!Number.isFinite(c)) throw new RangeError(`non-finite coefficient ${c}`);
  return String(c);
}

/** One row `name: terms op rhs`, broken into lines of a few terms. */
function row(name: string, terms: readonly string[], op: string, rhs: string): string {
  const lines: string[] = [];
  for (let k = 0; k < terms.length; k += TERMS_PER_LINE) {
    lines.push(terms.slice(k, k + TERMS_PER_LINE).join(' '));
  }
  return ` ${name}: ${lines.join('\n   ')} ${op} ${rhs}`;
}

/** The CPLEX LP text of the model above. */
export function milpText(instance: Instance, options: readonly (readonly MilpOption[])[]): string {
  const rows: string[] = [];
  const unitTerms: string[] = [];
  const binaries: string[] = [];
  options.forEach((list, i) => {
    const pick = list.map((o, k) => `${k === 0 ? '' : '+ '}${o.name}`);
    rows.push(row(`one${i}`, pick, '=', '1'));
    const latency = ['t'];
    for (const o of list) {
      if (o.latencyMs !== 0) latency.push(`- ${coefficient(o.latencyMs)} ${o.name}`);
      if (o.units > 0) unitTerms.push(`${unitTerms.length === 0 ? '' : '+ '}${o.units} ${o.name}`);
      binaries.push(o.name);
    }
    rows.push(row(`max${i}`, latency, '>=', '0'));
  });
  if (unitTerms.length > 0) rows.push(row('units', unitTerms, '<=', String(instance.edge.units)));
  const binaryLines: string[] = [];
  for (let k = 0; k < binaries.length; k += TERMS_PER_LINE) {
    binaryLines.push(` ${binaries.slice(k, k + TERMS_PER_LINE).join(' ')}`);
  }
  return [
    'Minimize',
    ' obj: t',
    'Subject To',
    ...rows,
    'Bounds',
    ' t >= 0',
    'Binaries',
    ...binaryLines,
    'End',
    '',
  ].join('\n');
}

/**
 * Solves the instance's integer model with HiGHS. The returned maximum is recomputed from the
 * options HiGHS picked (after checking they form a feasible assignment), so it is the exact
 * latency of a feasible allocation: never below the true optimum, and above it by no more than
 * HiGHS' gap and feasibility tolerances. With `timeLimitS`, HiGHS stops there (status
 * `Time limit reached`, maximum NaN).
 */
export async function solveMilp(instance: Instance, timeLimitS?: number): Promise<MilpResult> {
  const highs = await loadHighs();
  const start = performance.now();
  if (instance.ues.length === 0) {
    return { maxLatencyMs: 0, objectiveMs: 0, solveMs: 0, status: 'Optimal', binaries: 0 };
  }
  const options = instance.ues.map((ue, i) => optionsOf(ue, i, instance.edge.units));
  const result = highs.solve(
    milpText(instance, options),
    timeLimitS === undefined ? HIGHS_OPTIONS : { ...HIGHS_OPTIONS, time_limit: timeLimitS },
  );
  const solveMs = performance.now() - start;
  const binaries = options.reduce((s, list) => s + list.length, 0);
  if (result.Status !== 'Optimal') {
    return {
      maxLatencyMs: Number.NaN,
      objectiveMs: Number.NaN,
      solveMs,
      status: result.Status,
      binaries,
    };
  }
  let max = 0;
  let used = 0;
  options.forEach((list, i) => {
    const chosen = list.filter((o) => (result.Columns[o.name]?.Primal ?? 0) > 0.5);
    const [o] = chosen;
    if (o === undefined || chosen.length !== 1)
      throw new Error(`HiGHS picked ${chosen.length} options for UE ${i}`);
    max = Math.max(max, o.latencyMs);
    used += o.units;
  });
  if (used > instance.edge.units) {
    throw new Error(`HiGHS' assignment uses ${used} units of ${instance.edge.units}`);
  }
  return {
    maxLatencyMs: max,
    objectiveMs: result.ObjectiveValue,
    solveMs,
    status: result.Status,
    binaries,
  };
}
