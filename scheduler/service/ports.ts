import type { Decision, ErrorReport, SchedulerStatus } from '../../proto/index.js';
import type { DecisionSnapshot } from '../../runtime/decision-snapshot.js';

/**
 * Where the scheduler's output goes (MQTT in production). Calls return at once: delivery is the
 * transport's business (QoS 1), and a transport failure is reported, never thrown into a solve.
 */
export interface DecisionSink {
  /** Publishes `ue/{ue}/decision`, retained. */
  publishDecision(ue: string, decision: Decision): void;
  /** Clears the retained `ue/{ue}/decision` (an empty retained payload). */
  clearDecision(ue: string): void;
  /** Publishes `ue/{ue}/error`, not retained. */
  publishError(ue: string, report: ErrorReport): void;
  /** Publishes `scheduler/status`, retained. */
  publishStatus(status: SchedulerStatus): void;
}

/** Sets each UE queue's global concurrency (BullMQ in production). */
export interface ConcurrencyPort {
  /** Sets the global concurrency of UE `ue`'s queue; resolves once the store has it. */
  setConcurrency(ue: string, concurrency: number): Promise<void>;
  /** Releases what the port holds (not a connection it was handed). */
  close(): Promise<void>;
}

/** One solve's changes as the ledger records them. */
export interface LedgerRecord {
  readonly epoch: number;
  /** Decisions published under `epoch` (with `full`: every current decision). */
  readonly set: ReadonlyArray<readonly [string, Decision]>;
  /** UEs whose decision is cleared. */
  readonly clear: readonly string[];
  /** Replace everything recorded with `set`. */
  readonly full: boolean;
}

/** What the ledger made of a record. */
export type LedgerOutcome =
  | { readonly kind: 'recorded' }
  /** Nothing is recorded yet (fresh or wiped store): record every decision instead. */
  | { readonly kind: 'needsFull' }
  /** This scheduler may not publish: another leads (or recorded a later epoch). */
  | { readonly kind: 'deposed'; readonly reason: string };

/**
 * Records each solve before anything of it is published, and fences it: a scheduler that no
 * longer leads is told so and publishes nothing (Redis in production, decision-ledger.ts).
 */
export interface DecisionLedger {
  /** The epoch and decisions recorded last; undefined when none are. */
  read(): Promise<DecisionSnapshot | undefined>;
  commit(record: LedgerRecord): Promise<LedgerOutcome>;
}
