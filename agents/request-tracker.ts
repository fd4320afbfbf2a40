import type { InferRequest, InferResult } from '../proto/index.js';

/** How one request ended: its result, or why it has none. */
export type RequestOutcome =
  | { readonly ok: true; readonly result: InferResult; readonly attempts: number }
  | {
      readonly ok: false;
      readonly reason: 'timeout' | 'rejected' | 'cancelled';
      readonly message: string;
      readonly attempts: number;
    };

/** What became of a received result. */
export type ResultDisposition = 'accepted' | 'duplicate' | 'late' | 'unknown';

export interface RequestTrackerOptions {
  /** A request with no result for this long is published again. */
  readonly timeoutMs: number;
  /** Re-publications before the request fails. */
  readonly maxRetries: number;
  /** Publishes the request again, with the same requestId. */
  resend(request: InferRequest): void;
  /**
   * Pause before a request refused with a retryable error (`isRetryableError`) is published
   * again, in ms.
   * @defaultValue the smaller of 1000 and `timeoutMs`
   */
  readonly retryDelayMs?: number;
  /** Called for each re-publication (attempt 2, 3, ...). */
  onRetry?(request: InferRequest, attempt: number): void;
  /**
   * Settled request ids remembered, to tell a duplicate or late result from an unknown one.
   * @defaultValue 10000
   */
  readonly memory?: number;
}

interface Pending {
  readonly request: InferRequest;
  attempts: number;
  timer: NodeJS.Timeout;
  /** The last retryable refusal, if the request was refused. */
  refusal: string | undefined;
  resolve(outcome: RequestOutcome): void;
}

/**
 * Matches results to requests by requestId. Each request has one timer: on expiry it is
 * published again with the same id (the ingress dedups by job id, so this costs at most one
 * tail run), up to `maxRetries` times, then it fails. A retryable refusal (the queue unavailable
 * or full, no units yet) brings the next publication forward to `retryDelayMs`; a final error
 * fails the request at once. A result is accepted once; a second copy
 * is a duplicate, one for a failed request is late, and one for an id never seen is unknown.
 */
export class RequestTracker {
  private readonly pending = new Map<string, Pending>();
  private readonly settled = new Map<string, 'ok' | 'failed'>();
  private readonly memory: number;

  constructor(private readonly options: RequestTrackerOptions) {
    this.memory = options.memory ?? 10_000;
  }

  /** Requests waiting for their result. */
  get size(): number {
    return this.pending.size;
  }

  /** Starts the clock of a request about to be published; resolves when it is settled. */
  track(request: InferRequest): Promise<RequestOutcome> {
    if (this.pending.has(request.requestId) || this.settled.has(request.requestId))
      throw new Error(`request id "${request.requestId}" is already in use`);
    return new Promise((resolve) => {
      const timer = this.arm(request.requestId);
      const entry: Pending = { request, attempts: 1, timer, resolve, refusal: undefined };
      this.pending.set(request.requestId, entry);
    });
  }

  /** Settles the request a result answers, if it is still pending. */
  settleResult(result: InferResult): ResultDisposition {
    const entry = this.pending.get(result.requestId);
    if (entry === undefined) {
      const settled = this.settled.get(result.requestId);
      if (settled === undefined) return 'unknown';
      return settled === 'ok' ? 'duplicate' : 'late';
    }
    this.finish(entry, { ok: true, result, attempts: entry.attempts });
    return 'accepted';
  }

  /**
   * Handles an error report for a pending request: a final one fails it; a `retryable` one has
   * it published again after `retryDelayMs` (an attempt like any other: after `maxRetries` it
   * fails with that error). False if the request was not pending.
   */
  settleError(requestId: string, message: string, retryable = false): boolean {
    const entry = this.pending.get(requestId);
    if (entry === undefined) return false;
    if (!retryable) {
      this.finish(entry, { ok: false, reason: 'rejected', message, attempts: entry.attempts });
      return true;
    }
    entry.refusal = message;
    clearTimeout(entry.timer);
    const delay = this.options.retryDelayMs ?? Math.min(1000, this.options.timeoutMs);
    entry.timer = setTimeout(() => this.expire(requestId), delay);
    return true;
  }

  /** Fails every pending request as cancelled (the agent is stopping). */
  cancelAll(message: string): void {
    for (const entry of [...this.pending.values()])
      this.finish(entry, { ok: false, reason: 'cancelled', message, attempts: entry.attempts });
  }

  private arm(requestId: string): NodeJS.Timeout {
    return setTimeout(() => this.expire(requestId), this.options.timeoutMs);
  }

  private expire(requestId: string): void {
    const entry = this.pending.get(requestId);
    if (entry === undefined) return;
    if (entry.attempts > this.options.maxRetries) {
      const { attempts, refusal } = entry;
      if (refusal !== undefined) {
        const message = `refused ${attempts} times, last: ${refusal}`;
        this.finish(entry, { ok: false, reason: 'rejected', message, attempts });
        return;
      }
      const message = `no result after ${attempts} attempts of ${this.options.timeoutMs} ms`;
      this.finish(entry, { ok: false, reason: 'timeout', message, attempts });
      return;
    }
    entry.attempts += 1;
    entry.refusal = undefined;
    entry.timer = this.arm(requestId);
    this.options.onRetry?.(entry.request, entry.attempts);
    this.options.resend(entry.request);
  }

  private finish(entry: Pending, outcome: RequestOutcome): void {
    clearTimeout(entry.timer);
    this.pending.delete(entry.request.requestId);
    this.settled.set(entry.request.requestId, outcome.ok ? 'ok' : 'failed');
    if (this.settled.size > this.memory) {
      const oldest = this.settled.keys().next();
      if (oldest.done !== true) this.settled.delete(oldest.value);
    }
    entry.resolve(outcome);
  }
}

/** Id of sample `sample` of task `task` in agent run `runId`. */
export function requestIdOf(runId: string, task: number, sample: number): string {
  return `${runId}-${task}-${sample}`;
}
