/**
 * Flow control of intercepted publishes: a client with too many of its publishes still being
 * handled, or any client while too many are pending in all, is not read from until they drop
 * below the limits. The unread bytes stay in the socket, so TCP slows the publisher down and
 * only the publisher.
 */

/**
 * What of an aedes 1.2 client this needs (not in its typings): `pause`/`resume`, and the count
 * of packets of the current read still being handled, `_parsingBatch`.
 */
export interface PausableClient {
  pause(): void;
  resume(): void;
  _parsingBatch: number;
}

/**
 * aedes reads a client's next bytes when the count of packets being handled drops to 0, but a
 * packet finished while paused does not count down, so a plain `resume` can leave the client
 * unread for good. Everything read so far is handled or being handled here; read on.
 */
function resumeReading(client: PausableClient): void {
  client._parsingBatch = 1;
  client.resume();
}

/** Limits of `PublishFlow`. */
export interface PublishFlowLimits {
  /** Most publishes of one client being handled at once. */
  readonly perClient: number;
  /** Most publishes being handled at once in all. */
  readonly total: number;
  /** Most payload bytes being handled at once in all. */
  readonly totalBytes: number;
}

export class PublishFlow {
  readonly #limits: PublishFlowLimits;
  readonly #pendingOf = new Map<PausableClient, number>();
  readonly #paused = new Set<PausableClient>();
  #total = 0;
  #bytes = 0;

  constructor(limits: PublishFlowLimits) {
    if (!(limits.perClient >= 1 && limits.total >= 1 && limits.totalBytes >= 1))
      throw new RangeError('publish flow limits must be at least 1');
    this.#limits = limits;
  }

  /** Publishes being handled now. */
  get pending(): number {
    return this.#total;
  }

  /** Payload bytes being handled now. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** Counts `work` on a payload of `bytes` against `client` until it settles, either way. */
  track(client: PausableClient, work: Promise<unknown>, bytes: number): void {
    this.#total += 1;
    this.#bytes += bytes;
    this.#pendingOf.set(client, (this.#pendingOf.get(client) ?? 0) + 1);
    if (!this.#allows(client) && !this.#paused.has(client)) {
      this.#paused.add(client);
      client.pause();
    }
    const settle = () => this.#settle(client, bytes);
    work.then(settle, settle);
  }

  #allows(client: PausableClient): boolean {
    const own = this.#pendingOf.get(client) ?? 0;
    const { perClient, total, totalBytes } = this.#limits;
    return own < perClient && this.#total < total && this.#bytes < totalBytes;
  }

  #settle(client: PausableClient, bytes: number): void {
    this.#total -= 1;
    this.#bytes -= bytes;
    const own = (this.#pendingOf.get(client) ?? 1) - 1;
    if (own === 0) this.#pendingOf.delete(client);
    else this.#pendingOf.set(client, own);
    for (const paused of this.#paused) {
      if (!this.#allows(paused)) continue;
      this.#paused.delete(paused);
      resumeReading(paused);
    }
  }
}
