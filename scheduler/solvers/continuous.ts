import type { PreparedFleet } from './prepared.js';

/**
 * The continuous relaxation of MODEL.md (the paper's model): at cut p < L with real r > 0 units,
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
  const k = fleet.off[i]! + p;
  const a = fleet.fixedMs[k]!;
  const w = fleet.batch[i]! * fleet.edgeMs[k]!;
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
  let wAtMax = 0;
  let count = 0;
  for (let i = 0; i < fleet.n; i++) {
    const p = cuts[i]!;
    if (p === fleet.last[i]) {
      floor = Math.max(floor, fleet.localMs[i]!);
      continue;
    }
    const k = fleet.off[i]! + p;
    const a = fleet.fixedMs[k]!;
    const w = fleet.batch[i]! * fleet.edgeMs[k]!;
    floor = Math.max(floor, a);
    if (w === 0) continue;
    count++;
    if (a > aMax) {
      aMax = a;
      wAtMax = w;
    }
  }
  if (count === 0) return floor;
  if (fleet.units <= 0) return Number.POSITIVE_INFINITY;
  const R = fleet.units;
  // The sum is convex and decreasing in T: Newton's method started left of the root climbs to it
  // monotonically. a_max + w/R is left of the root (that UE alone already needs all R).
  let T = aMax + wAtMax / R;
  for (let iter = 0; iter < 200; iter++) {
    let g = -R;
    let slope = 0;
    for (let i = 0; i < fleet.n; i++) {
      const p = cuts[i]!;
      if (p === fleet.last[i]) continue;
      const k = fleet.off[i]! + p;
      const w = fleet.batch[i]! * fleet.edgeMs[k]!;
      if (w === 0) continue;
      const gap = T - fleet.fixedMs[k]!;
      g += w / gap;
      slope += w / (gap * gap);
    }
    const next = T + g / slope;
    if (!(next > T)) break;
    T = next;
  }
  return Math.max(floor, T);
}

/** Each UE's continuous units at the allocation target T (0 for local and compute-free cuts). */
export function unitsAtTarget(fleet: PreparedFleet, cuts: ArrayLike<number>, T: number): number[] {
  const units: number[] = [];
  for (let i = 0; i < fleet.n; i++) {
    const p = cuts[i]!;
    units.push(p === fleet.last[i] ? 0 : offloadNeed(fleet, i, p, T, false));
  }
  return units;
}
