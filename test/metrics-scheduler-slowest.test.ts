/**
 * The scheduler's per-UE series cover the UEs with the highest predicted latency: the selection
 * (a bounded heap, run at each scrape) against a full sort of random fleets.
 */
import { describe, expect, it } from 'vitest';
import { highest } from '../metrics/index.js';
import type { Decision } from '../proto/index.js';

function fleet(size: number, seed: number): Map<string, Decision> {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const decisions = new Map<string, Decision>();
  for (let k = 0; k < size; k++) {
    // Few distinct latencies: many ties, which the lower UE id wins.
    const predictedMs = Math.floor(next() * 20) * 10;
    decisions.set(`ue-${Math.floor(next() * 1e6)}-${k}`, {
      epoch: 1,
      cut: 0,
      cutName: 'input',
      units: 1,
      predictedMs,
      solver: 'optimal',
    });
  }
  return decisions;
}

function bySort(decisions: Map<string, Decision>, count: number): string[] {
  return [...decisions]
    .sort((a, b) => b[1].predictedMs - a[1].predictedMs || (a[0] < b[0] ? -1 : 1))
    .slice(0, count)
    .map(([ue]) => ue)
    .sort();
}

describe('per-UE decision series', () => {
  it('go to the UEs with the highest predicted latency (ties to the lower id), as many as the cap, for fleets below, at and above it', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const size = seed % 7 === 0 ? 0 : (seed * 37) % 400;
      const cap = seed % 5 === 0 ? 0 : (seed * 13) % 150;
      const decisions = fleet(size, seed);
      const chosen = highest(decisions, cap)
        .map(([ue]) => ue)
        .sort();
      expect(chosen, `seed ${seed}: ${size} UEs, cap ${cap}`).toEqual(bySort(decisions, cap));
    }
  });
});
