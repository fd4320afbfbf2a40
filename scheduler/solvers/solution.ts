import { bestCutIndex, latencyAt, type PreparedFleet } from './prepared.js';

export type SolverName = 'optimal' | 'iao' | 'local' | 'edge' | 'even';
export const SOLVER_NAMES: readonly SolverName[] = ['optimal', 'iao', 'local', 'edge', 'even'];

/** Where one UE cuts and how many edge units it gets, with its integer-model latency. */
export interface UeAllocation {
  readonly id: string;
  /** Index of the cut: 0 = everything offloaded, L = everything local. */
  readonly cut: number;
  readonly cutName: string;
  /** Edge units (concurrency slots); 0 exactly when the UE runs locally. */
  readonly units: number;
  readonly latencyMs: number;
}

/** IAO's continuous solution, before rounding to integer units. */
export interface ContinuousSolution {
  readonly maxLatencyMs: number;
  readonly iterations: number;
  /** The maximum latency after the start and after every iteration (never increases). */
  readonly history: readonly number[];
  readonly cuts: readonly number[];
  readonly units: readonly number[];
}

export interface Solution {
  readonly solver: SolverName;
  readonly decisions: readonly UeAllocation[];
  readonly maxLatencyMs: number;
  readonly meanLatencyMs: number;
  readonly unitsUsed: number;
  readonly continuous?: ContinuousSolution;
}

/**
 * A solver's answer in columns, UE i at index i: its cut, and its units (0 exactly where the
 * cut is local). The scheduler reads these; `solutionOf` makes the per-UE objects of a Solution.
 */
export interface Allocation {
  readonly solver: SolverName;
  readonly cuts: Int32Array;
  readonly units: Int32Array;
  readonly continuous?: ContinuousSolution;
}

/** An allocation of given cuts and units (units are dropped where the cut is local). */
export function allocationFrom(
  fleet: PreparedFleet,
  solver: SolverName,
  cuts: ArrayLike<number>,
  units: ArrayLike<number>,
): Allocation {
  const ownCuts = new Int32Array(fleet.n);
  const ownUnits = new Int32Array(fleet.n);
  for (let i = 0; i < fleet.n; i++) {
    const cut = cuts[i];
    const r = units[i];
    if (cut === undefined || r === undefined)
      throw new RangeError(`no cut or units for UE ${i} of ${fleet.n}`);
    ownCuts[i] = cut;
    ownUnits[i] = cut === fleet.last[i] ? 0 : r;
  }
  return { solver, cuts: ownCuts, units: ownUnits };
}

/** Each UE takes its best cut for the units it holds; `units` becomes the allocation's. */
export function allocationForUnits(
  fleet: PreparedFleet,
  solver: SolverName,
  units: Int32Array,
): Allocation {
  const cuts = new Int32Array(fleet.n);
  for (let i = 0; i < fleet.n; i++) {
    const r = units[i];
    if (r === undefined) throw new RangeError(`no units for UE ${i} of ${fleet.n}`);
    const cut = bestCutIndex(fleet, i, r);
    cuts[i] = cut;
    if (cut === fleet.last[i]) units[i] = 0;
  }
  return { solver, cuts, units };
}

/** The solution an allocation gives: each UE's decision and latency, and the fleet's figures. */
export function solutionOf(fleet: PreparedFleet, allocation: Allocation): Solution {
  const { solver, cuts, units, continuous } = allocation;
  const decisions: UeAllocation[] = [];
  let max = 0;
  let sum = 0;
  let used = 0;
  for (let i = 0; i < fleet.n; i++) {
    // biome-ignore-start lint/style/noNonNullAssertion: part of every solve; i < n, and cut <= L indexes UE i's cut names (checks here measured ~15% slower)
    const cut = cuts[i]!;
    const r = units[i]!;
    const latencyMs = latencyAt(fleet, i, cut, r);
    decisions.push({
      id: fleet.ids[i]!,
      cut,
      cutName: fleet.cutNames[i]![cut]!,
      units: r,
      latencyMs,
    });
    // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
    if (latencyMs > max) max = latencyMs;
    sum += latencyMs;
    used += r;
  }
  const base = {
    solver,
    decisions,
    maxLatencyMs: max,
    meanLatencyMs: fleet.n === 0 ? 0 : sum / fleet.n,
    unitsUsed: used,
  };
  return continuous ? { ...base, continuous } : base;
}
