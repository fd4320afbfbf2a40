/**
 * A map whose entries expire a fixed time after they were last set, holding at most `limit`
 * of them (the least recently set one goes first). Memory stays bounded whatever clients send.
 */
export class ExpiringTable<V> {
  // Map order is the order of the last set: the front expires first (every entry lives ttlMs).
  readonly #entries = new Map<string, { readonly value: V; readonly expires: number }>();
  readonly #ttlMs: number;
  readonly #limit: number;

  constructor(ttlMs: number, limit: number) {
    this.#ttlMs = ttlMs;
    this.#limit = limit;
  }

  /** The value of `key`, if set less than ttlMs ago. */
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > now) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Sets `key` (it lives ttlMs from `now`), dropping expired entries and any beyond the limit. */
  set(key: string, value: V, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: now + this.#ttlMs });
    this.sweep(now);
    while (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops expired entries (all at the front). */
  sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expires > now) break;
      this.#entries.delete(key);
    }
  }

  /** Entries not yet expired. */
  size(now: number): number {
    this.sweep(now);
    return this.#entries.size;
  }
}
