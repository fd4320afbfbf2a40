/**
 * Who may publish and read which topic (docs/security.md), as pure functions over
 * topic strings. Rules are patterns of topic levels relative to the topic prefix; a pattern level
 * is a literal or `ANY_ID`, one level holding an id.
 */
import { isValidId, messageKindOf, RETAINED, tryParseTopic } from '../proto/index.js';

/** The roles a credential can carry. */
export const ROLES = ['ue', 'scheduler', 'ingress', 'edge', 'observer'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * An authenticated client. A UE's identity is the UE id of its credential, never its MQTT client
 * id; an edge worker's id is its username.
 */
export type Identity =
  | { readonly role: 'ue'; readonly username: string; readonly ue: string }
  | { readonly role: Exclude<Role, 'ue'>; readonly username: string };

/** One topic level of a rule: a literal, or any single level (an id when publishing). */
const ANY_ID = Symbol('any id');
type RuleLevel = string | typeof ANY_ID;
type Rule = readonly RuleLevel[];

/** What one identity may do, compiled once per connection. */
export interface AccessRules {
  readonly identity: Identity;
  readonly publish: readonly Rule[];
  /** `'all'` for the observer; otherwise the topics it may receive. */
  readonly read: readonly Rule[] | 'all';
  readonly prefix: string;
}

function under(prefix: string, rules: readonly Rule[]): Rule[] {
  const head = prefix.split('/');
  return rules.map((rule) => [...head, ...rule]);
}

const ue = (id: RuleLevel, ...channels: string[]): Rule[] =>
  channels.map((channel) => ['ue', id, channel]);

/**
 * Compiles the rules of `identity`. The scheduler also reads decisions and `scheduler/status`:
 * after a restart it continues above the highest epoch found there (docs/live-system.md).
 */
export function accessRules(identity: Identity, prefix: string): AccessRules {
  const make = (publish: Rule[], read: Rule[] | 'all'): AccessRules => ({
    identity,
    prefix,
    publish: under(prefix, publish),
    read: read === 'all' ? 'all' : under(prefix, read),
  });
  switch (identity.role) {
    case 'ue':
      return make(
        ue(identity.ue, 'status', 'profile', 'link', 'infer', 'probe', 'stats'),
        ue(identity.ue, 'decision', 'result', 'error'),
      );
    case 'scheduler':
      return make(
        [...ue(ANY_ID, 'decision', 'error'), ['scheduler', 'status']],
        [
          ...ue(ANY_ID, 'status', 'profile', 'link', 'decision'),
          ['edge', ANY_ID, 'status'],
          ['scheduler', 'status'],
        ],
      );
    case 'ingress':
      // 'result' too: a resend of a finished request is answered again from the kept answer.
      // 'decision' and 'profile' to read: a UE without units, or a sample beyond its batch, gets
      // an error instead of a queued job.
      return make(ue(ANY_ID, 'result', 'error'), ue(ANY_ID, 'infer', 'decision', 'profile'));
    case 'edge':
      return make(
        [['edge', identity.username, 'status'], ...ue(ANY_ID, 'result', 'error')],
        [...ue(ANY_ID, 'decision'), ['edge', ANY_ID, 'status']],
      );
    case 'observer':
      return make([], 'all');
  }
}

function matchesTopic(rule: Rule, levels: readonly string[], idsOnly: boolean): boolean {
  if (rule.length !== levels.length) return false;
  return rule.every((expected, i) => {
    const level = levels[i];
    if (level === undefined) return false;
    if (expected === ANY_ID) return !idsOnly || isValidId(level);
    return expected === level;
  });
}

/** Whether `rules` allow publishing on `topic` (a topic name, no wildcards [MQTT-3.3.2-2]). */
export function canPublish(rules: AccessRules, topic: string): boolean {
  if (topic.includes('+') || topic.includes('#')) return false;
  const levels = topic.split('/');
  return rules.publish.some((rule) => matchesTopic(rule, levels, true));
}

/** Whether a message on `topic` may be delivered to the holder of `rules`. */
export function canRead(rules: AccessRules, topic: string): boolean {
  if (rules.read === 'all') return true;
  const levels = topic.split('/');
  return rules.read.some((rule) => matchesTopic(rule, levels, false));
}

/**
 * Whether `filter` may be subscribed to: only if every topic it can match is readable. Rules
 * have a fixed depth, so `#` (which matches any depth, and its parent [MQTT-4.7.1-2]) is never
 * covered; `+` is covered only by an any-id level. One rule must cover the whole filter: a `+`
 * level matches names no literal lists, so a union of rules covers a filter only if one does.
 */
export function canSubscribe(rules: AccessRules, filter: string): boolean {
  if (rules.read === 'all') return true;
  const levels = filter.split('/');
  if (levels.includes('#')) return false;
  return rules.read.some(
    (rule) =>
      rule.length === levels.length &&
      rule.every((expected, i) => {
        const level = levels[i];
        if (level === undefined) return false;
        if (level === '+') return expected === ANY_ID;
        return expected === ANY_ID || expected === level;
      }),
  );
}

/**
 * Whether the retain flag is allowed on `topic`: only on the kinds published retained
 * (docs/protocol.md's topic table), so that an `infer` or `result` is never replayed to a late
 * subscriber. An empty payload (clearing a retained message) is allowed anywhere a publish is.
 */
export function canRetain(prefix: string, topic: string): boolean {
  const parsed = tryParseTopic(prefix, topic);
  return parsed.ok && RETAINED[messageKindOf(parsed.value)];
}
