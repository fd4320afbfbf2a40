import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInstance } from '../scheduler/instance.js';
import { prepareFleet, solve, solveIaoContinuous } from '../scheduler/solvers/index.js';
import { instanceArb } from './solver-arbitraries.js';
import { closeTo, continuousOptimum } from './solver-reference.js';

describe('iao (continuous relaxation)', () => {
  it('reaches the continuous optimum found by an independent bisection, to 1e-9 relative', () => {
    fc.assert(
      fc.property(
        instanceArb({ maxUes: 12, maxUnits: 30, maxCuts: 7, maxBatch: 8 }),
        (instance) => {
          const iao = solveIaoContinuous(prepareFleet(instance));
          const truth = continuousOptimum(instance);
          expect(closeTo(iao.maxLatencyMs, truth, 1e-9)).toBe(true);
        },
      ),
      { seed: 99, numRuns: 800 },
    );
  });

  it('never raises the maximum from one iteration to the next', () => {
    fc.assert(
      fc.property(
        instanceArb({ maxUes: 20, maxUnits: 40, maxCuts: 8, maxBatch: 8 }),
        (instance) => {
          const { history, iterations } = solveIaoContinuous(prepareFleet(instance));
          expect(history.length).toBe(iterations + 1);
          for (let k = 1; k < history.length; k++)
            expect(history[k]!).toBeLessThan(history[k - 1]!);
        },
      ),
      { seed: 5, numRuns: 500 },
    );
  });

  it('its continuous units add up to at most R and every UE meets the maximum', () => {
    fc.assert(
      fc.property(
        instanceArb({ maxUes: 10, maxUnits: 25, maxCuts: 6, maxBatch: 6 }),
        (instance) => {
          const fleet = prepareFleet(instance);
          const c = solveIaoContinuous(fleet);
          const total = c.units.reduce((s, r) => s + r, 0);
          expect(total).toBeLessThanOrEqual(instance.edge.units * (1 + 1e-9) + 1e-12);
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  it('reports the iteration count and iterates on a fleet where the start is not optimal', () => {
    const cuts = (edge: number) => [
      { name: 'in', deviceMs: 0, bytes: 1000, edgeMs: edge },
      { name: 'mid', deviceMs: 30, bytes: 100, edgeMs: edge / 4 },
      { name: 'out', deviceMs: 100, bytes: 10, edgeMs: 0 },
    ];
    const parsed = parseInstance({
      edge: { units: 4 },
      ues: [
        { id: 'heavy', batch: 4, uplinkMbps: 10, cuts: cuts(80) },
        { id: 'light', batch: 1, uplinkMbps: 10, cuts: cuts(5) },
        { id: 'mid', batch: 2, uplinkMbps: 1, cuts: cuts(30) },
      ],
    });
    if (!parsed.ok) throw parsed.error;
    const solution = solve(parsed.value, 'iao');
    expect(solution.continuous!.iterations).toBeGreaterThanOrEqual(1);
    expect(closeTo(solution.continuous!.maxLatencyMs, continuousOptimum(parsed.value))).toBe(true);
  });
});

describe('iao rounded to integer units', () => {
  it('is feasible, never beats optimal, and uses no unit where it lowers nothing', () => {
    fc.assert(
      fc.property(
        instanceArb({ maxUes: 12, maxUnits: 30, maxCuts: 6, maxBatch: 8 }),
        (instance) => {
          const iao = solve(instance, 'iao');
          const optimal = solve(instance, 'optimal');
          expect(iao.unitsUsed).toBeLessThanOrEqual(instance.edge.units);
          expect(iao.maxLatencyMs).toBeGreaterThanOrEqual(optimal.maxLatencyMs * (1 - 1e-12));
          iao.decisions.forEach((d, i) => {
            expect(d.units).toBeLessThanOrEqual(instance.ues[i]!.batch);
          });
        },
      ),
      { seed: 3, numRuns: 500 },
    );
  });
});
