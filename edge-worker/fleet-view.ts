import { decodeMessage, tryParseTopic, type ValidationError } from '../proto/index.js';
import type { DecisionSnapshot } from '../runtime/decision-snapshot.js';
import { SilenceExpiry } from '../runtime/silence-expiry.js';
import { type Packing, packUnits, type WorkerUnits } from './packing.js';

/** What one message did to the view: whether it may change what to serve, and why it was refused. */
export interface FleetUpdate {
  /** The packing, or a served UE's tail (its cut or model), may have changed. */
  readonly changed: boolean;
  readonly problem?: ValidationError;
}

/** Where a UE's tail starts: its model (when its decision names it) and its cut. */
export interface Tail {
  readonly model: string;
  readonly cut: number;
}

const UNCHANGED: FleetUpdate = { changed: false };

/**
 * The fleet as one edge worker sees it, built from retained `ue/+/decision` and `edge/+/status`
 * messages: the units of every UE and of every other online worker. Pure state, no I/O.
 */
export class FleetView {
  private readonly decisions = new Map<
    string,
    { epoch: number; units: number; cut: number; model: string | undefined }
  >();
  private readonly workers = new Map<string, number>();
  /** Workers whose status arrived since the last reconnect; undefined when none is pending. */
  private confirmed: Set<string> | undefined;
  /** Reconnects so far. */
  private reconnects = 0;
  /** When each online worker's status was last heard, by `now`. */
  private readonly silence: SilenceExpiry;

  /**
   * `self` is always counted online with its declared units, whatever its retained status says.
   * Another worker whose status was not heard for `expiryMs` by `now` is forgotten by
   * `expireSilent` (0: never).
   */
  constructor(
    private readonly topicPrefix: string,
    private readonly self: WorkerUnits,
    expiryMs = 0,
    private readonly now: () => number = Date.now,
  ) {
    this.silence = new SilenceExpiry(expiryMs);
  }

  /** Applies one message; topics other than decisions and edge statuses are ignored. */
  apply(topic: string, payload: Uint8Array): FleetUpdate {
    const parsed = tryParseTopic(this.topicPrefix, topic);
    if (!parsed.ok) return UNCHANGED;
    const where = parsed.value;
    if (where.kind === 'ue' && where.channel === 'decision')
      return this.applyDecision(where.ue, payload);
    if (where.kind === 'edge' && where.worker !== this.self.id)
      return this.applyWorker(where.worker, payload);
    return UNCHANGED;
  }

  private applyDecision(ue: string, payload: Uint8Array): FleetUpdate {
    // An empty retained payload clears the decision (the UE went offline).
    if (payload.length === 0) return { changed: this.decisions.delete(ue) };
    const decoded = decodeMessage('decision', payload);
    if (!decoded.ok) return { changed: false, problem: decoded.error };
    const { epoch, units, model, cut } = decoded.value;
    const known = this.decisions.get(ue);
    // A decision older than the one held is a late duplicate from a replaced scheduler.
    if (known !== undefined && epoch < known.epoch) return UNCHANGED;
    this.decisions.set(ue, { epoch, units, cut, model });
    // A new cut or model changes no packing, but the tail to open for it (edge-worker.ts).
    return { changed: known?.units !== units || known.cut !== cut || known.model !== model };
  }

  /**
   * Takes the scheduler's record of every current decision (docs/live-system.md, "Faults"): it
   * covers everything up to its epoch, so a decision it lacks whose epoch is not above it was
   * cleared, and one of a lower epoch than its own is out of date; decisions of a later epoch,
   * already here over MQTT, stay. This is how a worker that missed messages (a broker restart, a
   * reconnect) ends with the same decisions, and so the same packing, as every other.
   */
  applySnapshot(snapshot: DecisionSnapshot): FleetUpdate {
    let changed = false;
    for (const [ue, known] of this.decisions)
      if (known.epoch <= snapshot.epoch && !snapshot.decisions.has(ue)) {
        this.decisions.delete(ue);
        changed = true;
      }
    for (const [ue, { epoch, units, cut, model }] of snapshot.decisions) {
      const known = this.decisions.get(ue);
      if (known !== undefined && known.epoch >= epoch) continue;
      this.decisions.set(ue, { epoch, units, cut, model });
      changed ||= known?.units !== units || known.cut !== cut || known.model !== model;
    }
    return { changed };
  }

  /**
   * The connection to the broker was made again: a worker that died meanwhile never had its last
   * will published (a restarted broker does not know it). Live workers announce themselves again
   * on reconnecting; `dropUnconfirmed`, a grace period later, forgets the others. Returns this
   * reconnect's number: a later reconnect starts the count again and supersedes it.
   */
  reconnected(): number {
    this.confirmed = new Set();
    return ++this.reconnects;
  }

  /**
   * Forgets the workers not heard from since reconnect number `reconnect`; says which it forgot
   * and which it kept. Undefined when that reconnect was superseded by a later one (whose own
   * call decides) or already settled.
   */
  dropUnconfirmed(
    reconnect: number,
  ): (FleetUpdate & { readonly dropped: string[]; readonly kept: string[] }) | undefined {
    const confirmed = this.confirmed;
    if (confirmed === undefined || reconnect !== this.reconnects) return undefined;
    this.confirmed = undefined;
    const dropped: string[] = [];
    const kept: string[] = [];
    for (const worker of [...this.workers.keys()])
      if (confirmed.has(worker)) kept.push(worker);
      else {
        this.forgetWorker(worker);
        dropped.push(worker);
      }
    return { changed: dropped.length > 0, dropped, kept };
  }

  /**
   * Forgets the other workers whose status was not heard for the expiry time: they died without
   * a last will (while the broker was down), and a broker that keeps retained messages replays
   * their last `online`. An announcement brings each back. Says which it forgot.
   */
  expireSilent(): FleetUpdate & { readonly dropped: string[] } {
    if (this.silence.expiryMs === 0) return { changed: false, dropped: [] };
    const dropped = this.silence
      .expired(this.now())
      .filter((worker) => this.workers.delete(worker));
    return { changed: dropped.length > 0, dropped };
  }

  private applyWorker(worker: string, payload: Uint8Array): FleetUpdate {
    this.confirmed?.add(worker);
    if (payload.length === 0) return { changed: this.forgetWorker(worker) };
    const decoded = decodeMessage('edgeStatus', payload);
    if (!decoded.ok) return { changed: false, problem: decoded.error };
    const { state, units } = decoded.value;
    if (state === 'offline') return { changed: this.forgetWorker(worker) };
    this.silence.heard(worker, this.now());
    const before = this.workers.get(worker);
    this.workers.set(worker, units);
    return { changed: before !== units };
  }

  private forgetWorker(worker: string): boolean {
    this.silence.forget(worker);
    return this.workers.delete(worker);
  }

  /** UEs with a decision, whatever their units. */
  ues(): string[] {
    return [...this.decisions.keys()];
  }

  /** Units of `ue` in its decision (0 without one). */
  unitsOf(ue: string): number {
    return this.decisions.get(ue)?.units ?? 0;
  }

  /** The tail `ue`'s decision asks for; undefined without a decision or a model in it. */
  tailOf(ue: string): Tail | undefined {
    const decision = this.decisions.get(ue);
    if (decision?.model === undefined) return undefined;
    return { model: decision.model, cut: decision.cut };
  }

  /** Online workers, this one included. */
  onlineWorkers(): WorkerUnits[] {
    const workers = [...this.workers].map(([id, units]) => ({ id, units }));
    workers.push(this.self);
    return workers;
  }

  /** The packing every worker computes from the same messages (docs/live-system.md). */
  packing(): Packing {
    const ues = [...this.decisions].map(([ue, { units }]) => ({ ue, units }));
    return packUnits(this.onlineWorkers(), ues);
  }
}
