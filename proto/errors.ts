/** Error codes carried on `ue/{ue}/error` and by thrown errors; one table maps each to its text. */
export const ErrorCodes = {
  INVALID_PAYLOAD: 'payload failed validation',
  UNDECODABLE: 'payload is not valid msgpack',
  PAYLOAD_TOO_LARGE: 'payload exceeds the size limit',
  INVALID_TOPIC: 'topic is not an edgesplit topic',
  INVALID_INSTANCE: 'instance failed validation',
  NO_UNITS: 'this UE has no edge units (no decision, or a decision of 0 units)',
  QUEUE_FULL: "this UE's waiting requests are at their bound",
  UNAVAILABLE: 'the queue (Redis) is unavailable',
  EXPIRED: 'the request waited in the queue longer than its life',
  EPOCH_AHEAD: "the request's epoch is ahead of the scheduler's latest decision for this UE",
  PROBE_RATE_LIMITED: 'link probes over the rate limit',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * Codes that say "not now" rather than "never": the request was not queued (or may not have
 * been), and the same request (same requestId) may be sent again after a pause; a duplicate
 * that did get queued is recognised by its id and costs nothing. Every other code is final.
 */
export const RETRYABLE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set([
  'NO_UNITS',
  'QUEUE_FULL',
  'UNAVAILABLE',
  // The ingress may not have seen the decision the UE acts on yet: a resend shortly after is
  // taken; an epoch that stays ahead (a bogus one) fails once the agent's retries run out.
  'EPOCH_AHEAD',
]);

/** Whether a request refused with `code` may be sent again (same requestId) after a pause. */
export function isRetryableError(code: ErrorCode): boolean {
  return RETRYABLE_ERROR_CODES.has(code);
}

/** Base class of every error this package throws on purpose. */
export class EdgesplitError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgesplitError';
    this.code = code;
  }
}

/** Input that failed validation; `issues` name the field and say why, one line each. */
export class ValidationError extends EdgesplitError {
  readonly issues: readonly string[];
  constructor(code: ErrorCode, issues: readonly string[], options?: { cause?: unknown }) {
    super(code, `${ErrorCodes[code]}: ${issues.join('; ')}`, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** A topic that is not one of ours, or carries an invalid id. */
export class TopicError extends EdgesplitError {
  readonly topic: string;
  constructor(topic: string, reason: string) {
    super(
      'INVALID_TOPIC',
      `${ErrorCodes.INVALID_TOPIC}: ${JSON.stringify(topic.slice(0, 200))}: ${reason}`,
    );
    this.name = 'TopicError';
    this.topic = topic;
  }
}
