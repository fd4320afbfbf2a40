import { z } from 'zod';
import { batchSchema, byteCount, idSchema, MAX_CUTS, nameSchema, nonNegativeMs } from './common.js';
import { refineCutShape } from './cuts.js';

/** One partition point as the UE measured it; the edge side (`edgeMs`) comes from edge workers. */
export const profileCutSchema = z.object(
  {
    name: nameSchema,
    deviceMs: nonNegativeMs,
    bytes: byteCount,
  },
  { error: 'must be an object { name, deviceMs, bytes }' },
);

export type ProfileCut = z.output<typeof profileCutSchema>;

/** Cuts in execution order: deviceMs starts at 0 and never decreases (docs/model.md). */
export const profileCutListSchema = z
  .array(profileCutSchema, { error: 'must be an array of cuts' })
  .min(2, { error: 'must have at least 2 cuts (input and output)' })
  .max(MAX_CUTS, { error: `must have at most ${MAX_CUTS} cuts` })
  .superRefine(refineCutShape);

/** Payload of `ue/{ue}/profile`: the UE's model and what each cut costs on the device. */
export const profileSchema = z.object(
  {
    model: idSchema,
    batch: batchSchema,
    resultBytes: byteCount,
    cuts: profileCutListSchema,
  },
  { error: 'must be an object { model, batch, resultBytes, cuts }' },
);

export type Profile = z.output<typeof profileSchema>;
