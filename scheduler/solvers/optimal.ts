import { bottleneckFill } from './bottleneck-fill.js';
import type { PreparedFleet } from './prepared.js';
import { type Solution, solutionForUnits } from './solution.js';

/** The exact optimum of docs/model.md's integer model, leftover units by lexicographic max-min. */
export function solveOptimal(fleet: PreparedFleet): Solution {
  return solutionForUnits(fleet, 'optimal', bottleneckFill(fleet));
}
