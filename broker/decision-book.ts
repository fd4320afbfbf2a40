/**
 * What the ingress knows of each UE's decision: its units and epoch, from the scheduler's
 * retained `ue/{ue}/decision` messages. The ingress refuses requests of a UE that has no units
 * (docs/security.md, "Queue bounds, Redis memory and the delivery guarantee").
 */
import { decodeMessage, tryParseTopic } from '../proto/index.js';

interface Known {
  readonly units: number;
  readonly epoch: number;
  /** When the ingress learnt this decision (ms). */
  readonly at: number;
}

/** Whether a request of a UE may be queued, and if not, why. */
export type UnitsVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export class DecisionBook {
  readonly #known = new Map<string, Known>();
  readonly #topicPrefix: string;
  readonly #drainMs: number;
  readonly #unknownUntil: number;

  /**
   * `drainMs`: after a UE's decision drops to 0 units, requests made under an earlier epoch are
   * still taken for this long (they were sent before the UE learnt of the change).
   * `startGraceMs`: for this long from now, a UE whose decision is not known yet is taken as
   * having units: the retained decisions may still be on their way (a persistent session
   * delivers the requests it kept before them).
   */
  constructor(topicPrefix: string, drainMs: number, startGraceMs: number, now = Date.now()) {
    this.#topicPrefix = topicPrefix;
    this.#drainMs = drainMs;
    this.#unknownUntil = now + startGraceMs;
  }

  /** UEs with a known decision. */
  get size(): number {
    return this.#known.size;
  }

  /**
   * Takes a message seen on a decision topic; anything else, or an invalid decision, is
   * ignored. An empty payload (the retained decision cleared: the UE went offline) forgets it.
   */
  offer(topic: string, payload: Uint8Array, now = Date.now()): void {
    const parsed = tryParseTopic(this.#topicPrefix, topic);
    if (!parsed.ok || parsed.value.kind !== 'ue' || parsed.value.channel !== 'decision') return;
    const ue = parsed.value.ue;
    if (payload.length === 0) {
      this.#known.delete(ue);
      return;
    }
    const decoded = decodeMessage('decision', payload);
    if (!decoded.ok) return;
    const { units, epoch } = decoded.value;
    this.#known.set(ue, { units, epoch, at: now });
  }

  /** Whether a request of `ue` made under `epoch` may be queued. */
  admits(ue: string, epoch: number, now = Date.now()): UnitsVerdict {
    const known = this.#known.get(ue);
    if (known === undefined)
      return now < this.#unknownUntil
        ? { ok: true }
        : { ok: false, reason: `UE "${ue}" has no decision from the scheduler` };
    if (known.units > 0) return { ok: true };
    if (epoch < known.epoch && now - known.at < this.#drainMs) return { ok: true };
    return {
      ok: false,
      reason: `UE "${ue}" has 0 edge units since epoch ${known.epoch}: run the model locally`,
    };
  }
}
