import { allocationTarget, leastNeedCut, unitsAtTarget } from './continuous.js';
import { bestLatency, type PreparedFleet } from './prepared.js';
import type { ContinuousSolution } from './solution.js';

/** Safety net only: the maximum strictly decreases each iteration, so IAO stops long before. */
const MAX_ITERATIONS = 10_000;

/**
 * Iterative Alternating Optimization (Tang et al., 2020) on the continuous model.
 *
 * Start: every UE gets R/N units and its best cut for them. Then alternate:
 *  - partition step at the current maximum T: each UE takes the cut needing the least units to
 *    finish strictly before T (a UE that is local at exactly T must try to offload, else IAO
 *    could stall at a local bottleneck);
 *  - if those least needs already exceed R, no T' < T fits: T is optimal, stop;
 *  - allocation step: the least T' at which all UEs finish within R with the new cuts.
 * T' <= T always; the loop stops when T stops falling. At that point no smaller T fits into R
 * (each UE's least need is strictly decreasing in T), so T is the continuous optimum.
 */
export function solveIaoContinuous(fleet: PreparedFleet): ContinuousSolution {
  const n = fleet.n;
  let cuts = new Int32Array(n);
  const share = n === 0 ? 0 : fleet.units / n;
  for (let i = 0; i < n; i++) cuts[i] = startCut(fleet, i, share);
  let T = allocationTarget(fleet, cuts);
  const history = [T];
  let iterations = 0;
  while (iterations < MAX_ITERATIONS && n > 0) {
    const next = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const choice = leastNeedCut(fleet, i, T, true);
      next[i] = choice.cut;
      total += choice.need;
    }
    if (!(total <= fleet.units)) break;
    const target = allocationTarget(fleet, next);
    if (!(target < T)) break;
    iterations++;
    cuts = next;
    T = target;
    history.push(T);
  }
  return {
    maxLatencyMs: T,
    iterations,
    history,
    cuts: Array.from(cuts),
    units: unitsAtTarget(fleet, cuts, T),
  };
}

/** Best cut of UE i for a real share of units (continuous tail time B·edgeMs / share). */
function startCut(fleet: PreparedFleet, i: number, share: number): number {
  // biome-ignore-start lint/style/noNonNullAssertion: once per UE over its cuts; i < n, and k = base + p with p < L stays within UE i's rows
  if (share <= 0) return fleet.last[i]!;
  const L = fleet.last[i]!;
  const base = fleet.off[i]!;
  let cut = L;
  let ms = fleet.localMs[i]!;
  for (let p = 0; p < L; p++) {
    const k = base + p;
    const t = fleet.fixedMs[k]! + (fleet.batch[i]! * fleet.edgeMs[k]!) / share;
    if (t < ms) {
      cut = p;
      ms = t;
    }
  }
  // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
  return cut;
}

/**
 * Rounds IAO's continuous allocation to integer units (always feasible, Σ units <= R):
 *  1. each offloading UE gets floor(r_i), at least 1 and at most B (more never helps);
 *  2. while that exceeds R: take a unit from the UE holding the most above its real share
 *     (among those with more than 1); when all hold 1, the offloading UE with the fastest local
 *     time runs locally instead;
 *  3. every UE keeps only the fewest units that give it the same best latency (none when local is
 *     as fast), so no unit is kept that lowers nothing; the units left over then go to the
 *     bottleneck first (as `optimal` hands them out, only where they lower a latency), and every
 *     UE finally takes its best cut for the integer units it holds.
 */
export function roundIaoUnits(fleet: PreparedFleet, continuous: ContinuousSolution): Int32Array {
  const n = fleet.n;
  const units = new Int32Array(n);
  let used = 0;
  for (let i = 0; i < n; i++) {
    if (continuous.cuts[i] === fleet.last[i]) continue;
    const B = fleet.batch[i];
    const share = continuous.units[i];
    if (B === undefined || share === undefined)
      throw new RangeError(`no batch or continuous units for UE ${i} of ${n}`);
    const r = Math.min(B, Math.max(1, Math.floor(share)));
    units[i] = r;
    used += r;
  }
  if (used > fleet.units) used = shedUnits(fleet, continuous, units, used);
  for (let i = 0; i < n; i++) {
    const r = units[i];
    if (r === undefined) throw new RangeError(`no units for UE ${i} of ${n}`);
    units[i] = fewestUnitsForLatency(fleet, i, r);
  }
  return units;
}

/**
 * The fewest units that give UE i the same best latency as `r` does (0 when running locally is
 * as fast). Latency depends on r only through ceil(B / r), so this walks down plateau by
 * plateau (at most about 2·sqrt(B) of them).
 */
function fewestUnitsForLatency(fleet: PreparedFleet, i: number, r: number): number {
  // biome-ignore lint/style/noNonNullAssertion: once per UE, then bestLatency per plateau; i < n
  const B = fleet.batch[i]!;
  const ms = bestLatency(fleet, i, r);
  let least = r;
  while (least > 0) {
    least = Math.ceil(B / Math.ceil(B / least));
    if (bestLatency(fleet, i, least - 1) > ms) break;
    least--;
  }
  return least;
}

/** Step 2 of the rounding, in O(N log N): returns the units in use afterwards (<= R). */
function shedUnits(
  fleet: PreparedFleet,
  continuous: ContinuousSolution,
  units: Int32Array,
  used: number,
): number {
  // biome-ignore-start lint/style/noNonNullAssertion: the sorts and rounds below run O(N log N) times per IAO solve; every index is a UE index i < n, from units.keys()
  const surplus = (i: number) => units[i]! - continuous.units[i]!;
  // Every holder of more than 1 unit holds floor(r_i) <= r_i; after one unit is taken it is
  // below all others, so taking in rounds, in order of surplus, follows "most above share".
  let holders = [...units.keys()].filter((i) => units[i]! > 1);
  holders.sort((x, y) => surplus(y) - surplus(x) || x - y);
  let left = used;
  while (left > fleet.units && holders.length > 0) {
    for (const i of holders) {
      if (left <= fleet.units) break;
      units[i]!--;
      left--;
    }
    holders = holders.filter((i) => units[i]! > 1);
  }
  const ones = [...units.keys()].filter((i) => units[i] === 1);
  ones.sort((x, y) => fleet.localMs[x]! - fleet.localMs[y]! || x - y);
  // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
  for (const i of ones) {
    if (left <= fleet.units) break;
    units[i] = 0;
    left--;
  }
  return left;
}
