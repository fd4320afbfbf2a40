import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { parseTailJobData, tailJobDataSchema } from '../edge-worker/tail-job.js';
import {
  decodeInferBytes,
  decodeMessage,
  inferRequestSchema,
  validate,
  validateMessage,
} from '../proto/index.js';
import { float32Bytes } from '../proto/schemas/tensor.js';
import { defined } from '../runtime/defined.js';

/** A deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE: unknown[] = [
  undefined,
  null,
  0,
  -0,
  -1,
  1.5,
  2 ** 31,
  2 ** 31 + 1,
  2 ** 53,
  8.64e15,
  8.64e15 + 1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  'a',
  'x'.repeat(64),
  'x'.repeat(65),
  'bad id',
  'float32',
  'float64',
  [],
  [1],
  [2, 3],
  [1, 2, 3, 4, 5, 6, 7, 8, 9],
  [-1],
  [1.5],
  {},
  new Uint8Array(3),
  new Uint8Array(8),
  new Float32Array(6),
  new Float64Array(6),
  'k'.repeat(1025),
  true,
];

function validInfer() {
  return {
    requestId: 'req-1',
    epoch: 3,
    model: 'resnet18',
    cut: 9,
    sample: 0,
    tensor: { dtype: 'float32', shape: [2, 3], data: new Uint8Array(24) },
    sentAt: 1_700_000_000_000,
  };
}

function validJob() {
  return {
    ue: 'ue-1',
    requestId: 'req-1',
    epoch: 3,
    model: 'resnet18',
    cut: 9,
    sample: 0,
    claimKey: 'p:claim:ue-1:req-1',
    dtype: 'float32',
    shape: [2, 3],
    sentAt: 1_700_000_000_000,
    enqueuedAt: 1_700_000_000_001,
  };
}

/** Sets `path` (dot-separated) of a copy of `value` to `to`, or deletes it when `to` is absent. */
function mutate(value: Record<string, unknown>, path: string[], to: unknown, remove: boolean) {
  const copy = structuredClone(value) as Record<string, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = defined(path.at(-1), 'the last key of the path');
  if (remove) delete at[last];
  else at[last] = to;
  return copy;
}

const INFER_PATHS = [
  ['requestId'],
  ['epoch'],
  ['model'],
  ['cut'],
  ['sample'],
  ['sentAt'],
  ['tensor'],
  ['tensor', 'dtype'],
  ['tensor', 'shape'],
  ['tensor', 'data'],
  ['extra'],
];

/** A valid infer payload with up to two fields changed to hostile values, or a hostile value. */
function mutatedInfer(next: () => number): unknown {
  let input: unknown = validInfer();
  const changes = Math.floor(next() * 3);
  for (let c = 0; c < changes; c++) {
    const path = defined(INFER_PATHS[Math.floor(next() * INFER_PATHS.length)], 'a path to change');
    const to = HOSTILE[Math.floor(next() * HOSTILE.length)];
    const [head] = path;
    if (typeof input === 'object' && input !== null && head !== undefined && path.length > 1) {
      const parent = (input as Record<string, unknown>)[head];
      if (typeof parent !== 'object' || parent === null) continue;
    }
    input = mutate(input as Record<string, unknown>, path, to, next() < 0.1);
  }
  if (next() < 0.02) input = HOSTILE[Math.floor(next() * HOSTILE.length)];
  return input;
}

describe('the hand-written checks of the request path', () => {
  it('decode an infer payload with its tensor as bytes exactly as decodeMessage does, valid or not', () => {
    const next = random(11);
    const packr = new Packr({ useRecords: false, moreTypes: true });
    let accepted = 0;
    for (let k = 0; k < 3000; k++) {
      const input = mutatedInfer(next);
      // An odd offset, as a msgpack bin inside an MQTT payload mostly is.
      const packed = packr.pack(input);
      const payload = new Uint8Array(packed.length + 1).subarray(1);
      payload.set(packed);
      const bytes = decodeInferBytes(payload);
      const whole = decodeMessage('infer', payload);
      expect(bytes.ok).toBe(whole.ok);
      if (bytes.ok && whole.ok) {
        accepted++;
        const { tensor, ...fields } = bytes.value;
        const { tensor: wholeTensor, ...wholeFields } = whole.value;
        expect(fields).toEqual(wholeFields);
        expect(tensor.shape).toEqual(wholeTensor.shape);
        expect(Buffer.from(tensor.bytes)).toEqual(float32Bytes(wholeTensor.data));
      } else if (!bytes.ok && !whole.ok) expect(bytes.error.issues).toEqual(whole.error.issues);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('give an infer payload exactly what zod gives it, valid or not', () => {
    const next = random(7);
    let accepted = 0;
    for (let k = 0; k < 3000; k++) {
      const input = mutatedInfer(next);
      const fast = validateMessage('infer', input);
      const slow = validate(inferRequestSchema, input, 'infer');
      expect(fast.ok).toBe(slow.ok);
      if (fast.ok && slow.ok) {
        accepted++;
        expect(fast.value).toEqual(slow.value);
      } else if (!fast.ok && !slow.ok) expect(fast.error.issues).toEqual(slow.error.issues);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('give a tail job exactly what zod gives it, valid or not', () => {
    const next = random(9);
    const fields = Object.keys(validJob());
    let accepted = 0;
    for (let k = 0; k < 3000; k++) {
      let input: Record<string, unknown> = validJob();
      const changes = Math.floor(next() * 3);
      for (let c = 0; c < changes; c++) {
        const field = defined(fields[Math.floor(next() * fields.length)], 'a field to change');
        const to = HOSTILE[Math.floor(next() * HOSTILE.length)];
        input = mutate(input, [field], to, next() < 0.1);
      }
      const fast = parseTailJobData(input);
      const slow = validate(tailJobDataSchema, input, 'job.data');
      expect(fast.ok).toBe(slow.ok);
      if (fast.ok && slow.ok) {
        accepted++;
        expect(fast.value).toEqual(slow.value);
      } else if (!fast.ok && !slow.ok) expect(fast.error.issues).toEqual(slow.error.issues);
    }
    expect(accepted).toBeGreaterThan(100);
  });
});
