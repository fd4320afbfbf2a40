import type { Tensor } from '../proto/index.js';

/** FNV-1a over the UTF-16 code units of `text`: a stable 32-bit seed from an id. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) {
    hash ^= text.charCodeAt(k);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The input of sample `sample` of UE `ue`: values in [0, 1) from mulberry32 seeded by the UE id
 * and the sample index, so every run and every task feeds the same frames.
 */
export function sampleInput(ue: string, sample: number, shape: readonly number[]): Tensor {
  let count = 1;
  for (const dim of shape) count *= dim;
  const data = new Float32Array(count);
  let state = (hashString(ue) ^ Math.imul(sample + 1, 0x9e3779b1)) >>> 0;
  for (let k = 0; k < count; k++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[k] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return { dtype: 'float32', shape: [...shape], data };
}

/** The inputs of one task: samples 0 to `batch` − 1. */
export function sampleInputs(ue: string, batch: number, shape: readonly number[]): Tensor[] {
  return Array.from({ length: batch }, (_, sample) => sampleInput(ue, sample, shape));
}
