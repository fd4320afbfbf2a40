/**
 * What an edge worker reports of its jobs and its packing through the hooks of its options
 * (`onJobStart`, `onJobEnd`, `jobTimes`, `onPacking`).
 */

/** A tail job this worker is about to run (its slot under the unit cap is taken). */
export interface JobStartEvent {
  readonly ue: string;
  readonly requestId: string;
  readonly jobId: string;
  /** Jobs of this worker running now, this one included. */
  readonly running: number;
}

/** A tail job that ended: its result (or error) is published, its slot given back. */
export interface JobEndEvent {
  readonly ue: string;
  readonly requestId: string;
  readonly jobId: string;
  readonly ok: boolean;
  /** Why it failed, when `ok` is false. */
  readonly error?: Error;
}

/**
 * Times of each tail job, for metrics: called on the job's path with plain numbers (nothing is
 * allocated for them).
 */
export interface JobTimesObserver {
  /** A job got its unit, this long after the ingress enqueued it (clocks of both machines). */
  queued(ms: number): void;
  /** A job's tail computed in this long. */
  computed(ms: number): void;
}

/** The packing a worker serves by, as `onPacking` reports it. */
export interface PackingReport {
  /** `packingDigest`: equal on two workers exactly when they computed the same packing. */
  readonly digest: string;
  /** UEs the packing gives units to, and online workers (this one included). */
  readonly ues: number;
  readonly workers: number;
  /** UEs this worker has a share of, and the sum of its shares. */
  readonly served: number;
  readonly units: number;
}
