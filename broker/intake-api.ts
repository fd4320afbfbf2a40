/**
 * What the ingress offers: `InferIntake`, the part both front ends share, and `Ingress`, a
 * running front end; with the counters both report.
 */

/** Counters since the ingress started. */
export interface IngressStats {
  /** Requests enqueued as new jobs. */
  readonly accepted: number;
  /** Tensor bytes of the requests enqueued as new jobs. */
  readonly storedBytes: number;
  /** Requests whose job already existed (a QoS 1 redelivery or a resend): nothing enqueued. */
  readonly duplicates: number;
  /** Duplicates of finished requests answered again from the kept answer. */
  readonly answeredAgain: number;
  /** Invalid requests, answered with an `error` message. */
  readonly rejected: number;
  /** Requests of a UE without units, answered with `NO_UNITS`. */
  readonly noUnits: number;
  /** Requests beyond their UE's backlog bound, answered with `QUEUE_FULL`. */
  readonly queueFull: number;
  /** Valid requests that Redis failed to store or enqueue in time, answered with `UNAVAILABLE`. */
  readonly failed: number;
  /** Jobs removed unstarted after their life, their UEs told with `EXPIRED`. */
  readonly expired: number;
  /** Requests being stored right now. */
  readonly inFlight: number;
  /** Per-UE Queue objects open. */
  readonly openQueues: number;
  /** UEs whose decision (units) the ingress knows. */
  readonly decisions: number;
}

/** A running ingress, whichever way its messages arrive. */
export interface Ingress {
  /** Stops taking requests, finishes those in flight, and disconnects. Safe to call twice. */
  close(): Promise<void>;
  stats(): IngressStats;
  /** Whether it is connected to the broker (always, inside it) and to Redis now. */
  connected(): { readonly mqtt: boolean; readonly redis: boolean };
}

/** Publishes an answer (QoS 1, not retained) to a UE; failures are the publisher's to log. */
export type AnswerPublisher = (topic: string, payload: Buffer) => void;

/** The front-end-independent ingress: one `take` per received message. */
export interface InferIntake {
  /**
   * Handles one message to its end: the request is stored and its job added, or an answer (an
   * error, or the kept answer of a finished duplicate) has been handed to `publish`. Never
   * rejects; settles within about `redisTimeoutMs`. Acknowledge the message only after it.
   */
  take(topic: string, payload: Buffer): Promise<void>;
  /** Takes a message of a `ue/{ue}/decision` (units, epoch) or `ue/{ue}/profile` (batch) topic. */
  observe(topic: string, payload: Buffer): void;
  /** Removes expired and old jobs now (tests; it also runs on its own). */
  sweep(): Promise<void>;
  /** Requests being handled right now. */
  readonly inFlight: number;
  stats(): IngressStats;
  /** All three Redis connections are ready. */
  redisConnected(): boolean;
  /** Waits for the requests in flight, then closes the queues and Redis. */
  close(): Promise<void>;
}

/** The counters of `IngressStats` the request pipeline keeps. */
export type IntakeCounts = {
  -readonly [K in
    | 'accepted'
    | 'storedBytes'
    | 'duplicates'
    | 'answeredAgain'
    | 'rejected'
    | 'noUnits'
    | 'queueFull'
    | 'failed']: IngressStats[K];
};
