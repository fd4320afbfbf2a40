/**
 * Who went silent: ids heard at some time, and those not heard again for `expiryMs`. The time is
 * the caller's (ms, any clock that only moves forward), so the rule is pure and testable.
 */
export class SilenceExpiry {
  /** Id -> when it was last heard. */
  readonly #heard = new Map<string, number>();

  constructor(readonly expiryMs: number) {}

  /** `id` was heard at `now`. */
  heard(id: string, now: number): void {
    this.#heard.set(id, now);
  }

  /** `id` said it is there (heard at `now`) or gone (watched no more). */
  observe(id: string, present: boolean, now: number): void {
    if (present) this.heard(id, now);
    else this.forget(id);
  }

  /** `id` is to be watched no more (it said it left, or it never refreshes). */
  forget(id: string): void {
    this.#heard.delete(id);
  }

  /** Ids not heard for the expiry time at `now`; they are forgotten until heard again. */
  expired(now: number): string[] {
    const stale: string[] = [];
    for (const [id, at] of this.#heard)
      if (now - at >= this.expiryMs) {
        stale.push(id);
        this.#heard.delete(id);
      }
    return stale;
  }

  get size(): number {
    return this.#heard.size;
  }
}
