import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allTopicsFilter,
  assertTopicPrefix,
  DEFAULT_TOPIC_PREFIX,
  edgeStatusFilter,
  edgeStatusTopic,
  formatTopic,
  ID_PATTERN,
  messageKindOf,
  type ParsedTopic,
  parseTopic,
  RETAINED,
  schedulerStatusTopic,
  TopicError,
  tryParseTopic,
  UE_CHANNELS,
  ueChannelFilter,
  ueSubtreeFilter,
  ueTopic,
} from '../proto/index.js';

const P = DEFAULT_TOPIC_PREFIX;

const idArb = fc.stringMatching(ID_PATTERN);
const levelArb = fc.stringMatching(/^[a-z0-9_.-]{1,12}$/);
const prefixArb = fc.array(levelArb, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
const parsedArb: fc.Arbitrary<ParsedTopic> = fc.oneof(
  fc.record({
    kind: fc.constant('ue' as const),
    ue: idArb,
    channel: fc.constantFrom(...UE_CHANNELS),
  }),
  fc.record({
    kind: fc.constant('edge' as const),
    worker: idArb,
    channel: fc.constant('status' as const),
  }),
  fc.constant<ParsedTopic>({ kind: 'scheduler', channel: 'status' }),
);

function expectTopicError(fn: () => unknown): TopicError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TopicError);
    return error as TopicError;
  }
  throw new Error('expected a TopicError');
}

describe('topic builders', () => {
  it('build the topics of docs/protocol.md under the default prefix', () => {
    expect(ueTopic(P, 'cam-01', 'profile')).toBe('edgesplit/v1/ue/cam-01/profile');
    expect(ueTopic(P, 'cam-01', 'infer')).toBe('edgesplit/v1/ue/cam-01/infer');
    expect(edgeStatusTopic(P, 'edge-a.1')).toBe('edgesplit/v1/edge/edge-a.1/status');
    expect(schedulerStatusTopic(P)).toBe('edgesplit/v1/scheduler/status');
  });

  it('build wildcard filters', () => {
    expect(ueChannelFilter(P, 'infer')).toBe('edgesplit/v1/ue/+/infer');
    expect(edgeStatusFilter(P)).toBe('edgesplit/v1/edge/+/status');
    expect(ueSubtreeFilter('site/a', 'cam_7')).toBe('site/a/ue/cam_7/#');
    expect(allTopicsFilter(P)).toBe('edgesplit/v1/#');
  });

  it('reject invalid ids with a TopicError', () => {
    for (const bad of ['', 'a/b', 'a+b', '#', 'a b', 'ü', 'x'.repeat(65)]) {
      expectTopicError(() => ueTopic(P, bad, 'status'));
      expectTopicError(() => edgeStatusTopic(P, bad));
      expectTopicError(() => ueSubtreeFilter(P, bad));
    }
    expect(ueTopic(P, 'x'.repeat(64), 'status')).toContain('x'.repeat(64));
  });

  it('reject an unknown channel even when the type is bypassed', () => {
    const channel = 'secrets' as (typeof UE_CHANNELS)[number];
    expectTopicError(() => ueTopic(P, 'cam', channel));
    expectTopicError(() => ueChannelFilter(P, channel));
  });

  it('validate the prefix', () => {
    for (const bad of ['', '/a', 'a/', 'a//b', 'a/+/b', 'a/#', '+', '$SYS/x', 'a\u0000b']) {
      const error = expectTopicError(() => assertTopicPrefix(bad));
      expect(error.code).toBe('INVALID_TOPIC');
      expectTopicError(() => schedulerStatusTopic(bad));
      expectTopicError(() => parseTopic(bad, `${bad}/scheduler/status`));
      expect(tryParseTopic(bad, 'a/scheduler/status').ok).toBe(false);
    }
    expect(() => assertTopicPrefix('a/b-c/d.e')).not.toThrow();
  });
});

describe('parseTopic', () => {
  it('inverts the builders (round trip, any prefix)', () => {
    fc.assert(
      fc.property(prefixArb, parsedArb, (prefix, parsed) => {
        const topic = formatTopic(prefix, parsed);
        expect(parseTopic(prefix, topic)).toEqual(parsed);
        expect(tryParseTopic(prefix, topic)).toEqual({ ok: true, value: parsed });
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('parses each kind', () => {
    expect(parseTopic(P, 'edgesplit/v1/ue/cam-01/decision')).toEqual({
      kind: 'ue',
      ue: 'cam-01',
      channel: 'decision',
    });
    expect(parseTopic(P, 'edgesplit/v1/edge/w1/status')).toEqual({
      kind: 'edge',
      worker: 'w1',
      channel: 'status',
    });
    expect(parseTopic(P, 'edgesplit/v1/scheduler/status')).toEqual({
      kind: 'scheduler',
      channel: 'status',
    });
  });

  it.each([
    ['another prefix', 'other/v1/ue/cam/status'],
    ['a prefix that only shares characters', 'edgesplit/v10/ue/cam/status'],
    ['the bare prefix', 'edgesplit/v1'],
    ['the prefix and a slash', 'edgesplit/v1/'],
    ['an unknown root', 'edgesplit/v1/admin/cam/status'],
    ['an unknown UE channel', 'edgesplit/v1/ue/cam/secrets'],
    ['an unknown edge channel', 'edgesplit/v1/edge/w1/profile'],
    ['a missing channel', 'edgesplit/v1/ue/cam'],
    ['a trailing slash', 'edgesplit/v1/ue/cam/status/'],
    ['extra levels', 'edgesplit/v1/ue/cam/status/more'],
    ['extra scheduler levels', 'edgesplit/v1/scheduler/status/x'],
    ['a wrong scheduler channel', 'edgesplit/v1/scheduler/decision'],
    ['an empty id', 'edgesplit/v1/ue//status'],
    ['a wildcard id', 'edgesplit/v1/ue/+/status'],
    ['a multi-level wildcard', 'edgesplit/v1/ue/#'],
    ['an id with a space', 'edgesplit/v1/edge/w 1/status'],
    ['an id of 65 characters', `edgesplit/v1/ue/${'a'.repeat(65)}/status`],
    ['a non-ASCII id', 'edgesplit/v1/ue/caméra/status'],
  ])('rejects %s', (_, topic) => {
    const error = expectTopicError(() => parseTopic(P, topic));
    expect(error.code).toBe('INVALID_TOPIC');
    expect(error.topic).toBe(topic);
    const result = tryParseTopic(P, topic);
    expect(result.ok).toBe(false);
  });

  it('never throws from tryParseTopic, whatever the string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (tail) => {
        const result = tryParseTopic(P, `${P}/${tail}`);
        if (result.ok) expect(formatTopic(P, result.value)).toBe(`${P}/${tail}`);
        else expect(result.error).toBeInstanceOf(TopicError);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('maps topics to message kinds and retain flags', () => {
    expect(messageKindOf(parseTopic(P, `${P}/ue/a/infer`))).toBe('infer');
    expect(messageKindOf(parseTopic(P, `${P}/ue/a/status`))).toBe('status');
    expect(messageKindOf(parseTopic(P, `${P}/edge/w/status`))).toBe('edgeStatus');
    expect(messageKindOf(parseTopic(P, `${P}/scheduler/status`))).toBe('schedulerStatus');
    expect(RETAINED.decision).toBe(true);
    expect(RETAINED.infer).toBe(false);
  });
});
