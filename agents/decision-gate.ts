import { setTimeout as sleep } from 'node:timers/promises';
import type { Decision } from '../proto/index.js';

/** What `DecisionGate.offer` made of a decision. */
export type DecisionOffer =
  | { readonly kind: 'changed'; readonly decision: Decision }
  | { readonly kind: 'same' }
  /** Older than the decision held: a late publish of a scheduler that lost the leadership. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Holds the decision the next task runs under: the one of the highest epoch seen. Epochs are
 * recorded under the leadership lock (docs/live-system.md, "Faults"), so a decision of a lower
 * epoch than the one held comes from a leader deposed meanwhile and is ignored. Epochs continue
 * across scheduler and broker restarts (from Redis or the retained messages); only when both
 * lose their state do they restart low, and agents must then be restarted too.
 */
export class DecisionGate {
  private decision: Decision | undefined;
  private readonly waiters = new Set<(decision: Decision) => void>();

  /** @param cuts number of cuts of the UE's model (L + 1) */
  constructor(private readonly cuts: number) {}

  get current(): Decision | undefined {
    return this.decision;
  }

  offer(decision: Decision): DecisionOffer {
    const last = this.cuts - 1;
    if (decision.cut > last) {
      const reason = `decision of epoch ${decision.epoch}: cut ${decision.cut} is beyond the last cut ${last}`;
      return { kind: 'invalid', reason };
    }
    const previous = this.decision;
    if (previous !== undefined && decision.epoch < previous.epoch) return { kind: 'stale' };
    this.decision = decision;
    for (const waiter of [...this.waiters]) waiter(decision);
    // A retained decision arrives again after every reconnect: only a change is news.
    const same =
      previous !== undefined &&
      previous.epoch === decision.epoch &&
      previous.cut === decision.cut &&
      previous.units === decision.units &&
      previous.predictedMs === decision.predictedMs;
    return same ? { kind: 'same' } : { kind: 'changed', decision };
  }

  /**
   * The current decision, or the first to arrive within `waitMs`; undefined if none arrived in
   * time or `signal` was aborted.
   */
  async next(waitMs: number, signal: AbortSignal): Promise<Decision | undefined> {
    if (this.decision !== undefined) return this.decision;
    let waiter: ((decision: Decision) => void) | undefined;
    const arrived = new Promise<Decision>((resolve) => {
      waiter = resolve;
      this.waiters.add(resolve);
    });
    const timeout = new AbortController();
    const expired = sleep(waitMs, undefined, {
      signal: AbortSignal.any([signal, timeout.signal]),
    }).then(
      () => undefined,
      () => undefined,
    );
    try {
      return await Promise.race([arrived, expired]);
    } finally {
      timeout.abort();
      if (waiter !== undefined) this.waiters.delete(waiter);
    }
  }
}
