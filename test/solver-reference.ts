import { defined } from '../runtime/defined.js';
import type { Instance, UeSpec } from '../scheduler/instance-schema.js';

/**
 * Independent reference implementations for the solver tests, written straight from docs/model.md's
 * formulas on the raw instance (no shared code with the solvers).
 */

export function integerLatency(ue: UeSpec, p: number, r: number): number {
  const L = ue.cuts.length - 1;
  const B = ue.batch;
  const cut = defined(ue.cuts[p], 'the cut asked for');
  if (p === L) return B * cut.deviceMs;
  if (r < 1) return Number.POSITIVE_INFINITY;
  const download =
    ue.downlinkMbps === undefined ? 0 : (ue.resultBytes * 8) / (ue.downlinkMbps * 1000);
  return (
    B * cut.deviceMs +
    (B * cut.bytes * 8) / (ue.uplinkMbps * 1000) +
    ue.rttMs +
    Math.ceil(B / r) * cut.edgeMs +
    download
  );
}

export function bestIntegerLatency(ue: UeSpec, r: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let p = 0; p < ue.cuts.length; p++) best = Math.min(best, integerLatency(ue, p, r));
  return best;
}

/** Every allocation with Σ r <= R: the least maximum and the lexicographically least sorted vector. */
export function bruteForce(instance: Instance): { max: number; lex: number[] } {
  const { ues } = instance;
  const R = instance.edge.units;
  const table = ues.map((ue) => Array.from({ length: R + 1 }, (_, r) => bestIntegerLatency(ue, r)));
  let bestLex: number[] | undefined;
  const current: number[] = [];
  const visit = (i: number, left: number): void => {
    if (i === ues.length) {
      const sorted = [...current].sort((x, y) => y - x);
      if (!bestLex || lexLess(sorted, bestLex)) bestLex = sorted;
      return;
    }
    for (let r = 0; r <= left; r++) {
      current.push(defined(table[i]?.[r], 'a best latency per UE and unit count'));
      visit(i + 1, left - r);
      current.pop();
    }
  };
  visit(0, R);
  const lex = bestLex ?? [];
  return { max: lex[0] ?? 0, lex };
}

export function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (const [k, x] of a.entries()) {
    const y = defined(b[k], 'an element of the second vector (both are as long)');
    if (!closeTo(x, y)) return x < y;
  }
  return false;
}

export function closeTo(a: number, b: number, rel = 1e-9): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Latency of a UE at cut p with a real number r of units in the continuous model (docs/model.md):
 * `fixed + B·edgeMs / r`; local at p = L; no tail compute needs no unit.
 */
export function continuousLatency(ue: UeSpec, p: number, r: number): number {
  const L = ue.cuts.length - 1;
  const B = ue.batch;
  const { deviceMs, edgeMs } = defined(ue.cuts[p], 'the cut asked for');
  if (p === L) return B * deviceMs;
  const fixed = integerLatency(ue, p, B) - edgeMs;
  if (edgeMs === 0) return fixed;
  return r > 0 ? fixed + (B * edgeMs) / r : Number.POSITIVE_INFINITY;
}

/** Units UE needs in the continuous model to finish by T (0 when local meets T). */
function continuousNeed(ue: UeSpec, T: number): number {
  const L = ue.cuts.length - 1;
  const B = ue.batch;
  if (B * defined(ue.cuts[L], 'the last cut').deviceMs <= T) return 0;
  let need = Number.POSITIVE_INFINITY;
  for (const [p, cut] of ue.cuts.slice(0, L).entries()) {
    const a = integerLatency(ue, p, B) - cut.edgeMs;
    const w = B * cut.edgeMs;
    if (w === 0) {
      if (a <= T) need = 0;
    } else if (T > a) need = Math.min(need, w / (T - a));
  }
  return need;
}

/** The continuous optimum by plain bisection on T. */
export function continuousOptimum(instance: Instance): number {
  let hi = 0;
  for (const ue of instance.ues)
    hi = Math.max(hi, ue.batch * defined(ue.cuts.at(-1), `the last cut of UE "${ue.id}"`).deviceMs);
  let lo = 0;
  const fits = (T: number) =>
    instance.ues.reduce((s, ue) => s + continuousNeed(ue, T), 0) <= instance.edge.units;
  if (fits(lo)) return lo;
  for (let k = 0; k < 400 && hi - lo > 1e-13 * hi; k++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
