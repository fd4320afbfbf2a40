/**
 * Hand-written checks of the two payloads on the request path (an `infer` message, a tail
 * job's data), accepting exactly what their schemas accept in the common, valid case, faster
 * than zod. They only ever accept: anything they do not recognise as valid goes on to the
 * schema, so an invalid payload gets the schema's own error, word for word.
 */

import type { TailJobData } from './jobs.js';
import { ID_PATTERN } from './schemas/common.js';
import type { InferRequest } from './schemas/infer-request.js';
import {
  float32Bytes,
  float32FromBytes,
  MAX_TENSOR_DIM,
  MAX_TENSOR_DIMS,
  type Tensor,
} from './schemas/tensor.js';

const MAX_TIME_MS = 8.64e15;

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isId = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 64 && ID_PATTERN.test(value);
const isCount = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 0;
const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIME_MS;

/** A copy of a valid shape, or undefined. */
function shapeOf(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_TENSOR_DIMS) return undefined;
  const shape: number[] = [];
  for (const dim of value) {
    if (!Number.isSafeInteger(dim) || dim < 0 || dim > MAX_TENSOR_DIM) return undefined;
    shape.push(dim);
  }
  return shape;
}

/** A plainly valid tensor's shape and the bytes of its values, as they came (no copy). */
function tensorBytesOf(value: unknown): { shape: number[]; bytes: Uint8Array } | undefined {
  if (!isObject(value) || value.dtype !== 'float32') return undefined;
  const shape = shapeOf(value.shape);
  const raw = value.data;
  if (shape === undefined) return undefined;
  let bytes: Uint8Array;
  if (raw instanceof Float32Array) bytes = float32Bytes(raw);
  else if (raw instanceof Uint8Array && raw.byteLength % 4 === 0) bytes = raw;
  else return undefined;
  let count = 1;
  for (const dim of shape) count *= dim;
  if (count !== bytes.byteLength / 4) return undefined;
  return { shape, bytes };
}

function tensorOf(value: unknown): Tensor | undefined {
  const raw = isObject(value) ? value.data : undefined;
  const tensor = tensorBytesOf(value);
  if (tensor === undefined) return undefined;
  const data = raw instanceof Float32Array ? raw : float32FromBytes(tensor.bytes);
  return { dtype: 'float32', shape: tensor.shape, data };
}

/**
 * An `infer` request with its tensor's values as little-endian float32 bytes, as they came: the
 * ingress stores them as they are, and a copy of an unaligned `bin` into a Float32Array would
 * cost a copy of every tensor.
 */
export type InferRequestBytes = Omit<InferRequest, 'tensor'> & {
  readonly tensor: {
    readonly dtype: 'float32';
    readonly shape: number[];
    readonly bytes: Uint8Array;
  };
};

/** The `infer` payload with its tensor as bytes, when it is plainly valid; else undefined. */
export function fastInferRequestBytes(input: unknown): InferRequestBytes | undefined {
  if (!isObject(input)) return undefined;
  const { requestId, epoch, model, cut, sample, sentAt } = input;
  if (!isId(requestId) || !isId(model) || !isCount(epoch) || !isCount(cut)) return undefined;
  if (!isCount(sample) || !isTime(sentAt)) return undefined;
  const tensor = tensorBytesOf(input.tensor);
  if (tensor === undefined) return undefined;
  return {
    requestId,
    epoch,
    model,
    cut,
    sample,
    tensor: { dtype: 'float32', ...tensor },
    sentAt,
  };
}

/** The `infer` payload as its schema outputs it, when it is plainly valid; else undefined. */
export function fastInferRequest(input: unknown): InferRequest | undefined {
  if (!isObject(input)) return undefined;
  const { requestId, epoch, model, cut, sample, sentAt } = input;
  if (!isId(requestId) || !isId(model) || !isCount(epoch) || !isCount(cut)) return undefined;
  if (!isCount(sample) || !isTime(sentAt)) return undefined;
  const tensor = tensorOf(input.tensor);
  if (tensor === undefined) return undefined;
  return { requestId, epoch, model, cut, sample, tensor, sentAt };
}

/** A tail job's data (`proto/jobs.ts`), as its schema outputs it when plainly valid. */
export type FastTailJobData = Omit<TailJobData, 'shape'> & { readonly shape: number[] };

export function fastTailJobData(input: unknown): FastTailJobData | undefined {
  if (!isObject(input)) return undefined;
  const { ue, requestId, epoch, model, cut, sample, claimKey, dtype, sentAt, enqueuedAt } = input;
  if (!isId(ue) || !isId(requestId) || !isId(model)) return undefined;
  if (!isCount(epoch) || !isCount(cut) || !isCount(sample)) return undefined;
  if (typeof claimKey !== 'string' || claimKey.length < 1 || claimKey.length > 1024)
    return undefined;
  if (dtype !== 'float32' || !isTime(sentAt) || !isTime(enqueuedAt)) return undefined;
  // The job's shape is checked against the stored bytes later; here, integers >= 0 only.
  const raw = input.shape;
  if (!Array.isArray(raw) || raw.length < 1 || raw.length > MAX_TENSOR_DIMS) return undefined;
  if (!raw.every(isCount)) return undefined;
  const shape = [...raw];
  return { ue, requestId, epoch, model, cut, sample, claimKey, dtype, shape, sentAt, enqueuedAt };
}
