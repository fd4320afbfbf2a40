import type { ErrorReport, SchedulerStatus, Decision as WireDecision } from '../../proto/index.js';

/**
 * Where the scheduler's output goes (MQTT in production). Calls return at once: delivery is the
 * transport's business (QoS 1), and a transport failure is reported, never thrown into a solve.
 */
export interface DecisionSink {
  /** Publishes `ue/{ue}/decision`, retained. */
  publishDecision(ue: string, decision: WireDecision): void;
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
