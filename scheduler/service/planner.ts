import type { Decision } from '../../proto/index.js';

/** What one solve wants for one UE (the solver's choice, or a forced-local decision). */
export interface TargetDecision {
  readonly ue: string;
  /** The UE's model (its profile's). */
  readonly model: string;
  readonly cut: number;
  readonly cutName: string;
  readonly units: number;
  readonly predictedMs: number;
  readonly solver: string;
}

/** One `setGlobalConcurrency` call: `from` is undefined when the queue's value is unknown. */
export interface ConcurrencyChange {
  readonly ue: string;
  readonly from: number | undefined;
  readonly to: number;
}

/** A decision to publish to one UE. */
export interface DecisionUpdate {
  readonly ue: string;
  readonly decision: Decision;
}

export interface DecisionPlan {
  /** The epoch after this plan: one above the previous one exactly when anything changed. */
  readonly epoch: number;
  /** Decisions to publish (retained), each carrying `epoch`. */
  readonly publish: readonly DecisionUpdate[];
  /** UEs whose retained decision is cleared: they left the solve (offline). */
  readonly clear: readonly string[];
  /** Concurrency changes to make before publishing: raises, and queues of unknown value. */
  readonly raise: readonly ConcurrencyChange[];
  /** Concurrency changes to make after publishing: lowers (a UE leaving drains at 1). */
  readonly lower: readonly ConcurrencyChange[];
}

/**
 * What one solve wants, a row per UE (row i: `ues[i]`, `cuts[i]`, ...), in columns: a solve of
 * 10,000 UEs makes no object for a UE whose decision stays as it was.
 */
export interface TargetTable {
  readonly length: number;
  readonly ues: readonly string[];
  readonly models: readonly string[];
  readonly cuts: ArrayLike<number>;
  readonly cutNames: readonly string[];
  readonly units: ArrayLike<number>;
  readonly predictedMs: ArrayLike<number>;
  readonly solvers: readonly string[];
}

/** The table of the given rows. */
export function targetTable(rows: readonly TargetDecision[]): TargetTable {
  return {
    length: rows.length,
    ues: rows.map((row) => row.ue),
    models: rows.map((row) => row.model),
    cuts: rows.map((row) => row.cut),
    cutNames: rows.map((row) => row.cutName),
    units: rows.map((row) => row.units),
    predictedMs: rows.map((row) => row.predictedMs),
    solvers: rows.map((row) => row.solver),
  };
}

export interface PlanInput {
  /** Decisions published so far (retained), by UE. */
  readonly previous: ReadonlyMap<string, Decision>;
  /** Global concurrency last set on each UE's queue; absent means unknown. */
  readonly applied: ReadonlyMap<string, number>;
  readonly targets: TargetTable;
  readonly epoch: number;
}

/** A `predictedMs` moving by at most this fraction alone does not republish a decision. */
export const PREDICTED_MS_TOLERANCE = 0.01;

/**
 * A UE queue's global concurrency for `units`: a UE with 0 units keeps 1, only so that
 * requests already in flight can drain (docs/live-system.md).
 */
export function queueConcurrency(units: number): number {
  return Math.max(1, units);
}

/**
 * Whether row i of `targets` must be published over `before`: model, cut or units changed, or
 * predictedMs by more than 1%.
 */
export function decisionChanged(
  before: Decision | undefined,
  targets: TargetTable,
  i: number,
): boolean {
  if (before === undefined) return true;
  if (
    before.cut !== targets.cuts[i] ||
    before.units !== targets.units[i] ||
    before.cutName !== targets.cutNames[i] ||
    before.model !== targets.models[i]
  )
    return true;
  const predictedMs = targets.predictedMs[i] ?? Number.NaN;
  return !(
    Math.abs(predictedMs - before.predictedMs) <=
    PREDICTED_MS_TOLERANCE * before.predictedMs
  );
}

/**
 * Pure: which decisions to publish or clear under which epoch, and which queue concurrencies
 * to set before and after publishing. O(N) in the UEs known, and lean per UE: two map reads
 * per target, and no copy of `previous` (copying a map of 10,000 decisions takes longer than
 * the rest of the plan), which `applyPlan` then brings up to date in place.
 */
export function planDecisions(input: PlanInput): DecisionPlan {
  const { previous, applied, targets } = input;
  const epoch = input.epoch + 1;
  const publish: DecisionUpdate[] = [];
  const raise: ConcurrencyChange[] = [];
  const lower: ConcurrencyChange[] = [];
  // Targets that had a decision, and queues whose value is known: when every one of `previous`
  // and `applied` is targeted, no UE left the solve and the sweeps below are skipped.
  let kept = 0;
  let known = 0;
  for (let i = 0; i < targets.length; i++) {
    const ue = row(targets.ues, i);
    const before = previous.get(ue);
    if (before !== undefined) kept++;
    const units = row(targets.units, i);
    if (decisionChanged(before, targets, i)) {
      const decision: Decision = {
        epoch,
        cut: row(targets.cuts, i),
        cutName: row(targets.cutNames, i),
        units,
        predictedMs: row(targets.predictedMs, i),
        solver: row(targets.solvers, i),
        model: row(targets.models, i),
      };
      publish.push({ ue, decision });
    }
    const from = applied.get(ue);
    const to = queueConcurrency(units);
    if (from !== undefined) known++;
    if (from === undefined || to > from) raise.push({ ue, from, to });
    else if (to < from) lower.push({ ue, from, to });
  }
  const clear: string[] = [];
  if (kept < previous.size || known < applied.size) {
    const targeted = new Set(targets.ues.slice(0, targets.length));
    for (const ue of previous.keys()) if (!targeted.has(ue)) clear.push(ue);
    // A UE out of the solve holds no units; its queue keeps 1 so that in-flight jobs drain.
    for (const [ue, from] of applied)
      if (from !== 1 && !targeted.has(ue)) lower.push({ ue, from, to: 1 });
    for (const ue of clear) if (!applied.has(ue)) lower.push({ ue, from: undefined, to: 1 });
  }
  const changed = publish.length > 0 || clear.length > 0;
  return { epoch: changed ? epoch : input.epoch, publish, clear, raise, lower };
}

/** Row i of a column of the table (i < its length). */
function row<T>(column: ArrayLike<T>, i: number): T {
  const value = column[i];
  if (value === undefined) throw new RangeError(`the target table has no row ${i}`);
  return value;
}

/** Brings `decisions` (the `previous` of `plan`) to every UE's decision once `plan` is carried out. */
export function applyPlan(decisions: Map<string, Decision>, plan: DecisionPlan): void {
  for (const { ue, decision } of plan.publish) decisions.set(ue, decision);
  for (const ue of plan.clear) decisions.delete(ue);
}

/** Every UE's decision once `plan` is carried out, in a new map; `previous` is left as it was. */
export function decisionsAfter(
  previous: ReadonlyMap<string, Decision>,
  plan: DecisionPlan,
): Map<string, Decision> {
  const decisions = new Map(previous);
  applyPlan(decisions, plan);
  return decisions;
}
