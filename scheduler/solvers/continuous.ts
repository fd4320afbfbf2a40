import type { PreparedFleet } from './prepared.js';

/**
 * The continuous relaxation of docs/model.md (the paper's model): at cut p < L with real r > 0 units,
 * UE i finishes at `fixedMs + B·edgeMs / r`, so meeting a target T takes `B·edgeMs / (T − fixedMs)`.
 */

/** Units UE i needs at offload cut p to finish by T; `strict` asks to finish strictly before T. */
export function offloadNeed(
  fleet: PreparedFleet,
  i: number,
  p: number,
  T: number,
  strict: boolean,
): number {
  // biome-ignore-start lint/style/noNonNullAssertion: IAO's inner loop; i < n and p < L keep k = off[i] + p within UE i's rows
  const k = fleet.off[i]! + p;
  const a = fleet.fixedMs[k]!;
  const w = fleet.batch[i]! * fleet.edgeMs[k]!;
  // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
  if (w === 0) return a < T || (!strict && a === T) ? 0 : Number.POSITIVE_INFINITY;
  return T > a ? w / (T - a) : Number.POSITIVE_INFINITY;
}

/** Units UE i needs at cut p (local needs 0 when it meets T, else never meets it). */
export function cutNeed(
  fleet: PreparedFleet,
  i: number,
  p: number,
  T: number,
  strict: boolean,
): number {
  if (p === fleet.last[i]) {
    // biome-ignore lint/style/noNonNullAssertion: IAO's inner loop; i < n
    const local = fleet.localMs[i]!;
    return local < T || (!strict && local === T) ? 0 : Number.POSITIVE_INFINITY;
  }
  return offloadNeed(fleet, i, p, T, strict);
}

/**
 * The cut of UE i that needs the least units to meet T; ties go to fewer units (local first),
 * then the smaller upload.
 */
export function leastNeedCut(
  fleet: PreparedFleet,
  i: number,
  T: number,
  strict: boolean,
): { cut: number; need: number } {
  // biome-ignore-start lint/style/noNonNullAssertion: IAO's partition step, once per UE and iteration; i < n, and base + p, base + cut (both < L) stay within UE i's rows
  const L = fleet.last[i]!;
  let cut = L;
  let need = cutNeed(fleet, i, L, T, strict);
  const base = fleet.off[i]!;
  for (let p = 0; p < L; p++) {
    const r = offloadNeed(fleet, i, p, T, strict);
    if (
      r < need ||
      (r === need && cut !== L && fleet.uploadBytes[base + p]! < fleet.uploadBytes[base + cut]!)
    ) {
      cut = p;
      need = r;
    }
  }
  // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
  return { cut, need };
}

/**
 * Allocation step: with cuts fixed, the least T at which all UEs finish within R units,
 * i.e. the root of `Σ B·edgeMs_i / (T − a_i) = R` over offloading UEs, but never below a
 * local UE's time or an offloading UE's time without tail compute. Infinity if R = 0 and a
 * UE offloads compute.
 */
export function allocationTarget(fleet: PreparedFleet, cuts: ArrayLike<number>): number {
  let floor = 0;
  let aMax = Number.NEGATIVE_INFINITY;
  let totalW = 0;
  let least = Number.NEGATIVE_INFINITY;
  // The offloading UEs with tail compute, packed once: the root search reads only these.
  const fixed = new Float64Array(fleet.n);
  const work = new Float64Array(fleet.n);
  let m = 0;
  for (let i = 0; i < fleet.n; i++) {
    // biome-ignore-start lint/style/noNonNullAssertion: IAO's allocation step, every iteration; i < n, cuts has a cut p <= L per UE, and k = off[i] + p < off[i + 1]
    const p = cuts[i]!;
    if (p === fleet.last[i]) {
      floor = Math.max(floor, fleet.localMs[i]!);
      continue;
    }
    const k = fleet.off[i]! + p;
    const a = fleet.fixedMs[k]!;
    const w = fleet.batch[i]! * fleet.edgeMs[k]!;
    // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
    floor = Math.max(floor, a);
    if (w === 0) continue;
    fixed[m] = a;
    work[m] = w;
    m++;
    totalW += w;
    aMax = Math.max(aMax, a);
    least = Math.max(least, a + w / fleet.units);
  }
  if (totalW === 0) return floor;
  if (fleet.units <= 0) return Number.POSITIVE_INFINITY;
  const terms: Terms = { fixed, work, count: m, units: fleet.units };
  return Math.max(floor, allocationRoot(terms, aMax, totalW, least));
}

/** The offloading UEs' fixed parts a_i and tail work w_i = B·edgeMs, the first `count` entries. */
interface Terms {
  readonly fixed: Float64Array;
  readonly work: Float64Array;
  readonly count: number;
  readonly units: number;
}

/** Σ w_i / (T − a_i) − R over the terms. */
function excessAt(terms: Terms, T: number): number {
  const { fixed, work, count } = terms;
  let excess = -terms.units;
  // biome-ignore lint/style/noNonNullAssertion: the root search's inner loop; j < count <= the arrays' length
  for (let j = 0; j < count; j++) excess += work[j]! / (T - fixed[j]!);
  return excess;
}

/** −d excess / dT = Σ w_i / (T − a_i)² over the terms. */
function slopeAt(terms: Terms, T: number): number {
  const { fixed, work, count } = terms;
  let slope = 0;
  for (let j = 0; j < count; j++) {
    // biome-ignore-start lint/style/noNonNullAssertion: the root search's inner loop; j < count <= the arrays' length
    const gap = T - fixed[j]!;
    slope += work[j]! / (gap * gap);
    // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
  }
  return slope;
}

/** A step of at least one unit in the last place of `x` (and above 0 at 0). */
const ulpOf = (x: number): number => Math.max(Math.abs(x) * Number.EPSILON, Number.MIN_VALUE);

/**
 * The least T > aMax with Σ w_i / (T − a_i) <= R (R > 0, some w_i > 0): the root of a convex,
 * decreasing function that is +∞ at aMax. Safeguarded Newton (on the reciprocal, from the lower
 * bound `least` = max a_i + w_i / R when that lies above aMax) on a bracket [lo, hi] with
 * excess(lo) > 0 >= excess(hi): a Newton step that leaves the bracket (or is not a number) is
 * replaced by bisection, and nothing is ever evaluated at T <= aMax, where a gap T − a_i
 * would be 0 (a tail tiny next to its fixed part used to make aMax + w/R round to aMax and the
 * step 0/0). Returns hi: the needs at the result add up to at most R.
 */
function allocationRoot(terms: Terms, aMax: number, totalW: number, least: number): number {
  // Each term is at most w_i / (Σw / R) at aMax + Σw / R, so the sum is at most R there; where
  // rounding says otherwise (or the step vanishes next to aMax), widen until it holds.
  let step = totalW / terms.units;
  let hi = aMax + step;
  let excess = excessAt(terms, hi);
  for (let k = 0; k < 2200 && !(hi > aMax && excess <= 0); k++) {
    step = Math.max(2 * step, ulpOf(aMax));
    hi = aMax + step;
    excess = excessAt(terms, hi);
  }
  let lo = aMax;
  let T = hi;
  // No UE can meet a T below a_i + w_i / R even with all R units, so the root is at least
  // `least`: Newton starts there, on the left, and climbs to the root without a bisection.
  if (least > aMax && least < hi) {
    const atLeast = excessAt(terms, least);
    if (atLeast <= 0) return least;
    lo = least;
    T = least;
    excess = atLeast;
  }
  for (let iter = 0; iter < 200 && excess !== 0; iter++) {
    // Newton on 1/S(T) = 1/R, S = Σ w_i / (T − a_i) = excess + R: 1/S is concave and close to
    // linear (exactly so for one UE), so its steps land at or left of the root and then climb
    // quadratically, where Newton on S itself only doubles the gap per step next to the pole.
    const sum = excess + terms.units;
    let next = T + (sum * excess) / (terms.units * slopeAt(terms, T));
    const newton = next > lo && next < hi;
    // From the left Newton climbs monotonically; no progress there means T is the root.
    if (!newton && T === lo && next <= T) break;
    if (!newton) next = lo + (hi - lo) / 2;
    if (!(next > lo && next < hi)) break;
    excess = excessAt(terms, next);
    if (excess > 0) lo = next;
    else hi = next;
    T = next;
    // Within the rounding error of the sum, T is the root as far as it can be computed: a fit
    // is the answer, a point just short of it leaves only the last few ulps below.
    if (Math.abs(excess) <= terms.count * Number.EPSILON * (excess + terms.units)) {
      if (excess <= 0) return T;
      break;
    }
  }
  // lo is within rounding of the root: the first point a few ulps above it that fits.
  for (let d = ulpOf(lo), k = 0; k < 64 && lo > aMax && lo + d < hi; d *= 2, k++) {
    if (excessAt(terms, lo + d) <= 0) return lo + d;
  }
  return hi;
}

/** Each UE's continuous units at the allocation target T (0 for local and compute-free cuts). */
export function unitsAtTarget(fleet: PreparedFleet, cuts: ArrayLike<number>, T: number): number[] {
  const units: number[] = [];
  for (let i = 0; i < fleet.n; i++) {
    const p = cuts[i];
    if (p === undefined) throw new RangeError(`no cut for UE ${i} of ${fleet.n}`);
    units.push(p === fleet.last[i] ? 0 : offloadNeed(fleet, i, p, T, false));
  }
  return units;
}
