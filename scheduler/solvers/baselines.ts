import type { PreparedFleet } from './prepared.js';
import { type Allocation, allocationForUnits, allocationFrom } from './solution.js';

/** Every UE runs its whole model on the device. */
export function allocateLocal(fleet: PreparedFleet): Allocation {
  return allocationFrom(fleet, 'local', fleet.last, new Int32Array(fleet.n));
}

/** Every UE offloads everything (cut 0) with an even split; a UE left without a unit runs locally. */
export function allocateEdge(fleet: PreparedFleet): Allocation {
  const units = evenSplit(fleet);
  const cuts = new Int32Array(fleet.n);
  for (let i = 0; i < fleet.n; i++) {
    const r = units[i];
    const L = fleet.last[i];
    if (r === undefined || L === undefined)
      throw new RangeError(`no units or last cut for UE ${i} of ${fleet.n}`);
    cuts[i] = r > 0 ? 0 : L;
  }
  return allocationFrom(fleet, 'edge', cuts, units);
}

/** Even split, then each UE picks its best cut for its share (no joint allocation). */
export function allocateEven(fleet: PreparedFleet): Allocation {
  return allocationForUnits(fleet, 'even', evenSplit(fleet));
}

/** floor(R/N) units each, the remainder one each to the first UEs in instance order. */
export function evenSplit(fleet: PreparedFleet): Int32Array {
  const units = new Int32Array(fleet.n);
  if (fleet.n === 0) return units;
  const share = Math.floor(fleet.units / fleet.n);
  const rest = fleet.units - share * fleet.n;
  for (let i = 0; i < fleet.n; i++) units[i] = share + (i < rest ? 1 : 0);
  return units;
}
