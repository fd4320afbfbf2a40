/**
 * The one table of error codes and the base of every error edgesplit throws on purpose
 * (docs/architecture.md, "Errors"). A code is either a wire code, carried on `ue/{ue}/error`
 * (docs/protocol.md) as well as by thrown errors, or a process code, carried by thrown errors
 * only and never sent.
 */

interface CodeEntry {
  /** What the code means, for a person. */
  readonly text: string;
  /** Whether the code goes on the wire (`ue/{ue}/error`). */
  readonly wire: boolean;
  /** For wire codes: whether the same request may be sent again after a pause. */
  readonly retryable?: true;
}

/**
 * Every error code, each with its text. Wire codes are "not now" (`retryable`) or final;
 * process codes name what the operator or the caller must fix.
 */
export const ErrorCodes = {
  // Wire codes: an error report on ue/{ue}/error carries one of these.
  INVALID_PAYLOAD: { wire: true, text: 'payload failed validation' },
  UNDECODABLE: { wire: true, text: 'payload is not valid msgpack' },
  PAYLOAD_TOO_LARGE: { wire: true, text: 'payload exceeds the size limit' },
  INVALID_TOPIC: { wire: true, text: 'topic is not an edgesplit topic' },
  INVALID_INSTANCE: { wire: true, text: 'instance failed validation' },
  NO_UNITS: {
    wire: true,
    retryable: true,
    text: 'this UE has no edge units (no decision, or a decision of 0 units)',
  },
  QUEUE_FULL: {
    wire: true,
    retryable: true,
    text: "this UE's waiting requests are at their bound",
  },
  UNAVAILABLE: { wire: true, retryable: true, text: 'the queue (Redis) is unavailable' },
  EXPIRED: { wire: true, text: 'the request waited in the queue longer than its life' },
  // The ingress may not have seen the decision the UE acts on yet: a resend shortly after is
  // taken; an epoch that stays ahead (a bogus one) fails once the agent's retries run out.
  EPOCH_AHEAD: {
    wire: true,
    retryable: true,
    text: "the request's epoch is ahead of the scheduler's latest decision for this UE",
  },
  PROBE_RATE_LIMITED: { wire: true, text: 'link probes over the rate limit' },
  TENSOR_MISSING: {
    wire: true,
    text: "the request's tensor was no longer stored when an edge worker took its job",
  },
  TAIL_FAILED: { wire: true, text: "the edge could not run the request's tail" },

  // Process codes: thrown, logged, turned into an exit code; never sent.
  INVALID_OPTION: { wire: false, text: 'an option, flag or environment variable cannot be used' },
  INVALID_PROFILE: { wire: false, text: 'a profile file cannot be used' },
  INVALID_SCENARIO: { wire: false, text: 'a scenario cannot be used' },
  INVALID_TRACE: { wire: false, text: 'a bandwidth trace cannot be used' },
  INVALID_CREDENTIALS: {
    wire: false,
    text: 'a credentials file, token list or password hash cannot be used',
  },
  UNKNOWN_MODEL: { wire: false, text: 'the model is not in the zoo' },
  MODEL_SHAPE: { wire: false, text: "a model's layers do not fit together" },
  MODEL_IMPORT: { wire: false, text: 'a file cannot be imported as a splittable model' },
  SEGMENT_UNRUNNABLE: { wire: false, text: 'an executor cannot run the segment' },
  NO_DECISION: { wire: false, text: 'no decision arrived within the wait' },
  AGENT_STOPPED: { wire: false, text: 'the agent was stopped' },
  TRANSPORT_FAILED: { wire: false, text: 'a publish or a Redis step of the scheduler failed' },
  LISTEN_FAILED: { wire: false, text: 'a listener could not be opened' },
  AEDES_INTERNALS: { wire: false, text: "aedes lacks an internal the broker's flow control needs" },
  LOGIN_QUEUE_FULL: { wire: false, text: 'too many password checks are waiting' },
  LAB_UNAVAILABLE: { wire: false, text: 'the lab cannot run on this machine' },
  NO_REDIS_SERVER: { wire: false, text: 'no Redis URL and no redis-server to start' },
  NO_MOSQUITTO: { wire: false, text: 'no mosquitto on PATH to start a second broker' },
  MISSING_VALUE: { wire: false, text: 'a value an invariant promises is missing' },
} as const satisfies Record<string, CodeEntry>;

export type ErrorCode = keyof typeof ErrorCodes;

/** The codes an error report on the wire may carry. */
export type WireErrorCode = {
  [C in ErrorCode]: (typeof ErrorCodes)[C]['wire'] extends true ? C : never;
}[ErrorCode];

const entries = Object.entries(ErrorCodes) as [ErrorCode, CodeEntry][];

/** Every wire code, in the table's order (the `code` enum of an error report). */
export const WIRE_ERROR_CODES = entries.filter(([, entry]) => entry.wire).map(([code]) => code) as [
  WireErrorCode,
  ...WireErrorCode[],
];

/** Whether `code` is a wire code. */
export function isWireErrorCode(code: string): code is WireErrorCode {
  return (WIRE_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Codes that say "not now" rather than "never": the request was not queued (or may not have
 * been), and the same request (same requestId) may be sent again after a pause; a duplicate
 * that did get queued is recognised by its id and costs nothing. Every other code is final.
 */
export const RETRYABLE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(
  entries.filter(([, entry]) => entry.retryable === true).map(([code]) => code),
);

/** Whether a request refused with `code` may be sent again (same requestId) after a pause. */
export function isRetryableError(code: ErrorCode): boolean {
  return RETRYABLE_ERROR_CODES.has(code);
}

/** `cause` as ES2022's `ErrorOptions` has it. */
export interface ErrorOptions {
  readonly cause?: unknown;
}

/**
 * Base class of every error this package throws on purpose: `code` is one of `ErrorCodes`, and
 * `cause`, when given, is the error it stands for.
 */
export class EdgesplitError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EdgesplitError';
    this.code = code;
  }
}

/** An error whose code may go on the wire (what an error report is built from). */
export type WireError = EdgesplitError<WireErrorCode>;

/** Whether `error` is one of ours with a wire code. */
export function isWireError(error: unknown): error is WireError {
  return error instanceof EdgesplitError && isWireErrorCode(error.code);
}

/** Input that failed validation; `issues` name the field and say why, one line each. */
export class ValidationError extends EdgesplitError<WireErrorCode> {
  readonly issues: readonly string[];
  constructor(code: WireErrorCode, issues: readonly string[], options?: ErrorOptions) {
    super(code, `${ErrorCodes[code].text}: ${issues.join('; ')}`, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** A topic that is not one of ours, or carries an invalid id. */
export class TopicError extends EdgesplitError<'INVALID_TOPIC'> {
  readonly topic: string;
  constructor(topic: string, reason: string, options?: ErrorOptions) {
    super(
      'INVALID_TOPIC',
      `${ErrorCodes.INVALID_TOPIC.text}: ${JSON.stringify(topic.slice(0, 200))}: ${reason}`,
      options,
    );
    this.name = 'TopicError';
    this.topic = topic;
  }
}

/**
 * An option, flag, environment variable or other input given by whoever starts a process that
 * cannot be used; a command exits 2 with its message. `option` names it, when one does.
 */
export class OptionError extends EdgesplitError<'INVALID_OPTION'> {
  readonly option: string | undefined;
  constructor(message: string, options?: ErrorOptions & { readonly option?: string }) {
    super('INVALID_OPTION', message, options);
    this.name = 'OptionError';
    this.option = options?.option;
  }
}
