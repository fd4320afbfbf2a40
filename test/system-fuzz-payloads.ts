/**
 * Invalid payloads for the UE input topics, generated with fast-check: random bytes, truncated
 * and corrupted msgpack, valid msgpack of the wrong shape, NaN, infinite and negative numbers in
 * otherwise valid messages, giant arrays, oversize ids and strings, nesting too deep.
 */
import fc from 'fast-check';
import { MAX_CUTS, type MessageKind } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import {
  arbitraries,
  arbitraryOf,
  encodeAny,
  leavesOf,
  type Path,
  withValueAt,
} from './proto-arbitraries.js';

/** The UE topics the system consumes. */
export const FUZZED_CHANNELS = ['status', 'profile', 'link', 'infer'] as const;
export type FuzzedChannel = (typeof FUZZED_CHANNELS)[number];

/** One generated payload and the family it comes from. */
export interface FuzzPayload {
  readonly family: string;
  readonly bytes: Buffer;
}

const BAD_NUMBERS = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1,
  -1e-9,
  -1e300,
];

/** Encodes anything; undefined when msgpackr cannot. */
function tryEncode(value: unknown): Buffer | undefined {
  try {
    return Buffer.from(encodeAny(value));
  } catch {
    return undefined;
  }
}

function encoded(value: unknown): Buffer {
  return Buffer.from(encodeAny(value));
}

const base = (channel: FuzzedChannel): fc.Arbitrary<unknown> => arbitraryOf(channel);

/** `depth` nested one-element arrays around 1 (deeper than the decoder's limit of 32). */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** A copy of `message` with the value at `path` replaced. */
const replaced = (message: unknown, path: Path, value: unknown) =>
  withValueAt(message, path, value);

/** Numeric leaves of a message (typed arrays are leaves too, but not numbers). */
function numericPaths(message: unknown): Path[] {
  return leavesOf(message)
    .filter((leaf) => typeof leaf.value === 'number')
    .map((leaf) => leaf.path);
}

/** Field paths of each channel, for wrong types and oversize strings. */
const FIELDS: Record<FuzzedChannel, Path[]> = {
  status: [['state'], ['agentVersion'], ['at']],
  profile: [['model'], ['batch'], ['resultBytes'], ['cuts'], ['cuts', 0], ['cuts', 1, 'name']],
  link: [['uplinkMbps'], ['rttMs'], ['measuredAt']],
  infer: [['requestId'], ['epoch'], ['model'], ['cut'], ['tensor'], ['tensor', 'data']],
};

/** String fields where a 65+ character (or far longer) value is invalid. */
const LONG_STRING_FIELDS: Record<FuzzedChannel, Path[]> = {
  status: [['agentVersion']],
  profile: [['model'], ['cuts', 0, 'name']],
  link: [['uplinkMbps']],
  infer: [['requestId'], ['model']],
};

/** Another kind's valid message: the right codec, the wrong schema. */
const OTHER_KIND: Record<FuzzedChannel, MessageKind[]> = {
  status: ['link', 'decision', 'edgeStatus'],
  profile: ['status', 'link', 'edgeStatus'],
  link: ['status', 'decision', 'schedulerStatus'],
  infer: ['result', 'profile', 'link'],
};

function randomBytes(): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ minLength: 1, maxLength: 4096 }).map((bytes) => Buffer.from(bytes));
}

/** A fixmap header then random bytes: passes the "is a map" check, then fails deeper. */
function mapLike(): fc.Arbitrary<Buffer> {
  return fc
    .tuple(fc.integer({ min: 0x81, max: 0x8f }), fc.uint8Array({ maxLength: 2048 }))
    .map(([head, tail]) => Buffer.from([head, ...tail]));
}

function truncated(channel: FuzzedChannel): fc.Arbitrary<Buffer> {
  return fc.tuple(base(channel), fc.nat()).map(([message, at]) => {
    const bytes = encoded(message);
    return Buffer.from(bytes.subarray(0, 1 + (at % (bytes.length - 1))));
  });
}

function corrupted(channel: FuzzedChannel): fc.Arbitrary<Buffer> {
  const edit = fc.tuple(fc.constantFrom('flip', 'insert', 'delete'), fc.nat(), fc.nat(255));
  return fc
    .tuple(base(channel), fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([message, edits]) => {
      const bytes = Array.from(encoded(message));
      for (const [op, where, byte] of edits) {
        const i = where % bytes.length;
        if (op === 'flip') bytes[i] = byte;
        else if (op === 'insert') bytes.splice(i, 0, byte);
        else if (bytes.length > 1) bytes.splice(i, 1);
      }
      return Buffer.from(bytes);
    });
}

function wrongShape(channel: FuzzedChannel): fc.Arbitrary<Buffer> {
  const anything = fc
    .anything({ maxDepth: 3, maxKeys: 6, withTypedArray: true })
    .map(tryEncode)
    .filter((bytes): bytes is Buffer => bytes !== undefined && bytes.length > 0);
  const otherKind = fc
    .constantFrom(...OTHER_KIND[channel])
    .chain((kind) => arbitraryOf(kind))
    .map(encoded);
  const missing = fc
    .tuple(base(channel), fc.constantFrom(...FIELDS[channel]))
    .map(([message, path]) => encoded(withValueAt(message, path, undefined, true)));
  const wrongType = fc
    .tuple(
      base(channel),
      fc.constantFrom(...FIELDS[channel]),
      fc.constantFrom<unknown>('7', true, null, {}, [1, 2], new Float64Array(4), Buffer.alloc(8)),
    )
    .map(([message, path, value]) => encoded(replaced(message, path, value)));
  return fc.oneof(anything, otherKind, missing, wrongType);
}

function nonFinite(channel: FuzzedChannel): fc.Arbitrary<Buffer> {
  const inFields = fc
    .tuple(base(channel), fc.nat(), fc.constantFrom(...BAD_NUMBERS))
    .map(([message, pick, bad]) => {
      const paths = numericPaths(message);
      const path = defined(paths[pick % paths.length], 'a numeric field of the message');
      return encoded(replaced(message, path, bad));
    });
  if (channel !== 'infer') return inFields;
  // A NaN or infinite element inside an otherwise valid tensor.
  const inTensor = fc
    .tuple(
      fc.integer({ min: 1, max: 64 }),
      fc.nat(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
    )
    .chain(([n, at, bad]) =>
      arbitraries.infer.map((request) => {
        const data = new Float32Array(n);
        data[at % n] = bad;
        return encoded({ ...request, tensor: { dtype: 'float32', shape: [n], data } });
      }),
    );
  return fc.oneof(inFields, inTensor);
}

function giant(channel: FuzzedChannel): fc.Arbitrary<Buffer> {
  const extra = fc.integer({ min: 1, max: 500 });
  switch (channel) {
    case 'profile':
      return fc.tuple(arbitraries.profile, extra).map(([profile, more]) => {
        const cuts = Array.from({ length: MAX_CUTS + more }, (_, i) => ({
          name: `c${i}`,
          deviceMs: i,
          bytes: 4,
        }));
        return encoded({ ...profile, cuts });
      });
    case 'infer':
      return fc.tuple(arbitraries.infer, extra, fc.boolean()).map(([request, more, asShape]) => {
        const numbers = Array.from({ length: MAX_CUTS + more }, (_, i) => i % 7);
        const tensor = asShape
          ? { ...request.tensor, shape: numbers }
          : { ...request.tensor, data: numbers };
        return encoded({ ...request, tensor });
      });
    default:
      return fc
        .tuple(base(channel), fc.constantFrom(...FIELDS[channel]), extra)
        .map(([message, path, more]) =>
          encoded(
            replaced(
              message,
              path,
              Array.from({ length: MAX_CUTS + more }, (_, i) => i),
            ),
          ),
        );
  }
}

function oversizeString(channel: FuzzedChannel): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      base(channel),
      fc.constantFrom(...LONG_STRING_FIELDS[channel]),
      fc.oneof(fc.integer({ min: 65, max: 300 }), fc.integer({ min: 10_000, max: 70_000 })),
    )
    .map(([message, path, length]) => encoded(replaced(message, path, 'x'.repeat(length))));
}

function tooDeep(channel: FuzzedChannel): fc.Arbitrary<Buffer> {
  return fc
    .tuple(base(channel), fc.constantFrom(...FIELDS[channel]), fc.integer({ min: 33, max: 200 }))
    .map(([message, path, depth]) => encoded(replaced(message, path, nested(depth))));
}

/** Every family, weighted: cheap garbage mostly, a few large payloads. */
function fuzzArbitrary(channel: FuzzedChannel): fc.Arbitrary<FuzzPayload> {
  const family = (name: string, weight: number, arbitrary: fc.Arbitrary<Buffer>) => ({
    weight,
    arbitrary: arbitrary.map((bytes): FuzzPayload => ({ family: name, bytes })),
  });
  return fc.oneof(
    family('random bytes', 20, randomBytes()),
    family('map-like garbage', 10, mapLike()),
    family('truncated msgpack', 15, truncated(channel)),
    family('corrupted msgpack', 15, corrupted(channel)),
    family('wrong shape', 16, wrongShape(channel)),
    family('NaN, infinite or negative', 16, nonFinite(channel)),
    family('oversize string', 5, oversizeString(channel)),
    family('nested too deep', 2, tooDeep(channel)),
    family('giant array', 1, giant(channel)),
  );
}

/**
 * `count` payloads for `channel`, deterministic for a seed, each one that `isInvalid` says the
 * system must reject (a corruption that happens to leave a valid message is drawn again).
 */
export function fuzzPayloads(
  channel: FuzzedChannel,
  count: number,
  seed: number,
  isInvalid: (bytes: Buffer) => boolean,
): FuzzPayload[] {
  const arbitrary = fuzzArbitrary(channel).filter((payload) => isInvalid(payload.bytes));
  return fc.sample(arbitrary, { seed, numRuns: count });
}

/**
 * Payload sizes above `limit`: two just above it (refused by the broker's publish check), two
 * far above (cut off by its frame guard as soon as the packet header announces them).
 */
export function oversizeSizes(limit: number): number[] {
  return [limit + 1, limit + 4096, 2 * limit, 2 * limit + 12_345];
}
