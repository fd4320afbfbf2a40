import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  decodeMessage,
  encodeMessage,
  type InferRequest,
  type MessageKind,
  type Profile,
  type UeStatus,
  type Validated,
  ValidationError,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { encodeAny } from './proto-arbitraries.js';

const tensorData = new Float32Array([0.5, -1.25, 3e-8, Number.NaN, -0, 65504]);

const infer: InferRequest = {
  requestId: 'req-0001',
  epoch: 7,
  model: 'mobilenet_v2',
  cut: 3,
  sample: 1,
  tensor: { dtype: 'float32', shape: [1, 2, 3], data: tensorData },
  sentAt: 1_700_000_000_123.5,
};

const status: UeStatus = { state: 'online', agentVersion: '0.1.0', at: 1_700_000_000_000 };

const profile: Profile = {
  model: 'resnet18',
  batch: 4,
  resultBytes: 4000,
  cuts: [
    { name: 'input', deviceMs: 0, bytes: 602112 },
    { name: 'conv1', deviceMs: 12.5, bytes: 802816 },
    { name: 'output', deviceMs: 180, bytes: 4000 },
  ],
};

function failure<T>(result: Validated<T>): ValidationError {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

function expectRejected(kind: MessageKind, bytes: Uint8Array, code: string, issue: string) {
  const error = failure(decodeMessage(kind, bytes));
  expect(error).toBeInstanceOf(ValidationError);
  expect(error.code).toBe(code);
  expect(error.issues.join('\n')).toContain(issue);
  return error;
}

/** Copies `bytes` into a larger buffer at `offset` and returns the view over them. */
function atOffset(bytes: Uint8Array, offset: number): Buffer {
  const host = Buffer.alloc(bytes.length + offset + 3, 0xee);
  host.set(bytes, offset);
  return host.subarray(offset, offset + bytes.length);
}

describe('encodeMessage / decodeMessage', () => {
  it('round-trips a message with a Float32Array tensor', () => {
    const result = decodeMessage('infer', encodeMessage(infer));
    expect(result).toEqual({ ok: true, value: infer });
    if (!result.ok) return;
    const data = result.value.tensor.data;
    expect(data).toBeInstanceOf(Float32Array);
    expect(Object.is(data[4], -0)).toBe(true);
    expect(data[3]).toBeNaN();
    expect(data.byteOffset % 4).toBe(0);
  });

  it('decodes a Float32Array from a Buffer slice at any byteOffset', () => {
    const bytes = encodeMessage(infer);
    for (const offset of [1, 2, 3, 5, 8]) {
      const slice = atOffset(bytes, offset);
      expect(slice.byteOffset % 4 === 0 || offset % 4 !== 0).toBe(true);
      const result = decodeMessage('infer', slice);
      expect(result).toEqual({ ok: true, value: infer });
    }
  });

  it('returns a tensor that owns its bytes (mutating the input afterwards changes nothing)', () => {
    const bytes = Buffer.from(encodeMessage(infer));
    const result = decodeMessage('infer', bytes);
    bytes.fill(0);
    expect(result.ok && result.value.tensor.data[0]).toBe(0.5);
  });

  it('never overwrites an encoded Buffer with later encodings', () => {
    const first = encodeMessage(infer);
    const copy = Buffer.from(first);
    for (let i = 0; i < 2000; i++) encodeMessage({ ...status, at: i });
    expect(first.equals(copy)).toBe(true);
  });

  it('encodes only the viewed part of a Float32Array subarray', () => {
    const backing = new Float32Array([9, 1, 2, 3, 4, 5, 6, 9]);
    const view = backing.subarray(1, 7);
    const message = { ...infer, tensor: { dtype: 'float32' as const, shape: [6], data: view } };
    const result = decodeMessage('infer', encodeMessage(message));
    expect(result.ok && Array.from(result.value.tensor.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('writes plain msgpack maps and tensor data as a msgpack bin of little-endian float32', () => {
    const bytes = encodeMessage(infer);
    expect(defined(bytes[0], 'the first byte') & 0xf0).toBe(0x80);
    // "data" (fixstr 4), then bin 8 of 24 bytes: the raw little-endian floats
    const header = Buffer.concat([
      Buffer.from([0xa4]),
      Buffer.from('data'),
      Buffer.from([0xc4, 24]),
    ]);
    const at = bytes.indexOf(header);
    expect(at).toBeGreaterThan(0);
    const raw = bytes.subarray(at + header.length, at + header.length + 24);
    expect(raw.readFloatLE(0)).toBe(0.5);
    expect(raw.readFloatLE(20)).toBe(65504);
    expect(bytes.includes(Buffer.from([0x74, 7]))).toBe(false);
  });

  it("reads tensor data sent as msgpackr's typed-array extension 0x74 (older peers)", () => {
    const older = new Packr({ useRecords: false, moreTypes: true });
    const bytes = older.pack(infer);
    expect(bytes.includes(Buffer.from([0xc7, 25, 0x74, 7]))).toBe(true);
    const result = decodeMessage('infer', bytes);
    expect(result.ok && Array.from(result.value.tensor.data)).toEqual(Array.from(tensorData));
  });

  it('reads tensor data written as bin by a plain msgpack encoder, at any byte offset', () => {
    for (const pad of [0, 1, 2, 3]) {
      const plain = new Packr({ useRecords: false });
      const data = Buffer.from(tensorData.buffer.slice(0));
      const bytes = plain.pack({
        ...infer,
        tensor: { ...infer.tensor, data },
        pad: 'x'.repeat(pad),
      });
      const result = decodeMessage('infer', bytes);
      expect(result.ok, `pad ${pad}`).toBe(true);
      if (!result.ok) continue;
      expect(result.value.tensor.data).toBeInstanceOf(Float32Array);
      expect(Array.from(result.value.tensor.data)).toEqual(Array.from(tensorData));
    }
  });

  it('leaves out undefined optional fields', () => {
    const link = { uplinkMbps: 20, rttMs: 5, downlinkMbps: undefined, measuredAt: 1 };
    const bytes = encodeAny(link);
    const result = decodeMessage('link', bytes);
    expect(result).toEqual({ ok: true, value: { uplinkMbps: 20, rttMs: 5, measuredAt: 1 } });
  });

  it('strips unknown keys (forward compatibility)', () => {
    const result = decodeMessage('status', encodeAny({ ...status, battery: 0.8, extra: { a: 1 } }));
    expect(result).toEqual({ ok: true, value: status });
  });

  it('accepts 64-bit integers written by other encoders', () => {
    const packr = new Packr({ useRecords: false, int64AsType: 'bigint' });
    const bytes = packr.pack({ ...status, at: 1_700_000_000_000n });
    expect(bytes.includes(0xcf) || bytes.includes(0xd3)).toBe(true);
    expect(decodeMessage('status', bytes)).toEqual({ ok: true, value: status });
  });
});

describe('tensors', () => {
  it.each([
    ['a JSON number array', [0.5, -1.25, 3e-8, 0, 0, 1]],
    ['a Float64Array', new Float64Array(6)],
    ['bin of a length that is no multiple of 4', Buffer.alloc(23)],
    ['an Int32Array', new Int32Array(6)],
  ])('reject %s as data, saying what is expected', (_, data) => {
    const bytes = encodeAny({ ...infer, tensor: { ...infer.tensor, data } });
    expectRejected(
      'infer',
      bytes,
      'INVALID_PAYLOAD',
      'infer.tensor.data: must be the little-endian float32 values as msgpack bin',
    );
  });

  it('reject bin data of whole floats whose count is not the product of the shape', () => {
    const bytes = encodeAny({ ...infer, tensor: { ...infer.tensor, data: Buffer.alloc(20) } });
    expectRejected('infer', bytes, 'INVALID_PAYLOAD', 'infer.tensor.data: must hold 6 elements');
  });

  it('reject data whose length is not the product of the shape', () => {
    const bytes = encodeAny({ ...infer, tensor: { ...infer.tensor, shape: [2, 2] } });
    expectRejected('infer', bytes, 'INVALID_PAYLOAD', 'infer.tensor.data: must hold 4 elements');
    const huge = encodeAny({
      ...infer,
      tensor: { ...infer.tensor, shape: Array(8).fill(2 ** 31) },
    });
    expectRejected('infer', huge, 'INVALID_PAYLOAD', 'infer.tensor.data: must hold');
  });

  it('reject bad shapes and dtypes', () => {
    const cases: [unknown, string][] = [
      [{ ...infer.tensor, shape: [] }, 'infer.tensor.shape: must have 1 to 8'],
      [{ ...infer.tensor, shape: Array(9).fill(1) }, 'infer.tensor.shape: must have 1 to 8'],
      [{ ...infer.tensor, shape: [6.5] }, 'infer.tensor.shape[0]: must be an integer'],
      [{ ...infer.tensor, shape: [2 ** 31 + 1] }, 'infer.tensor.shape[0]: must be an integer'],
      [{ ...infer.tensor, dtype: 'float64' }, 'infer.tensor.dtype: must be "float32"'],
    ];
    for (const [tensor, issue] of cases)
      expectRejected('infer', encodeAny({ ...infer, tensor }), 'INVALID_PAYLOAD', issue);
    // A bad shape is reported once, not again as a data length mismatch.
    const negative = encodeAny({ ...infer, tensor: { ...infer.tensor, shape: [-1, 6] } });
    const error = expectRejected('infer', negative, 'INVALID_PAYLOAD', 'infer.tensor.shape[0]');
    expect(error.issues).toHaveLength(1);
  });

  it('accept an empty tensor', () => {
    const empty = {
      ...infer,
      tensor: { dtype: 'float32' as const, shape: [0, 3], data: new Float32Array(0) },
    };
    expect(decodeMessage('infer', encodeMessage(empty))).toEqual({ ok: true, value: empty });
  });
});

describe('hostile bytes', () => {
  const valid = encodeMessage(status);

  it.each([
    ['an empty buffer', Buffer.alloc(0)],
    ['a lone 0xc1', Buffer.from([0xc1])],
    ['trailing bytes', Buffer.concat([valid, Buffer.from([0xc0])])],
    ['two messages', Buffer.concat([valid, valid])],
    ['a truncated map', valid.subarray(0, valid.length - 1)],
    ['array32 of 2^32-1 items', Buffer.from('81a161ddffffffff', 'hex')],
    ['map32 of 2^32-1 entries', Buffer.from('dfffffffff', 'hex')],
    ['str32 of 2^32-1 bytes', Buffer.from('81dbffffffff61', 'hex')],
    ['bin32 of 2^32-1 bytes', Buffer.from('81a161c6ffffffff00', 'hex')],
    ['ext32 of 2^32-1 bytes', Buffer.from('81a161c9ffffffff7407', 'hex')],
    ['a non-string map key', Buffer.from('8101c0', 'hex')],
    ['an array map key', Buffer.from('819101c0', 'hex')],
    ['a misaligned Float32Array', Buffer.from('81a161c70474070000c0', 'hex')],
    ['an unknown typed-array code', Buffer.from('81a161c705741f00000000', 'hex')],
    ['the undefined extension', Buffer.from('81a161d40000', 'hex')],
    ['a timestamp', Buffer.from('81a161d6ff00000000', 'hex')],
    ['a msgpackr record', new Packr().pack(status)],
    ['a structured clone', new Packr({ structuredClone: true }).pack(status)],
    ['bundled strings', new Packr({ bundleStrings: true, useRecords: false }).pack(status)],
    [
      'deep nesting',
      Buffer.concat([
        Buffer.from([0x81, 0xa1, 0x61]),
        Buffer.alloc(100_000, 0x91),
        Buffer.from([0xc0]),
      ]),
    ],
  ])('reject %s as UNDECODABLE', (_, bytes) => {
    expectRejected('status', bytes, 'UNDECODABLE', 'status: ');
  });

  it('reject non-map payloads as INVALID_PAYLOAD', () => {
    for (const value of [1, 'online', null, [status], true]) {
      const bytes = new Packr({ useRecords: false }).pack(value);
      expectRejected('status', bytes, 'INVALID_PAYLOAD', 'status: must be a msgpack map');
    }
  });

  it('reject oversized payloads before decoding them', () => {
    const big = Buffer.alloc(DEFAULT_MAX_PAYLOAD_BYTES + 1, 0x81);
    expectRejected('infer', big, 'PAYLOAD_TOO_LARGE', `infer: ${big.length} bytes exceeds`);
    const limited = failure(decodeMessage('status', valid, { maxBytes: 10 }));
    expect(limited.code).toBe('PAYLOAD_TOO_LARGE');
    expect(limited.issues).toEqual([`status: ${valid.length} bytes exceeds the limit of 10`]);
    expect(decodeMessage('status', valid, { maxBytes: valid.length }).ok).toBe(true);
  });

  it('reject a 16 MiB array of nils in time linear in its size, as a 16 MiB array of zeros', () => {
    const arrayOf = (byte: number) => {
      const big = Buffer.alloc(DEFAULT_MAX_PAYLOAD_BYTES, byte);
      big.set([0x81, 0xa1, 0x61, 0xdd]);
      big.writeUInt32BE(big.length - 8, 4);
      return big;
    };
    const timed = (bytes: Buffer) => {
      const started = performance.now();
      const result = decodeMessage('profile', bytes);
      return { result, ms: performance.now() - started };
    };
    // The baseline: the same number of one-byte values that are not nil, in this run.
    const zeros = timed(arrayOf(0x00));
    const nils = timed(arrayOf(0xc0));
    expect(zeros.result.ok).toBe(false);
    expect(nils.result.ok).toBe(false);
    expect(nils.ms).toBeLessThan(10 * zeros.ms + 1000);
  });

  it('reject bytes that are not a Uint8Array', () => {
    const error = failure(decodeMessage('status', 'not bytes' as unknown as Uint8Array));
    expect(error.code).toBe('UNDECODABLE');
  });

  it('do not let __proto__ or constructor keys pollute prototypes', () => {
    const hostile = JSON.parse(
      '{"state":"online","agentVersion":"1","at":5,"__proto__":{"polluted":true},' +
        '"constructor":{"prototype":{"polluted":true}}}',
    );
    const bytes = encodeAny(hostile);
    expect(bytes.includes(Buffer.from('__proto__'))).toBe(true);
    const result = decodeMessage('status', bytes);
    expect(result).toEqual({ ok: true, value: { state: 'online', agentVersion: '1', at: 5 } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    if (result.ok) expect(Object.getPrototypeOf(result.value)).toBe(Object.prototype);
    // Nested, where the schema expects an object: still plain data.
    const cut = JSON.parse('{"name":"x","deviceMs":0,"bytes":1,"__proto__":{"deviceMs":-1}}');
    const nested = { ...profile, cuts: [cut, ...profile.cuts.slice(1)] };
    expect(decodeMessage('profile', encodeAny(nested)).ok).toBe(true);
    expect(({} as Record<string, unknown>).deviceMs).toBeUndefined();
  });
});
