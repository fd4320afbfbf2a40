import { describe, expect, it } from 'vitest';
import { firstNonFinite, firstNonFiniteBytes } from '../broker/infer-request.js';

function naive(data: Float32Array): number {
  return data.findIndex((x) => !Number.isFinite(x));
}

const SPECIAL = [
  0,
  -0,
  1,
  -1,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  1.401298464324817e-45,
  -1.1754942106924411e-38,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

describe('firstNonFinite', () => {
  it('finds the first NaN or infinity wherever it is, as a plain scan does', () => {
    for (let length = 0; length < 24; length++)
      for (const bad of SPECIAL)
        for (let at = 0; at < length; at++) {
          const data = new Float32Array(length).map((_, k) => k / 7 - 1);
          data[at] = bad;
          if (at + 2 < length) data[at + 2] = Number.NaN;
          expect(firstNonFinite(data)).toBe(naive(data));
        }
  });

  it('reads a view at an offset only within its own elements', () => {
    const whole = new Float32Array([Number.NaN, 1, 2, 3, 4, 5, Number.POSITIVE_INFINITY]);
    expect(firstNonFinite(whole.subarray(1, 6))).toBe(-1);
    expect(firstNonFinite(whole.subarray(1))).toBe(5);
    // Every NaN bit pattern counts, quiet or signalling, whatever its sign.
    const bits = new Uint32Array([0x3f800000, 0xff800001, 0x7fc00000]);
    expect(firstNonFinite(new Float32Array(bits.buffer))).toBe(1);
  });

  it('accepts a large finite tensor', () => {
    const data = new Float32Array(25_088).map((_, k) => ((k % 97) - 48) * 1e30);
    expect(firstNonFinite(data)).toBe(-1);
    data[25_087] = Number.NEGATIVE_INFINITY;
    expect(firstNonFinite(data)).toBe(25_087);
  });

  it('finds the same element in the bytes of the values, at any offset', () => {
    for (let length = 0; length < 24; length++)
      for (const bad of SPECIAL)
        for (let at = 0; at < length; at++)
          for (const offset of [0, 1, 2, 3, 4]) {
            const data = new Float32Array(length).map((_, k) => k / 7 - 1);
            data[at] = bad;
            const bytes = new Uint8Array(offset + length * 4).subarray(offset);
            bytes.set(new Uint8Array(data.buffer));
            expect(firstNonFiniteBytes(bytes)).toBe(naive(data));
          }
  });
});
