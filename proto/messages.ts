import type { z } from 'zod';
import { fastInferRequest } from './fast-check.js';
import { decisionSchema } from './schemas/decision.js';
import { edgeStatusSchema } from './schemas/edge-status.js';
import { errorReportSchema } from './schemas/error-report.js';
import { inferRequestSchema } from './schemas/infer-request.js';
import { inferResultSchema } from './schemas/infer-result.js';
import { linkEstimateSchema } from './schemas/link.js';
import { profileSchema } from './schemas/profile.js';
import { schedulerStatusSchema } from './schemas/scheduler-status.js';
import { ueStatsSchema } from './schemas/ue-stats.js';
import { ueStatusSchema } from './schemas/ue-status.js';
import type { ParsedTopic } from './topics.js';
import { type Validated, validate } from './validate.js';

/**
 * The schema of every payload, by message kind. A UE channel's kind is the channel's name;
 * the two other `status` topics are `edgeStatus` and `schedulerStatus`. The kind is also the
 * root of every issue path (`profile.cuts[3].deviceMs`).
 */
export const messageSchemas = {
  status: ueStatusSchema,
  profile: profileSchema,
  link: linkEstimateSchema,
  decision: decisionSchema,
  infer: inferRequestSchema,
  result: inferResultSchema,
  error: errorReportSchema,
  stats: ueStatsSchema,
  edgeStatus: edgeStatusSchema,
  schedulerStatus: schedulerStatusSchema,
} as const;

export type MessageKind = keyof typeof messageSchemas;

/** The payload type of each message kind. */
export type MessageMap = { [K in MessageKind]: z.output<(typeof messageSchemas)[K]> };

// The same map, typed so that indexing it with a generic kind keeps the kind's payload type.
const schemaByKind: { [K in MessageKind]: z.ZodType<MessageMap[K]> } = messageSchemas;

/** Any payload of ours. */
export type Message = MessageMap[MessageKind];

export const MESSAGE_KINDS = Object.keys(messageSchemas) as MessageKind[];

export function isMessageKind(value: string): value is MessageKind {
  return Object.hasOwn(messageSchemas, value);
}

/** The kind of payload that travels on a parsed topic. */
export function messageKindOf(topic: ParsedTopic): MessageKind {
  switch (topic.kind) {
    case 'ue':
      return topic.channel;
    case 'edge':
      return 'edgeStatus';
    case 'scheduler':
      return 'schedulerStatus';
  }
}

/**
 * Whether messages of a kind are published retained (docs/protocol.md's topic table): state
 * that a late subscriber or a restarted scheduler must see. Every topic uses QoS 1.
 */
export const RETAINED: Readonly<Record<MessageKind, boolean>> = {
  status: true,
  profile: true,
  link: true,
  decision: true,
  infer: false,
  result: false,
  error: false,
  stats: false,
  edgeStatus: true,
  schedulerStatus: true,
};

/** QoS of every topic of ours. */
export const MESSAGE_QOS = 1;

/** Validates an already-decoded payload of `kind` without throwing. */
export function validateMessage<K extends MessageKind>(
  kind: K,
  input: unknown,
): Validated<MessageMap[K]> {
  // The request path's payload: a plainly valid one skips zod; any other gets zod's error.
  if (kind === 'infer') {
    const fast = fastInferRequest(input);
    if (fast !== undefined) return { ok: true, value: fast as MessageMap[K] };
  }
  return validate(schemaByKind[kind], input, kind);
}
