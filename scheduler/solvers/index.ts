import type { Instance } from '../instance-schema.js';
import { allocateEdge, allocateEven, allocateLocal } from './baselines.js';
import { bottleneckFill } from './bottleneck-fill.js';
import { roundIaoUnits, solveIaoContinuous } from './iao.js';
import { allocateOptimal } from './optimal.js';
import { type PreparedFleet, prepareFleet } from './prepared.js';
import {
  type Allocation,
  allocationForUnits,
  type Solution,
  type SolverName,
  solutionOf,
} from './solution.js';

export { allocateEdge, allocateEven, allocateLocal, evenSplit } from './baselines.js';
export { allocationTarget, leastNeedCut } from './continuous.js';
export { roundIaoUnits, solveIaoContinuous } from './iao.js';
export { allocateOptimal } from './optimal.js';
export {
  bestCutIndex,
  bestLatency,
  latencyAt,
  type PreparedFleet,
  prepareFleet,
  writePreparedUe,
} from './prepared.js';
export {
  type Allocation,
  type ContinuousSolution,
  SOLVER_NAMES,
  type Solution,
  type SolverName,
  type UeAllocation,
} from './solution.js';

/** IAO, rounded to integer units as `roundIaoUnits` states, leftover units to the bottleneck. */
export function allocateIao(fleet: PreparedFleet): Allocation {
  const continuous = solveIaoContinuous(fleet);
  const units = bottleneckFill(fleet, roundIaoUnits(fleet, continuous));
  return { ...allocationForUnits(fleet, 'iao', units), continuous };
}

const SOLVERS: Record<SolverName, (fleet: PreparedFleet) => Allocation> = {
  optimal: allocateOptimal,
  iao: allocateIao,
  local: allocateLocal,
  edge: allocateEdge,
  even: allocateEven,
};

/** The named solver's allocation of a prepared fleet, in columns (no object per UE). */
export function allocate(fleet: PreparedFleet, solver: SolverName = 'optimal'): Allocation {
  return SOLVERS[solver](fleet);
}

/** Solves a validated instance with the named solver. */
export function solve(
  instance: Instance | PreparedFleet,
  solver: SolverName = 'optimal',
): Solution {
  const fleet = 'ues' in instance ? prepareFleet(instance) : instance;
  return solutionOf(fleet, allocate(fleet, solver));
}
