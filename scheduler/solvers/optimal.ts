import { bottleneckFill } from './bottleneck-fill.js';
import type { PreparedFleet } from './prepared.js';
import { type Allocation, allocationForUnits } from './solution.js';

/** The exact optimum of docs/model.md's integer model, leftover units by lexicographic max-min. */
export function allocateOptimal(fleet: PreparedFleet): Allocation {
  return allocationForUnits(fleet, 'optimal', bottleneckFill(fleet));
}
