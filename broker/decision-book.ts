/**
 * What the ingress knows of each UE: its units and epoch, from the scheduler's retained
 * `ue/{ue}/decision` messages, and its batch, from its retained `ue/{ue}/profile`. The ingress
 * refuses requests of a UE that has no units, under an epoch ahead of its decision, or for a
 * sample beyond its batch (docs/security.md, "Queue bounds, Redis memory and the delivery
 * guarantee").
 */
import { decodeMessage, tryParseTopic } from '../proto/index.js';

interface Known {
  readonly units: number;
  readonly epoch: number;
  /** When the ingress learnt this decision (ms). */
  readonly at: number;
}

/** Whether a request of a UE may be queued, and if not, why. */
export type UnitsVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'NO_UNITS' | 'EPOCH_AHEAD'; readonly reason: string };

export class DecisionBook {
  readonly #known = new Map<string, Known>();
  readonly #batches = new Map<string, number>();
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
    if (!parsed.ok || parsed.value.kind !== 'ue') return;
    const ue = parsed.value.ue;
    if (parsed.value.channel === 'profile') {
      this.#offerProfile(ue, payload);
      return;
    }
    if (parsed.value.channel !== 'decision') return;
    if (payload.length === 0) {
      this.#known.delete(ue);
      return;
    }
    const decoded = decodeMessage('decision', payload);
    if (!decoded.ok) return;
    const { units, epoch } = decoded.value;
    this.#known.set(ue, { units, epoch, at: now });
  }

  #offerProfile(ue: string, payload: Uint8Array): void {
    if (payload.length === 0) {
      this.#batches.delete(ue);
      return;
    }
    const decoded = decodeMessage('profile', payload);
    if (decoded.ok) this.#batches.set(ue, decoded.value.batch);
  }

  /** Why sample `sample` cannot be one of `ue`'s (its batch is known and smaller), if so. */
  sampleProblem(ue: string, sample: number): string | undefined {
    const batch = this.#batches.get(ue);
    if (batch === undefined || sample < batch) return undefined;
    return `infer.sample: must be below the UE's batch of ${batch} (its profile), not ${sample}`;
  }

  /** Whether a request of `ue` made under `epoch` may be queued. */
  admits(ue: string, epoch: number, now = Date.now()): UnitsVerdict {
    const known = this.#known.get(ue);
    if (known === undefined)
      return now < this.#unknownUntil
        ? { ok: true }
        : { ok: false, code: 'NO_UNITS', reason: `UE "${ue}" has no decision from the scheduler` };
    if (epoch > known.epoch)
      return {
        ok: false,
        code: 'EPOCH_AHEAD',
        reason: `infer.epoch: ${epoch} is ahead of the latest decision for UE "${ue}" (epoch ${known.epoch})`,
      };
    if (known.units > 0) return { ok: true };
    if (epoch < known.epoch && now - known.at < this.#drainMs) return { ok: true };
    return {
      ok: false,
      code: 'NO_UNITS',
      reason: `UE "${ue}" has 0 edge units since epoch ${known.epoch}: run the model locally`,
    };
  }
}
