import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { median, quantile, quantileSorted } from '../stats/quantile.js';

describe('quantile (linear interpolation between ranks, as numpy)', () => {
  it('gives numpy.percentile(..., method="linear") values', () => {
    const values = [15, 20, 35, 40, 50];
    expect(quantile(values, 0)).toBe(15);
    expect(quantile(values, 0.4)).toBe(29); // h = 1.6: 20 + 0.6 * 15
    expect(quantile(values, 0.5)).toBe(35);
    expect(quantile(values, 1)).toBe(50);
    expect(quantile([3, 1, 4, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.99)).toBeCloseTo(3.97, 12);
    expect(median([7])).toBe(7);
  });

  it('is null for no values and refuses q outside [0, 1] or NaN values', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(median([])).toBeNull();
    expect(() => quantile([1], 1.5)).toThrow(/q must be in \[0, 1\]/);
    expect(() => quantile([1], Number.NaN)).toThrow(/q must be in \[0, 1\]/);
    expect(() => quantile([1, Number.NaN], 0.5)).toThrow(/NaN/);
  });

  it('lies between the values, grows with q, and ignores the input order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, a, b) => {
          const sorted = [...values].sort((x, y) => x - y);
          const [low, high] = a <= b ? [a, b] : [b, a];
          const qLow = quantile(values, low) as number;
          const qHigh = quantile(values, high) as number;
          expect(qLow).toBeGreaterThanOrEqual(sorted[0] as number);
          expect(qHigh).toBeLessThanOrEqual(sorted.at(-1) as number);
          expect(qLow).toBeLessThanOrEqual(qHigh);
          expect(quantile([...values].reverse(), low)).toBe(quantileSorted(sorted, low));
        },
      ),
    );
  });
});
