import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  formatPath,
  ID_PATTERN,
  MAX_CUTS,
  MESSAGE_KINDS,
  type Message,
  type MessageKind,
  type Validated,
  ValidationError,
} from '../proto/index.js';
import {
  anyMessage,
  arbitraryOf,
  encodeAny,
  ID_FIELDS,
  keysOf,
  leavesOf,
  NULLABLE,
  OPTIONAL,
  type Path,
  SAMPLES,
  withValueAt,
} from './proto-arbitraries.js';

const SEED = 42;

const CODES = new Set(['UNDECODABLE', 'PAYLOAD_TOO_LARGE', 'INVALID_PAYLOAD']);

/** Decodes, asserting that nothing is thrown and that a failure is a well-formed one. */
function decodeSafely(kind: MessageKind, bytes: Uint8Array): Validated<Message> {
  let result: Validated<Message> | undefined;
  expect(() => {
    result = decodeMessage(kind, bytes);
  }).not.toThrow();
  if (!result) throw new Error('unreachable');
  if (!result.ok) {
    expect(result.error).toBeInstanceOf(ValidationError);
    expect(CODES.has(result.error.code)).toBe(true);
    expect(result.error.issues.length).toBeGreaterThan(0);
  }
  return result;
}

function expectIssueAt(kind: MessageKind, value: unknown, path: readonly PropertyKey[]): void {
  const result = decodeSafely(kind, encodeAny(value));
  const where = formatPath(kind, path);
  if (result.ok) throw new Error(`${where}: accepted ${JSON.stringify(value).slice(0, 300)}`);
  expect(result.error.code).toBe('INVALID_PAYLOAD');
  const named = result.error.issues.some((issue) => issue.startsWith(`${where}:`));
  if (!named) throw new Error(`no issue at ${where}: ${result.error.issues.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------

describe('round trip', () => {
  it.each(MESSAGE_KINDS)('decode(encode(m)) equals m for every valid %s', (kind) => {
    fc.assert(
      fc.property(arbitraryOf(kind), fc.integer({ min: 0, max: 7 }), (message, offset) => {
        const bytes = encodeMessage(message);
        const host = Buffer.alloc(bytes.length + offset);
        host.set(bytes, offset);
        expect(decodeMessage(kind, host.subarray(offset))).toEqual({ ok: true, value: message });
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});

describe('rejection', () => {
  it('random bytes (up to 64 KiB) are rejected without a throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MESSAGE_KINDS),
        fc.uint8Array({ maxLength: 65_536 }),
        (kind, bytes) => {
          expect(decodeSafely(kind, bytes).ok).toBe(false);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('random maps are rejected without a throw', () => {
    const mapLike = fc
      .tuple(fc.integer({ min: 0x80, max: 0x8f }), fc.uint8Array({ maxLength: 4096 }))
      .map(([head, tail]) => Uint8Array.of(head, ...tail));
    fc.assert(
      fc.property(fc.constantFrom(...MESSAGE_KINDS), mapLike, (kind, bytes) => {
        expect(decodeSafely(kind, bytes).ok).toBe(false);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('valid encodings with flipped, inserted or deleted bytes never throw', () => {
    const mutation = fc.tuple(
      fc.constantFrom('flip' as const, 'insert' as const, 'delete' as const),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(
        anyMessage,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        ([kind, m], ops) => {
          const bytes = Array.from(encodeMessage(m));
          for (const [op, where, byte] of ops) {
            const i = where % Math.max(bytes.length, 1);
            if (op === 'flip') bytes[i] = byte;
            else if (op === 'insert') bytes.splice(i, 0, byte);
            else bytes.splice(i, 1);
          }
          decodeSafely(kind, Uint8Array.from(bytes));
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('every proper prefix of a valid encoding is UNDECODABLE', () => {
    for (const kind of MESSAGE_KINDS) {
      const messages = [SAMPLES[kind], ...fc.sample(arbitraryOf(kind), { seed: SEED, numRuns: 2 })];
      for (const message of messages) {
        const bytes = encodeMessage(message);
        for (let end = 0; end < bytes.length; end++) {
          const result = decodeSafely(kind, bytes.subarray(0, end));
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.error.code).toBe('UNDECODABLE');
        }
      }
    }
  });

  it('NaN, ±Infinity and negatives in every numeric field are rejected, naming the field', () => {
    for (const kind of MESSAGE_KINDS) {
      for (const { path, value } of leavesOf(SAMPLES[kind])) {
        if (typeof value !== 'number') continue;
        for (const bad of [
          Number.NaN,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          -1,
          -1e-9,
        ])
          expectIssueAt(kind, withValueAt(SAMPLES[kind], path, bad), path);
      }
    }
  });

  it('wrong types in every field are rejected, naming the field', () => {
    const wrong: Record<string, unknown[]> = {
      number: ['1', true, {}, [], [1], new Float32Array(1)],
      string: [1, true, {}, [], ['a'], new Float32Array(1)],
      // A bin of whole floats is tensor data in its portable form; 15 bytes are not.
      object: [1, 'x', true, [1, 2, 3, 4], new Float64Array(4), Buffer.alloc(15)],
    };
    for (const kind of MESSAGE_KINDS) {
      for (const { path, value } of leavesOf(SAMPLES[kind])) {
        const where = formatPath(kind, path);
        const candidates = [...(wrong[typeof value] ?? []), ...(NULLABLE.has(where) ? [] : [null])];
        for (const bad of candidates)
          expectIssueAt(kind, withValueAt(SAMPLES[kind], path, bad), path);
      }
    }
  });

  it('arbitrary values of another type are rejected, naming the field', () => {
    const leaves = MESSAGE_KINDS.flatMap((kind) =>
      leavesOf(SAMPLES[kind]).map((leaf) => ({ kind, ...leaf })),
    );
    fc.assert(
      fc.property(fc.constantFrom(...leaves), fc.anything(), ({ kind, path, value }, bad) => {
        const where = formatPath(kind, path);
        fc.pre(typeof bad !== typeof value && bad !== undefined);
        fc.pre(!(bad === null && NULLABLE.has(where)));
        expectIssueAt(kind, withValueAt(SAMPLES[kind], path, bad), path);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('a missing required field is rejected, naming the field', () => {
    for (const kind of MESSAGE_KINDS) {
      for (const { parent, key } of keysOf(SAMPLES[kind])) {
        const path = [...parent, key];
        if (OPTIONAL.has(formatPath(kind, path))) continue;
        expectIssueAt(kind, withValueAt(SAMPLES[kind], path, undefined, true), path);
      }
    }
  });

  it('invalid and oversized ids are rejected, naming the field', () => {
    const badId = fc.oneof(
      fc.string({ maxLength: 80 }).filter((s) => !ID_PATTERN.test(s)),
      fc.stringMatching(/^[A-Za-z0-9._-]{65,300}$/),
      fc.constantFrom('', 'a/b', 'a+b', '#', 'a b', 'ü', 'x'.repeat(10_000)),
    );
    fc.assert(
      fc.property(fc.constantFrom(...ID_FIELDS), badId, ({ kind, path }, bad) => {
        expectIssueAt(kind, withValueAt(SAMPLES[kind], path, bad), path);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('more than 10,000 cuts are rejected; exactly 10,000 are accepted', () => {
    const cuts = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `c${i}`, deviceMs: i, bytes: 1 }));
    const profile = SAMPLES.profile;
    expect(decodeMessage('profile', encodeAny({ ...profile, cuts: cuts(MAX_CUTS) })).ok).toBe(true);
    expectIssueAt('profile', { ...profile, cuts: cuts(MAX_CUTS + 1) }, ['cuts']);
    expectIssueAt('profile', { ...profile, cuts: cuts(200_000) }, ['cuts']);
    const edgeMs = (n: number) => Array.from({ length: n }, (_, i) => n - 1 - i);
    const edge = SAMPLES.edgeStatus;
    const models = (n: number) => [{ model: 'm', edgeMs: edgeMs(n) }];
    expect(decodeMessage('edgeStatus', encodeAny({ ...edge, models: models(MAX_CUTS) })).ok).toBe(
      true,
    );
    expectIssueAt('edgeStatus', { ...edge, models: models(MAX_CUTS + 1) }, ['models', 0, 'edgeMs']);
  });

  it('oversized strings are rejected, naming the field', () => {
    const cases: [MessageKind, Path][] = [
      ['status', ['agentVersion']],
      ['decision', ['solver']],
      ['decision', ['cutName']],
      ['profile', ['cuts', 1, 'name']],
      ['error', ['message']],
      ['error', ['issues', 0]],
      ['error', ['requestId']],
      ['schedulerStatus', ['solver']],
    ];
    for (const [kind, path] of cases)
      expectIssueAt(kind, withValueAt(SAMPLES[kind], path, 'x'.repeat(70_000)), path);
    const issues = Array.from({ length: 51 }, () => 'x');
    expectIssueAt('error', withValueAt(SAMPLES.error, ['issues'], issues), ['issues']);
  });
});
