import { bestLatency, type PreparedFleet, type Solution, solve } from './solvers/index.js';

/**
 * Whether the edge units matter for a fleet's maximum latency. With unlimited units each UE
 * takes its best cut with as many units as its batch (more never helps), so the optimum is then
 * the largest of these "own limits". A fleet is **pinned** when its optimum equals that: one UE
 * alone decides the maximum, more units would not lower it, and the maximum cannot tell a good
 * allocation from a bad one.
 */
export interface Contention {
  /** The optimum with unlimited units: the largest own limit. */
  readonly unlimitedMaxLatencyMs: number;
  /** The UE with that own limit (`null` for an empty fleet). */
  readonly limitingUe: string | null;
  /** The optimum with the fleet's units. */
  readonly optimalMaxLatencyMs: number;
  readonly pinned: boolean;
  /** UEs that run their whole model on the device at the optimum (0 units). */
  readonly localUes: number;
  readonly ues: number;
}

/** Relative slack for "equals": both sides come from the same formula, so far below any real gap. */
const SAME = 1e-9;

/** UEs of a solution that run locally (0 units). */
export function localCount(solution: Solution): number {
  let local = 0;
  for (const d of solution.decisions) if (d.units === 0) local++;
  return local;
}

/** The contention of a fleet, from its `optimal` solution (solved here unless given). */
export function contentionOf(fleet: PreparedFleet, optimal?: Solution): Contention {
  const solution = optimal ?? solve(fleet, 'optimal');
  let unlimited = 0;
  let limitingUe: string | null = null;
  for (let i = 0; i < fleet.n; i++) {
    const own = bestLatency(fleet, i, fleet.batch[i] ?? 1);
    if (limitingUe === null || own > unlimited) {
      unlimited = own;
      limitingUe = fleet.ids[i] ?? null;
    }
  }
  const optimum = solution.maxLatencyMs;
  return {
    unlimitedMaxLatencyMs: unlimited,
    limitingUe,
    optimalMaxLatencyMs: optimum,
    pinned: fleet.n > 0 && optimum <= unlimited * (1 + SAME),
    localUes: localCount(solution),
    ues: fleet.n,
  };
}
