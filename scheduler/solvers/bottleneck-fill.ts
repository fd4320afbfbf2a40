import { MaxHeap } from './max-heap.js';
import { nextDrop } from './next-drop.js';
import { bestLatency, type PreparedFleet } from './prepared.js';

/**
 * Hands out units, starting from `start` (units per UE), always to the UE with the highest
 * latency, jumping it to the next unit count that lowers its latency; a UE whose next drop no
 * longer fits in the units left is final. Starting from zero units this is the exact optimum
 * of the integer min-max model, and it leaves units idle only where no UE can use them: the
 * bottleneck is improved first, then the next highest, and so on (lexicographic max-min).
 */
export function bottleneckFill(fleet: PreparedFleet, start?: Int32Array): Int32Array {
  const n = fleet.n;
  const units = start ? Int32Array.from(start) : new Int32Array(n);
  const latency = new Float64Array(n);
  let used = 0;
  for (let i = 0; i < n; i++) {
    const r = units[i];
    if (r === undefined) throw new RangeError(`no start units for UE ${i} of ${n}`);
    latency[i] = bestLatency(fleet, i, r);
    used += r;
  }
  const heap = new MaxHeap(latency, n);
  heap.fill(n);
  while (heap.length > 0) {
    const i = heap.top();
    // biome-ignore-start lint/style/noNonNullAssertion: the fill's main loop; the heap holds only indices i < n
    const next = nextDrop(fleet, i, units[i]!, latency[i]!);
    if (next < 0 || used + next - units[i]! > fleet.units) {
      heap.pop();
      continue;
    }
    used += next - units[i]!;
    // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
    units[i] = next;
    latency[i] = bestLatency(fleet, i, next);
    heap.updateTop();
  }
  return units;
}
