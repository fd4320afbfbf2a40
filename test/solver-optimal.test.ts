import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defined } from '../runtime/defined.js';
import { parseInstance } from '../scheduler/instance.js';
import type { Instance } from '../scheduler/instance-schema.js';
import { SOLVER_NAMES, type Solution, solve } from '../scheduler/solvers/index.js';
import { instanceArb } from './solver-arbitraries.js';
import { bruteForce, closeTo, integerLatency } from './solver-reference.js';

function expectFeasible(instance: Instance, solution: Solution): void {
  let used = 0;
  solution.decisions.forEach((d, i) => {
    const ue = defined(instance.ues[i], `UE ${i} of the instance`);
    const L = ue.cuts.length - 1;
    expect(d.id).toBe(ue.id);
    expect(d.cutName).toBe(ue.cuts[d.cut]?.name);
    if (d.cut === L) expect(d.units).toBe(0);
    else expect(d.units).toBeGreaterThanOrEqual(1);
    expect(closeTo(d.latencyMs, integerLatency(ue, d.cut, d.units))).toBe(true);
    used += d.units;
  });
  expect(used).toBe(solution.unitsUsed);
  expect(used).toBeLessThanOrEqual(instance.edge.units);
}

describe('optimal solver', () => {
  it('is feasible and equals brute force (min-max and lexicographic leftover rule) on 1,500 random small fleets', () => {
    fc.assert(
      fc.property(instanceArb({ maxUes: 4, maxUnits: 6, maxCuts: 4, maxBatch: 5 }), (instance) => {
        const solution = solve(instance, 'optimal');
        expectFeasible(instance, solution);
        const truth = bruteForce(instance);
        expect(closeTo(solution.maxLatencyMs, truth.max)).toBe(true);
        const sorted = solution.decisions.map((d) => d.latencyMs).sort((x, y) => y - x);
        sorted.forEach((v, k) => {
          expect(closeTo(v, defined(truth.lex[k], `latency ${k} of the optimum`))).toBe(true);
        });
      }),
      { seed: 20260101, numRuns: 1500 },
    );
  });

  it('every solver returns a feasible allocation and none beats optimal', () => {
    fc.assert(
      fc.property(instanceArb({ maxUes: 8, maxUnits: 20, maxCuts: 6, maxBatch: 8 }), (instance) => {
        const best = solve(instance, 'optimal').maxLatencyMs;
        for (const name of SOLVER_NAMES) {
          const solution = solve(instance, name);
          expectFeasible(instance, solution);
          expect(solution.maxLatencyMs).toBeGreaterThanOrEqual(best * (1 - 1e-12));
        }
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});

function ue(id: string, batch: number, uplinkMbps: number, cuts: [number, number, number][]) {
  return {
    id,
    batch,
    uplinkMbps,
    cuts: cuts.map(([deviceMs, bytes, edgeMs], p) => ({ name: `c${p}`, deviceMs, bytes, edgeMs })),
  };
}

function instanceOf(units: number, ues: ReturnType<typeof ue>[]): Instance {
  const parsed = parseInstance({ edge: { units }, ues });
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

const vision: [number, number, number][] = [
  [0, 150_000, 20],
  [5, 400_000, 15],
  [40, 20_000, 4],
  [100, 4_000, 0],
];

describe('optimal solver edge cases', () => {
  it('R = 0: every UE runs locally with no unit; the maximum is the slowest local time', () => {
    const s = solve(instanceOf(0, [ue('a', 2, 50, vision), ue('b', 1, 5, vision)]), 'optimal');
    expect(s.decisions.map((d) => [d.cut, d.units])).toEqual([
      [3, 0],
      [3, 0],
    ]);
    expect(s.maxLatencyMs).toBe(200);
  });

  it('a UE whose every offload is slower than local stays local and takes no unit; the other UE gets units', () => {
    const slowLink = ue('slow', 1, 0.001, vision);
    const s = solve(instanceOf(8, [slowLink, ue('fast', 1, 100, vision)]), 'optimal');
    expect(s.decisions[0]).toMatchObject({ cut: 3, units: 0, latencyMs: 100 });
    expect(s.decisions[1]?.units).toBeGreaterThan(0);
  });

  it('bandwidth near 0 forces local: no unit and the finite local latency', () => {
    const s = solve(instanceOf(4, [ue('a', 3, 1e-9, vision)]), 'optimal');
    expect(s.decisions[0]).toMatchObject({ cut: 3, units: 0, latencyMs: 300 });
  });

  it('batch 1 with many units uses exactly one unit', () => {
    const s = solve(instanceOf(50, [ue('a', 1, 1000, vision)]), 'optimal');
    expect(s.decisions[0]?.units).toBe(1);
  });

  it('a single UE with R far above its batch takes exactly B units', () => {
    const s = solve(instanceOf(1000, [ue('a', 6, 1000, vision)]), 'optimal');
    expect(s.decisions[0]?.units).toBe(6);
    expect(s.unitsUsed).toBe(6);
  });

  it('identical UEs get identical decisions when units divide evenly', () => {
    const ues = Array.from({ length: 4 }, (_, i) => ue(`u${i}`, 4, 50, vision));
    const s = solve(instanceOf(8, ues), 'optimal');
    const first = defined(s.decisions[0], 'the first decision');
    for (const d of s.decisions)
      expect([d.cut, d.units, d.latencyMs]).toEqual([first.cut, first.units, first.latencyMs]);
  });

  it('N = 1 reaches the best latency any allocation of R gives', () => {
    const instance = instanceOf(3, [ue('a', 5, 30, vision)]);
    const s = solve(instance, 'optimal');
    expect(closeTo(s.maxLatencyMs, bruteForce(instance).max)).toBe(true);
  });

  it('an empty fleet solves to no decisions and a maximum of 0', () => {
    const s = solve(instanceOf(4, []), 'optimal');
    expect(s.decisions).toEqual([]);
    expect(s.maxLatencyMs).toBe(0);
  });
});
