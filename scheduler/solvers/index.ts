import type { Instance } from '../instance-schema.js';
import { solveEdge, solveEven, solveLocal } from './baselines.js';
import { bottleneckFill } from './bottleneck-fill.js';
import { roundIaoUnits, solveIaoContinuous } from './iao.js';
import { solveOptimal } from './optimal.js';
import { type PreparedFleet, prepareFleet } from './prepared.js';
import { type Solution, type SolverName, solutionForUnits } from './solution.js';

export { evenSplit, solveEdge, solveEven, solveLocal } from './baselines.js';
export { allocationTarget, leastNeedCut } from './continuous.js';
export { roundIaoUnits, solveIaoContinuous } from './iao.js';
export { solveOptimal } from './optimal.js';
export {
  bestCut,
  latencyAt,
  type PreparedFleet,
  prepareFleet,
  writePreparedUe,
} from './prepared.js';
export {
  type ContinuousSolution,
  SOLVER_NAMES,
  type Solution,
  type SolverName,
  type UeAllocation,
} from './solution.js';

/** IAO, rounded to integer units as `roundIaoUnits` states, leftover units to the bottleneck. */
export function solveIao(fleet: PreparedFleet): Solution {
  const continuous = solveIaoContinuous(fleet);
  const units = bottleneckFill(fleet, roundIaoUnits(fleet, continuous));
  return { ...solutionForUnits(fleet, 'iao', units), continuous };
}

const SOLVERS: Record<SolverName, (fleet: PreparedFleet) => Solution> = {
  optimal: solveOptimal,
  iao: solveIao,
  local: solveLocal,
  edge: solveEdge,
  even: solveEven,
};

/** Solves a validated instance with the named solver. */
export function solve(
  instance: Instance | PreparedFleet,
  solver: SolverName = 'optimal',
): Solution {
  const fleet = 'ues' in instance ? prepareFleet(instance) : instance;
  return SOLVERS[solver](fleet);
}
