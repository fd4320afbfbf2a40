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

export interface PlanInput {
  /** Decisions published so far (retained), by UE. */
  readonly previous: ReadonlyMap<string, Decision>;
  /** Global concurrency last set on each UE's queue; absent means unknown. */
  readonly applied: ReadonlyMap<string, number>;
  readonly targets: readonly TargetDecision[];
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
 * Whether `next` must be published over `before`: model, cut or units changed, or predictedMs
 * by more than 1%.
 */
export function decisionChanged(before: Decision | undefined, next: TargetDecision): boolean {
  if (before === undefined) return true;
  if (before.cut !== next.cut || before.units !== next.units || before.cutName !== next.cutName)
    return true;
  if (before.model !== next.model) return true;
  return (
    Math.abs(next.predictedMs - before.predictedMs) > PREDICTED_MS_TOLERANCE * before.predictedMs
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
  for (const target of targets) {
    const before = previous.get(target.ue);
    if (before !== undefined) kept++;
    if (decisionChanged(before, target)) {
      const { cut, cutName, units, predictedMs, solver, model } = target;
      const decision: Decision = { epoch, cut, cutName, units, predictedMs, solver, model };
      publish.push({ ue: target.ue, decision });
    }
    const from = applied.get(target.ue);
    const to = queueConcurrency(target.units);
    if (from !== undefined) known++;
    if (from === undefined || to > from) raise.push({ ue: target.ue, from, to });
    else if (to < from) lower.push({ ue: target.ue, from, to });
  }
  const clear: string[] = [];
  if (kept < previous.size || known < applied.size) {
    const targeted = new Set(targets.map((target) => target.ue));
    for (const ue of previous.keys()) if (!targeted.has(ue)) clear.push(ue);
    // A UE out of the solve holds no units; its queue keeps 1 so that in-flight jobs drain.
    for (const [ue, from] of applied)
      if (from !== 1 && !targeted.has(ue)) lower.push({ ue, from, to: 1 });
    for (const ue of clear) if (!applied.has(ue)) lower.push({ ue, from: undefined, to: 1 });
  }
  const changed = publish.length > 0 || clear.length > 0;
  return { epoch: changed ? epoch : input.epoch, publish, clear, raise, lower };
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
