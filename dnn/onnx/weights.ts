/**
 * Deterministic pseudo-random weights. Each tensor gets its own xorshift128 stream seeded from
 * (model seed, tensor name), so its values do not depend on the order tensors are made in, and
 * a stream fills typed arrays chunk by chunk without per-element allocation (VGG-16 has 138M
 * weights, one tensor alone 103M).
 */

/** FNV-1a over the UTF-16 code units of `text`. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) {
    h ^= text.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One splitmix32 step: the next state and an output that is never 0. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) | 1];
}

/** Values uniform in [center − spread, center + spread), continuing across `fill` calls. */
export class WeightStream {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private readonly scale: number;
  private readonly low: number;

  constructor(key: string, spread: number, center: number) {
    let s = hash32(key);
    [s, this.a] = splitmix32(s);
    [s, this.b] = splitmix32(s);
    [s, this.c] = splitmix32(s);
    [, this.d] = splitmix32(s);
    this.scale = (2 * spread) / 2 ** 32;
    this.low = center - spread;
  }

  fill(out: Float32Array): void {
    let { a, b, c, d } = this;
    const { scale, low } = this;
    for (let k = 0; k < out.length; k++) {
      const t = a ^ (a << 11);
      a = b;
      b = c;
      c = d;
      d = d ^ (d >>> 19) ^ (t ^ (t >>> 8));
      out[k] = low + (d >>> 0) * scale;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }
}

export class WeightGenerator {
  /** @param seed any integer; equal seeds give equal weights */
  constructor(readonly seed: number) {}

  stream(name: string, spread: number, center = 0): WeightStream {
    return new WeightStream(`${this.seed}:${name}`, spread, center);
  }

  /** `count` values of {@link stream} at once. */
  uniform(name: string, count: number, spread: number, center = 0): Float32Array {
    const out = new Float32Array(count);
    this.stream(name, spread, center).fill(out);
    return out;
  }
}
