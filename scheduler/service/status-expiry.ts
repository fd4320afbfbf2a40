/**
 * The rule that keeps a UE's presence true behind any broker: a UE that states a protocol
 * version in its status refreshes that status every STATUS_REFRESH_MS; one not heard from for
 * the expiry time is taken offline. The embedded broker publishes `offline` on any disconnect,
 * but another broker publishes only the last will, which a clean DISCONNECT cancels. UEs of
 * older agents (no `protocol` in their status) refresh nothing and are never expired.
 */
import type { UeStatus } from '../../proto/index.js';
import { SilenceExpiry } from '../../runtime/silence-expiry.js';

export class StatusExpiry {
  readonly #silence: SilenceExpiry;

  constructor(expiryMs: number) {
    this.#silence = new SilenceExpiry(expiryMs);
  }

  /** Takes a UE's status, heard at `now`. */
  heard(ue: string, status: UeStatus, now: number): void {
    this.#silence.observe(ue, status.state === 'online' && status.protocol !== undefined, now);
  }

  /** UEs not heard from for the expiry time at `now`; they are forgotten until heard again. */
  expired(now: number): string[] {
    return this.#silence.expired(now);
  }

  get size(): number {
    return this.#silence.size;
  }
}
