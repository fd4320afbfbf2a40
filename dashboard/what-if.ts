/**
 * The what-if panel: the current fleet solved by every solver, side by side, on the dashboard
 * server (never in the page). Bounded: at most `MAX_WHAT_IF_UES` UEs, and the caller solves at
 * most once per interval and only when the fleet changed.
 */
import { performance } from 'node:perf_hooks';
import { buildInstance, type FleetState, SOLVER_NAMES, solve } from '../scheduler/index.js';
import type { WhatIf, WhatIfRow } from './snapshot.js';

/** Largest fleet the panel solves (every solver is well under a second there). */
export const MAX_WHAT_IF_UES = 2000;

export function whatIf(state: FleetState, at: number): WhatIf {
  const { instance, forcedLocal } = buildInstance(state);
  const base = { at, ues: instance.ues.length, units: instance.edge.units };
  const forced = forcedLocal.length;
  if (instance.ues.length === 0)
    return { ...base, forcedLocal: forced, rows: [], note: 'no UE to solve yet' };
  if (instance.ues.length > MAX_WHAT_IF_UES)
    return {
      ...base,
      forcedLocal: forced,
      rows: [],
      note: `${instance.ues.length} UEs: the panel solves fleets of at most ${MAX_WHAT_IF_UES}`,
    };
  const forcedMax = forcedLocal.reduce((max, f) => Math.max(max, f.predictedMs), 0);
  const forcedSum = forcedLocal.reduce((sum, f) => sum + f.predictedMs, 0);
  const n = instance.ues.length + forced;
  const rows: WhatIfRow[] = SOLVER_NAMES.map((solver) => {
    const started = performance.now();
    const solution = solve(instance, solver);
    const solveMs = performance.now() - started;
    return {
      solver,
      maxLatencyMs: Math.max(solution.maxLatencyMs, forcedMax),
      meanLatencyMs: (solution.meanLatencyMs * instance.ues.length + forcedSum) / n,
      unitsUsed: solution.unitsUsed,
      localUes: solution.decisions.filter((d) => d.units === 0).length + forced,
      solveMs,
    };
  });
  return { ...base, forcedLocal: forced, rows, note: null };
}
