import {
  bestCutIndex,
  evenSplit,
  latencyAt,
  type PreparedFleet,
  type Solution,
} from '../scheduler/solvers/index.js';

/** Where each UE cuts and how many units it holds (0 = local). */
export interface Plan {
  readonly cuts: ArrayLike<number>;
  readonly units: ArrayLike<number>;
}

/** What a plan achieves on a fleet. */
export interface Outcome {
  readonly maxLatencyMs: number;
  readonly meanLatencyMs: number;
  readonly localUes: number;
}

export function planOf(solution: Solution): Plan {
  return {
    cuts: solution.decisions.map((d) => d.cut),
    units: solution.decisions.map((d) => d.units),
  };
}

/**
 * The latencies a plan gives on a fleet (docs/model.md's integer model), e.g. decisions made on
 * estimated profiles scored on the true ones. An offloading UE without units never finishes.
 */
export function outcomeOf(fleet: PreparedFleet, plan: Plan): Outcome {
  let max = 0;
  let sum = 0;
  let local = 0;
  for (let i = 0; i < fleet.n; i++) {
    const cut = plan.cuts[i] ?? 0;
    const isLocal = cut === fleet.last[i];
    const ms = latencyAt(fleet, i, cut, isLocal ? 0 : (plan.units[i] ?? 0));
    if (isLocal) local++;
    if (ms > max) max = ms;
    sum += ms;
  }
  return { maxLatencyMs: max, meanLatencyMs: fleet.n === 0 ? 0 : sum / fleet.n, localUes: local };
}

/**
 * The independent per-UE baseline: each UE picks its cut alone, as Neurosurgeon does, as if the
 * edge served it only (all the units its batch can use, at most R), then the units are split
 * evenly. A UE left without a unit runs locally.
 */
export function independentPlan(fleet: PreparedFleet): Plan {
  const units = evenSplit(fleet);
  const cuts = new Int32Array(fleet.n);
  for (let i = 0; i < fleet.n; i++) {
    const alone = Math.min(fleet.batch[i] ?? 1, fleet.units);
    const cut = bestCutIndex(fleet, i, alone);
    cuts[i] = (units[i] ?? 0) > 0 ? cut : (fleet.last[i] ?? 0);
  }
  return { cuts, units };
}
