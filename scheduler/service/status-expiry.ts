/**
 * The rule that keeps a UE's presence true behind any broker: a UE that states a protocol
 * version in its status refreshes that status every STATUS_REFRESH_MS; one not heard from for
 * the expiry time is taken offline. The embedded broker publishes `offline` on any disconnect,
 * but another broker publishes only the last will, which a clean DISCONNECT cancels. UEs of
 * older agents (no `protocol` in their status) refresh nothing and are never expired.
 */
import type { UeStatus } from '../../proto/index.js';

export class StatusExpiry {
  /** UE -> when its last online status with a protocol version was heard (ms). */
  readonly #heard = new Map<string, number>();

  constructor(private readonly expiryMs: number) {}

  /** Takes a UE's status, heard at `now`. */
  heard(ue: string, status: UeStatus, now: number): void {
    if (status.state === 'online' && status.protocol !== undefined) this.#heard.set(ue, now);
    else this.#heard.delete(ue);
  }

  /** UEs not heard from for the expiry time at `now`; they are forgotten until heard again. */
  expired(now: number): string[] {
    const stale: string[] = [];
    for (const [ue, at] of this.#heard)
      if (now - at >= this.expiryMs) {
        stale.push(ue);
        this.#heard.delete(ue);
      }
    return stale;
  }

  get size(): number {
    return this.#heard.size;
  }
}
