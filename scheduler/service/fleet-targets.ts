/**
 * One solve of the fleet as it stands: the target decision of every scheduled UE (the solver's
 * for those it can place, local for those it cannot), with what the status reports of it.
 */
import { allocate, latencyAt, prepareFleet, type SolverName } from '../solvers/index.js';
import { buildInstance, type ForcedLocal } from './fleet-instance.js';
import type { FleetState } from './fleet-state.js';
import { type IncrementalFleet, modelOf } from './incremental-fleet.js';
import type { TargetTable } from './planner.js';

export interface FleetTargets {
  /** The solver's UEs first (in the instance's order), then the forced-local ones. */
  readonly targets: TargetTable;
  readonly forcedLocal: readonly ForcedLocal[];
  /** R: units of the online edge workers. */
  readonly units: number;
  readonly solveMs: number;
  /** Highest predicted latency over the targets; null with no UE. */
  readonly maxPredictedMs: number | null;
}

/**
 * Solves `fleet`. With `kept`, the solver's input is the one it keeps up to date from change to
 * change (incremental-fleet.ts) rather than one built from the whole fleet. The targets are
 * columns filled from the solver's columns: nothing is made per UE.
 */
export function solveFleetTargets(
  fleet: FleetState,
  solver: SolverName,
  kept?: IncrementalFleet,
): FleetTargets {
  const started = performance.now();
  const { prepared, forcedLocal, models, instance } = kept?.current(fleet) ?? buildPrepared(fleet);
  const { cuts, units } = allocate(prepared, solver);
  const solveMs = performance.now() - started;
  const n = prepared.n;
  const length = n + forcedLocal.length;
  const table = {
    length,
    ues: new Array<string>(length),
    models: new Array<string>(length),
    cuts: new Int32Array(length),
    cutNames: new Array<string>(length),
    units: new Int32Array(length),
    predictedMs: new Float64Array(length),
    solvers: new Array<string>(length),
  };
  let maxPredictedMs: number | null = null;
  for (let i = 0; i < n; i++) {
    // biome-ignore-start lint/style/noNonNullAssertion: every solve, every UE; i < n indexes the prepared fleet, the allocation and the models alike, and cut <= L its cut names
    const cut = cuts[i]!;
    const r = units[i]!;
    const ms = latencyAt(prepared, i, cut, r);
    table.ues[i] = prepared.ids[i]!;
    table.models[i] = models[i]!;
    table.cutNames[i] = prepared.cutNames[i]![cut]!;
    // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
    table.cuts[i] = cut;
    table.units[i] = r;
    table.predictedMs[i] = ms;
    table.solvers[i] = solver;
    if (maxPredictedMs === null || ms > maxPredictedMs) maxPredictedMs = ms;
  }
  forcedLocal.forEach((local, k) => {
    const i = n + k;
    table.ues[i] = local.ue;
    table.models[i] = modelOf(fleet.ues.get(local.ue));
    table.cuts[i] = local.cut;
    table.cutNames[i] = local.cutName;
    table.predictedMs[i] = local.predictedMs;
    table.solvers[i] = 'local';
    if (maxPredictedMs === null || local.predictedMs > maxPredictedMs)
      maxPredictedMs = local.predictedMs;
  });
  return {
    targets: table,
    forcedLocal,
    units: instance.edge.units,
    solveMs,
    maxPredictedMs,
  };
}

function buildPrepared(fleet: FleetState) {
  const built = buildInstance(fleet);
  const models = built.instance.ues.map((ue) => modelOf(fleet.ues.get(ue.id)));
  return { ...built, prepared: prepareFleet(built.instance), models };
}
