import type { Decision, ValidationError } from '../../proto/index.js';
import type { SolverName } from '../solvers/index.js';
import type { FleetState } from './fleet-state.js';

/** What one solve did, as the `solved` event reports it. */
export interface SolveReport {
  /** The epoch after the solve (unchanged when nothing was published or cleared). */
  readonly epoch: number;
  readonly solver: SolverName;
  /** UEs in the solve: online with a profile and a link, forced-local ones included. */
  readonly ues: number;
  /** Edge units `R`. */
  readonly units: number;
  /** Building the instance, preparing the fleet and solving, in ms. */
  readonly solveMs: number;
  /** Largest predicted latency over the UEs in the solve; null when there are none. */
  readonly maxPredictedMs: number | null;
  /** UEs that were sent a new decision. */
  readonly published: readonly string[];
  /** UEs whose retained decision was cleared. */
  readonly cleared: readonly string[];
  /** UEs forced to run locally (no worker serves their model, or cut counts differ). */
  readonly forcedLocal: readonly string[];
  /** Concurrency changes made before and after publishing. */
  readonly raised: number;
  readonly lowered: number;
  /** From the first change this solve covers to the solve's start (the coalescing window). */
  readonly waitMs: number;
  /** From the first decision handed to the transport to the last (raises run in between). */
  readonly raiseMs: number;
  /**
   * From the first change this solve covers to the first decision handed to the transport
   * (decisions that raise units follow once their queue has the new value).
   */
  readonly reactionMs: number;
  /** When the solve finished (ms since the Unix epoch). */
  readonly at: number;
}

/** An input payload that failed decoding or validation; it changed no state. */
export interface RejectedPayload {
  readonly topic: string;
  /** The UE the error was sent to, if the topic names one. */
  readonly ue?: string;
  /** The edge worker whose status was rejected (it has no error topic). */
  readonly worker?: string;
  readonly error: ValidationError;
}

/** Events of a running scheduler: each event's listener arguments. */
export type SchedulerEvents = {
  solved: [report: SolveReport];
  rejected: [rejected: RejectedPayload];
  /** A transport step failed; the scheduler goes on (and retries concurrency). */
  error: [error: Error];
  /**
   * The ledger refused a solve: another scheduler leads. Nothing of that solve was published and
   * the engine publishes nothing more.
   */
  deposed: [deposed: { readonly reason: string }];
  /**
   * A grace period after a reconnect to the broker: the edge workers heard from since it were
   * kept, the others taken for offline.
   */
  reconfirmed: [
    reconfirmed: { readonly kept: readonly string[]; readonly dropped: readonly string[] },
  ];
  /**
   * Edge workers whose `online` status was not heard for the expiry time were taken for offline
   * (`edgeStatusExpiryMs`); an announcement brings each back.
   */
  workersExpired: [expired: { readonly workers: readonly string[] }];
};

export interface SchedulerStats {
  readonly solves: number;
  /** Duration of the last solve (see `SolveReport.solveMs`); 0 before the first. */
  readonly lastSolveMs: number;
  readonly epoch: number;
  readonly ues: number;
  readonly units: number;
  readonly maxPredictedMs: number | null;
  /** Decisions published since start. */
  readonly published: number;
  /** Retained decisions cleared since start. */
  readonly cleared: number;
  /** Invalid input payloads since start. */
  readonly rejected: number;
  /** `setGlobalConcurrency` calls that failed since start. */
  readonly concurrencyFailures: number;
}

/** A read-only view of what the scheduler holds. */
export interface SchedulerSnapshot {
  readonly fleet: FleetState;
  /** The decision each UE was last sent, by UE. */
  readonly decisions: ReadonlyMap<string, Decision>;
  readonly epoch: number;
}
