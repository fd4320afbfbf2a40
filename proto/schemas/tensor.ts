import { z } from 'zod';

/** Most dimensions a tensor may have. */
export const MAX_TENSOR_DIMS = 8;
/** Largest size of one dimension. */
export const MAX_TENSOR_DIM = 2 ** 31;

const dimSchema = z
  .number({ error: `must be an integer from 0 to ${MAX_TENSOR_DIM}` })
  .int({ error: `must be an integer from 0 to ${MAX_TENSOR_DIM}` })
  .min(0, { error: `must be an integer from 0 to ${MAX_TENSOR_DIM}` })
  .max(MAX_TENSOR_DIM, { error: `must be an integer from 0 to ${MAX_TENSOR_DIM}` });

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * float32 values over raw little-endian bytes (the portable wire form of tensor data). A
 * Float32Array needs a 4-aligned offset: a view when the bytes are aligned (on a little-endian
 * host), a copy when not (msgpack `bin` values and Redis replies are often slices of a larger
 * read). The caller checks that the length is a multiple of 4.
 */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  const count = bytes.byteLength >>> 2;
  if (LITTLE_ENDIAN)
    return bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, count)
      : // `new Uint8Array(bytes)` copies; Buffer#slice would return another unaligned view.
        new Float32Array(new Uint8Array(bytes).buffer, 0, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
  return data;
}

/** The little-endian bytes of float32 values, without a copy on a little-endian host. */
export function float32Bytes(data: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const bytes = Buffer.alloc(data.byteLength);
  for (let i = 0; i < data.length; i++) bytes.writeFloatLE(data[i] ?? 0, i * 4);
  return bytes;
}

const DATA_ERROR =
  'must be the little-endian float32 values as msgpack bin (4 bytes per element), or a msgpackr Float32Array (extension 0x74, kind 7)';

/**
 * Tensor data on the wire: a msgpack `bin` of little-endian float32 values, which any msgpack
 * library writes, or msgpackr's typed-array extension, which older peers send. Either decodes
 * to a Float32Array; number arrays are refused (a 100 KiB tensor would be 25,600 msgpack
 * floats of 5 bytes and a JS array of boxed numbers).
 */
const float32DataSchema = z
  .custom<Float32Array | Uint8Array>(
    (value) =>
      value instanceof Float32Array || (value instanceof Uint8Array && value.byteLength % 4 === 0),
    { error: DATA_ERROR },
  )
  .transform((value) => (value instanceof Float32Array ? value : float32FromBytes(value)));

/**
 * Number of elements a tensor of `shape` holds. With at most 8 dimensions of at most 2^31 the
 * product stays finite; above 2^53 it is approximate, but then no array can match it anyway.
 */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/** A dense row-major float32 tensor: `data.length` equals the product of `shape`. */
export const tensorSchema = z
  .object(
    {
      dtype: z.literal('float32', { error: 'must be "float32"' }),
      shape: z
        .array(dimSchema, { error: 'must be an array of dimensions' })
        .min(1, { error: `must have 1 to ${MAX_TENSOR_DIMS} dimensions` })
        .max(MAX_TENSOR_DIMS, { error: `must have 1 to ${MAX_TENSOR_DIMS} dimensions` }),
      data: float32DataSchema,
    },
    { error: 'must be an object { dtype, shape, data }' },
  )
  .superRefine((tensor, ctx) => {
    // zod still refines after a failed bound check; the shape's own issue says enough then.
    const validShape = tensor.shape.every((dim) => dimSchema.safeParse(dim).success);
    if (!validShape || !(tensor.data instanceof Float32Array)) return;
    const expected = elementCount(tensor.shape);
    if (expected !== tensor.data.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['data'],
        message: `must hold ${expected} elements for shape [${tensor.shape.join(', ')}], not ${tensor.data.length}`,
      });
    }
  });

export type Tensor = z.output<typeof tensorSchema>;
