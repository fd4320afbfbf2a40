import type { PreparedFleet } from './prepared.js';

/**
 * The least r' > r at which UE i's best latency drops below `current` (its best latency at r),
 * or -1 when no number of units lowers it. `f_i(r) = min_p T_i(p, r)` has plateaus (ceil(B/r)
 * changes only at r = ceil(B/k)), so this jumps straight to the next useful unit count.
 */
export function nextDrop(fleet: PreparedFleet, i: number, r: number, current: number): number {
  // biome-ignore-start lint/style/noNonNullAssertion: called at every step of the fill; i < n, and base + p with p < L stays within UE i's rows
  const B = fleet.batch[i]!;
  const L = fleet.last[i]!;
  const base = fleet.off[i]!;
  let best = -1;
  for (let p = 0; p < L; p++) {
    const a = fleet.fixedMs[base + p]!;
    if (!(a < current)) continue;
    const e = fleet.edgeMs[base + p]!;
    // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
    const slots = maxSlotsBelow(a, e, B, current);
    if (slots < 1) continue;
    // Least r with ceil(B / r) <= slots.
    let need = Math.ceil(B / slots);
    if (need <= r) need = r + 1; // defensive: cannot happen when `current` is f_i(r)
    if (best < 0 || need < best) best = need;
  }
  return best;
}

/** Largest k in 0..B with a + k·e < limit (k = B when even B slots per unit fit). */
function maxSlotsBelow(a: number, e: number, B: number, limit: number): number {
  if (a + B * e < limit) return B;
  let k = Math.floor((limit - a) / e);
  if (k > B) k = B;
  if (k < 0) k = 0;
  while (k > 0 && !(a + k * e < limit)) k--;
  while (k < B && a + (k + 1) * e < limit) k++;
  return k;
}
