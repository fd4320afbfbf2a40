/**
 * One solve of the fleet as it stands: the target decision of every scheduled UE (the solver's
 * for those it can place, local for those it cannot), with what the status reports of it.
 */
import { prepareFleet, type SolverName, solve } from '../solvers/index.js';
import { buildInstance, type ForcedLocal } from './fleet-instance.js';
import type { FleetState } from './fleet-state.js';
import type { IncrementalFleet } from './incremental-fleet.js';
import type { TargetDecision } from './planner.js';

export interface FleetTargets {
  readonly targets: TargetDecision[];
  readonly forcedLocal: readonly ForcedLocal[];
  /** R: units of the online edge workers. */
  readonly units: number;
  readonly solveMs: number;
  /** Highest predicted latency over the targets; null with no UE. */
  readonly maxPredictedMs: number | null;
}

/**
 * Solves `fleet`. With `kept`, the solver's input is the one it keeps up to date from change to
 * change (incremental-fleet.ts) rather than one built from the whole fleet.
 */
export function solveFleetTargets(
  fleet: FleetState,
  solver: SolverName,
  kept?: IncrementalFleet,
): FleetTargets {
  const started = performance.now();
  const built = kept?.current(fleet) ?? buildPrepared(fleet);
  const solution = solve(built.prepared, solver);
  const solveMs = performance.now() - started;
  // Every UE in a solve has a profile (fleet-state.ts, `schedulable`).
  const modelOf = (ue: string) => fleet.ues.get(ue)?.profile?.model ?? '';
  const targets: TargetDecision[] = solution.decisions.map((d) => ({
    ue: d.id,
    model: modelOf(d.id),
    cut: d.cut,
    cutName: d.cutName,
    units: d.units,
    predictedMs: d.latencyMs,
    solver,
  }));
  for (const local of built.forcedLocal)
    targets.push({ ...local, model: modelOf(local.ue), units: 0, solver: 'local' });
  let maxPredictedMs: number | null = null;
  for (const t of targets)
    if (maxPredictedMs === null || t.predictedMs > maxPredictedMs) maxPredictedMs = t.predictedMs;
  return {
    targets,
    forcedLocal: built.forcedLocal,
    units: built.instance.edge.units,
    solveMs,
    maxPredictedMs,
  };
}

function buildPrepared(fleet: FleetState) {
  const built = buildInstance(fleet);
  return { ...built, prepared: prepareFleet(built.instance) };
}
