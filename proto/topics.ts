import { TopicError } from './errors.js';
import { ID_PATTERN } from './schemas/common.js';

/** Prefix every topic lives under unless configured otherwise. */
export const DEFAULT_TOPIC_PREFIX = 'edgesplit/v1';

/** Channels under `ue/{ue}/`, in the order of docs/protocol.md's topic table. */
export const UE_CHANNELS = [
  'status',
  'profile',
  'link',
  'decision',
  'infer',
  'result',
  'error',
  'stats',
] as const;

export type UeChannel = (typeof UE_CHANNELS)[number];

/** A topic of ours, taken apart. */
export type ParsedTopic =
  | { kind: 'ue'; ue: string; channel: UeChannel }
  | { kind: 'edge'; worker: string; channel: 'status' }
  | { kind: 'scheduler'; channel: 'status' };

export type TopicParseResult = { ok: true; value: ParsedTopic } | { ok: false; error: TopicError };

/** MQTT allows 65,535 bytes per topic [MQTT-4.7.3-3]; a prefix this long leaves room for the rest. */
const MAX_PREFIX_LENGTH = 1024;

const UE_CHANNEL_SET: ReadonlySet<string> = new Set(UE_CHANNELS);

export function isUeChannel(value: string): value is UeChannel {
  return UE_CHANNEL_SET.has(value);
}

/**
 * Prefixes found usable: a process has one or a few (configuration), and every topic it builds
 * or parses checks its prefix, so the answer is kept. Bounded: past it, prefixes are checked
 * each time.
 */
const USABLE_PREFIXES = new Set<string>();
const MAX_USABLE_PREFIXES = 64;

/** Why `prefix` cannot prefix our topics, or undefined if it can. */
function prefixProblem(prefix: string): string | undefined {
  if (USABLE_PREFIXES.has(prefix)) return undefined;
  const problem = checkPrefix(prefix);
  if (problem === undefined && USABLE_PREFIXES.size < MAX_USABLE_PREFIXES)
    USABLE_PREFIXES.add(prefix);
  return problem;
}

function checkPrefix(prefix: string): string | undefined {
  if (typeof prefix !== 'string' || prefix === '') return 'prefix must be a non-empty string';
  if (prefix.length > MAX_PREFIX_LENGTH)
    return `prefix must be at most ${MAX_PREFIX_LENGTH} characters`;
  // Wildcards are only legal in filters, never in the topic names we publish [MQTT-4.7.1-1].
  if (prefix.includes('+') || prefix.includes('#'))
    return 'prefix must not contain the wildcards "+" or "#"';
  // U+0000 is forbidden in topic names [MQTT-4.7.3-2].
  if (prefix.includes('\u0000')) return 'prefix must not contain U+0000';
  // Topics starting with "$" are the broker's own and don't match "+"/"#" filters [MQTT-4.7.2-1].
  if (prefix.startsWith('$')) return 'prefix must not start with "$"';
  if (prefix.split('/').some((level) => level === ''))
    return 'prefix must not have empty levels (leading, trailing or double "/")';
  return undefined;
}

/** Throws a TopicError unless `prefix` is usable: non-empty, no wildcards, no empty levels. */
export function assertTopicPrefix(prefix: string): void {
  const problem = prefixProblem(prefix);
  if (problem !== undefined) throw new TopicError(prefix, problem);
}

export function isValidId(id: string): boolean {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

function checkId(topic: string, what: string, id: string): void {
  if (!isValidId(id))
    throw new TopicError(topic, `${what} id must be 1-64 characters of [A-Za-z0-9._-]`);
}

/** `{prefix}/ue/{ueId}/{channel}`; throws TopicError on a bad prefix, id or channel. */
export function ueTopic(prefix: string, ueId: string, channel: UeChannel): string {
  assertTopicPrefix(prefix);
  const topic = `${prefix}/ue/${ueId}/${channel}`;
  checkId(topic, 'UE', ueId);
  if (!isUeChannel(channel)) throw new TopicError(topic, `unknown UE channel "${channel}"`);
  return topic;
}

/**
 * The channel a UE times its uplink on (docs/links-and-lab.md, "Probing"): raw bytes, QoS 1,
 * never retained, read by nobody; the broker acknowledges and discards them. Not one of
 * UE_CHANNELS, whose payloads are messages.
 */
export const PROBE_CHANNEL = 'probe';

/** Largest probe payload a broker accepts. */
export const MAX_PROBE_BYTES = 1024 * 1024;

/** `{prefix}/ue/{ueId}/probe`; throws TopicError on a bad prefix or id. */
export function ueProbeTopic(prefix: string, ueId: string): string {
  assertTopicPrefix(prefix);
  const topic = `${prefix}/ue/${ueId}/${PROBE_CHANNEL}`;
  checkId(topic, 'UE', ueId);
  return topic;
}

/** The UE id if `topic` is a probe topic under `prefix`, else undefined. */
export function probeTopicUe(prefix: string, topic: string): string | undefined {
  const head = `${prefix}/ue/`;
  const tail = `/${PROBE_CHANNEL}`;
  if (!(topic.startsWith(head) && topic.endsWith(tail))) return undefined;
  const ue = topic.slice(head.length, topic.length - tail.length);
  return isValidId(ue) ? ue : undefined;
}

/** `{prefix}/edge/{workerId}/status`; throws TopicError on a bad prefix or id. */
export function edgeStatusTopic(prefix: string, workerId: string): string {
  assertTopicPrefix(prefix);
  const topic = `${prefix}/edge/${workerId}/status`;
  checkId(topic, 'worker', workerId);
  return topic;
}

/** `{prefix}/scheduler/status`. */
export function schedulerStatusTopic(prefix: string): string {
  assertTopicPrefix(prefix);
  return `${prefix}/scheduler/status`;
}

/** Filter for one channel of every UE: `{prefix}/ue/+/{channel}`. */
export function ueChannelFilter(prefix: string, channel: UeChannel): string {
  assertTopicPrefix(prefix);
  const filter = `${prefix}/ue/+/${channel}`;
  if (!isUeChannel(channel)) throw new TopicError(filter, `unknown UE channel "${channel}"`);
  return filter;
}

/** Filter for everything under one UE: `{prefix}/ue/{ueId}/#` (what its ACL is scoped to). */
export function ueSubtreeFilter(prefix: string, ueId: string): string {
  assertTopicPrefix(prefix);
  const filter = `${prefix}/ue/${ueId}/#`;
  checkId(filter, 'UE', ueId);
  return filter;
}

/** Filter for every edge worker's status: `{prefix}/edge/+/status`. */
export function edgeStatusFilter(prefix: string): string {
  assertTopicPrefix(prefix);
  return `${prefix}/edge/+/status`;
}

/** Filter for every topic of ours: `{prefix}/#`. */
export function allTopicsFilter(prefix: string): string {
  assertTopicPrefix(prefix);
  return `${prefix}/#`;
}

/** Takes `topic` apart; the reason it is not ours, as a string, otherwise. */
function parseLevels(levels: readonly string[]): ParsedTopic | string {
  const [root, id, channel, ...extra] = levels;
  if (root === 'scheduler') {
    if (id !== 'status' || channel !== undefined)
      return 'expected scheduler/status after the prefix';
    return { kind: 'scheduler', channel: 'status' };
  }
  if (root !== 'ue' && root !== 'edge')
    return `unknown topic root ${JSON.stringify(root ?? '')} (expected ue, edge or scheduler)`;
  if (id === undefined || channel === undefined) return `expected ${root}/{id}/{channel}`;
  if (extra.length > 0) return `unexpected levels after ${root}/{id}/${channel}`;
  if (!isValidId(id))
    return `${root === 'ue' ? 'UE' : 'worker'} id must be 1-64 characters of [A-Za-z0-9._-]`;
  if (root === 'edge') {
    if (channel !== 'status') return `unknown edge channel ${JSON.stringify(channel)}`;
    return { kind: 'edge', worker: id, channel: 'status' };
  }
  if (!isUeChannel(channel)) return `unknown UE channel ${JSON.stringify(channel)}`;
  return { kind: 'ue', ue: id, channel };
}

/** Like `parseTopic`, but returns the TopicError instead of throwing it. */
export function tryParseTopic(prefix: string, topic: string): TopicParseResult {
  const problem = prefixProblem(prefix);
  if (problem !== undefined) return { ok: false, error: new TopicError(prefix, problem) };
  if (typeof topic !== 'string')
    return { ok: false, error: new TopicError(String(topic), 'topic must be a string') };
  const head = `${prefix}/`;
  if (!topic.startsWith(head))
    return { ok: false, error: new TopicError(topic, `not under the prefix "${prefix}"`) };
  const parsed = parseLevels(topic.slice(head.length).split('/'));
  if (typeof parsed === 'string') return { ok: false, error: new TopicError(topic, parsed) };
  return { ok: true, value: parsed };
}

/**
 * Takes one of our topics apart. Throws TopicError for a foreign topic, an unknown channel,
 * extra levels or an invalid id.
 */
export function parseTopic(prefix: string, topic: string): ParsedTopic {
  const result = tryParseTopic(prefix, topic);
  if (!result.ok) throw result.error;
  return result.value;
}

/** Builds the topic that `parsed` describes: the inverse of `parseTopic`. */
export function formatTopic(prefix: string, parsed: ParsedTopic): string {
  switch (parsed.kind) {
    case 'ue':
      return ueTopic(prefix, parsed.ue, parsed.channel);
    case 'edge':
      return edgeStatusTopic(prefix, parsed.worker);
    case 'scheduler':
      return schedulerStatusTopic(prefix);
  }
}
