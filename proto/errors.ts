/** Error codes carried on `ue/{ue}/error` and by thrown errors; one table maps each to its text. */
export const ErrorCodes = {
  INVALID_PAYLOAD: 'payload failed validation',
  UNDECODABLE: 'payload is not valid msgpack',
  PAYLOAD_TOO_LARGE: 'payload exceeds the size limit',
  INVALID_TOPIC: 'topic is not an edgesplit topic',
  INVALID_INSTANCE: 'instance failed validation',
  PROBE_RATE_LIMITED: 'link probes over the rate limit',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

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

/** `value` if it is an Error, else an Error whose message is `value` as text. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
