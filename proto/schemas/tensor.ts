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

// Tensors travel as msgpackr typed arrays, never as JSON number arrays (ARCHITECTURE.md).
const float32DataSchema = z.custom<Float32Array>((value) => value instanceof Float32Array, {
  error: 'must be a Float32Array (tensors never travel as number arrays)',
});

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
