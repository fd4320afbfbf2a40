import type { Tensor } from '../proto/index.js';

/** Largest absolute element-wise difference; Infinity when the shapes differ. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.shape.join() !== b.shape.join() || a.data.length !== b.data.length) return Infinity;
  let worst = 0;
  for (const [k, x] of a.data.entries()) {
    const d = Math.abs(x - (b.data[k] ?? Number.NaN));
    if (Number.isNaN(d)) return Infinity;
    if (d > worst) worst = d;
  }
  return worst;
}

/** Mean, standard deviation, count of non-finite and of non-zero elements. */
export function stats(t: Tensor): {
  mean: number;
  std: number;
  nonFinite: number;
  nonZero: number;
} {
  let sum = 0;
  let squares = 0;
  let nonFinite = 0;
  let nonZero = 0;
  for (const v of t.data) {
    if (!Number.isFinite(v)) nonFinite++;
    if (v !== 0) nonZero++;
    sum += v;
    squares += v * v;
  }
  const mean = sum / t.data.length;
  return {
    mean,
    std: Math.sqrt(Math.max(0, squares / t.data.length - mean * mean)),
    nonFinite,
    nonZero,
  };
}
