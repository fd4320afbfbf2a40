import { z } from 'zod';
import { ValidationError, WIRE_ERROR_CODES, type WireError } from '../errors.js';

/** Longest `message`, most `issues` and longest issue an error report may carry. */
export const MAX_ERROR_MESSAGE = 4096;
export const MAX_ERROR_ISSUES = 50;
export const MAX_ERROR_ISSUE = 1024;
/** MQTT topics are at most 65,535 bytes [MQTT-4.7.3-3]. */
const MAX_TOPIC_LENGTH = 65_535;
const MAX_REQUEST_ID_LENGTH = 256;

const errorCodes = WIRE_ERROR_CODES;

const boundedString = (max: number) =>
  z.string({ error: 'must be a string' }).max(max, { error: `must be at most ${max} characters` });

/** Payload of `ue/{ue}/error`: why something the UE sent was rejected. */
export const errorReportSchema = z.object(
  {
    code: z.enum(errorCodes, { error: `must be one of ${errorCodes.join(', ')}` }),
    message: boundedString(MAX_ERROR_MESSAGE),
    /** Topic of the rejected message. */
    topic: boundedString(MAX_TOPIC_LENGTH).optional(),
    /** Request id of the rejected message, as received (so it need not be a valid id). */
    requestId: boundedString(MAX_REQUEST_ID_LENGTH).optional(),
    /** One line per bad field, `profile.cuts[3].deviceMs: must be ...`. */
    issues: z
      .array(boundedString(MAX_ERROR_ISSUE), { error: 'must be an array of strings' })
      .max(MAX_ERROR_ISSUES, { error: `must have at most ${MAX_ERROR_ISSUES} issues` }),
  },
  { error: 'must be an object { code, message, topic?, requestId?, issues }' },
);

export type ErrorReport = z.output<typeof errorReportSchema>;

/** What was rejected, for `errorReportFrom`. */
export interface ErrorReportContext {
  /** Topic of the rejected message. */
  topic?: string;
  /** Request id of the rejected message, if it had one. */
  requestId?: string;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** Builds a valid error report from an error we raised, clipping it to the report's limits. */
export function errorReportFrom(error: WireError, context: ErrorReportContext = {}): ErrorReport {
  const issues = error instanceof ValidationError ? error.issues : [];
  const report: ErrorReport = {
    code: error.code,
    message: clip(error.message, MAX_ERROR_MESSAGE),
    issues: issues.slice(0, MAX_ERROR_ISSUES).map((issue) => clip(issue, MAX_ERROR_ISSUE)),
  };
  if (context.topic !== undefined) report.topic = clip(context.topic, MAX_TOPIC_LENGTH);
  if (context.requestId !== undefined)
    report.requestId = clip(context.requestId, MAX_REQUEST_ID_LENGTH);
  return report;
}
