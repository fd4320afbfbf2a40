/**
 * Per-UE budget for link probes (docs/links-and-lab.md, "Probing"): a token bucket of bytes per
 * UE. A UE over its budget is told so on its error topic and its probe is discarded like any
 * other; nothing else of it, or of anyone, is affected.
 */

export interface ProbeLimitOptions {
  /** Bytes a UE may probe in one burst. @defaultValue 4 MiB */
  readonly burstBytes?: number;
  /** Bytes per second the budget refills. @defaultValue 256 KiB */
  readonly bytesPerSecond?: number;
  /** UEs tracked at once; beyond, probes are refused until budgets refill. @defaultValue 10000 */
  readonly maxTracked?: number;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

/** Every probe costs at least this much, so that tiny probes cannot be sent without end. */
const MIN_COST = 1024;

interface Bucket {
  tokens: number;
  at: number;
}

export class ProbeLimit {
  readonly #burst: number;
  readonly #rate: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: ProbeLimitOptions = {}) {
    this.#burst = options.burstBytes ?? 4 * 1024 * 1024;
    this.#rate = (options.bytesPerSecond ?? 256 * 1024) / 1000;
    this.#maxTracked = options.maxTracked ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** UEs whose budget is not full (the others need no memory). */
  get tracked(): number {
    return this.#buckets.size;
  }

  /** Takes `bytes` from `ue`'s budget; false (and nothing taken) if it has not that much. */
  take(ue: string, bytes: number): boolean {
    const now = this.#now();
    const cost = Math.max(MIN_COST, bytes);
    let bucket = this.#buckets.get(ue);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxTracked) this.#sweep(now);
      if (this.#buckets.size >= this.#maxTracked) return false;
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(ue, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#rate);
    bucket.at = now;
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }

  /** Forgets the UEs whose budget has refilled: they are as good as new. */
  #sweep(now: number): void {
    for (const [ue, bucket] of this.#buckets)
      if (bucket.tokens + (now - bucket.at) * this.#rate >= this.#burst) this.#buckets.delete(ue);
  }
}
