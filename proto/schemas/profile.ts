import { z } from 'zod';
import {
  batchSchema,
  byteCount,
  idSchema,
  MAX_CUTS,
  nameSchema,
  nonNegativeMs,
} from './common.js';

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
  .superRefine((cuts, ctx) => {
    const first = cuts[0];
    if (first && first.deviceMs !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: [0, 'deviceMs'],
        message: `must be 0 at the first cut ("${first.name}")`,
      });
    }
    for (let p = 1; p < cuts.length; p++) {
      const prev = cuts[p - 1]!;
      const cut = cuts[p]!;
      if (cut.deviceMs < prev.deviceMs) {
        ctx.addIssue({
          code: 'custom',
          path: [p, 'deviceMs'],
          message: `must not decrease along cuts: cut "${cut.name}" has ${cut.deviceMs} < ${prev.deviceMs} at "${prev.name}"`,
        });
      }
    }
  });

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
