import { z } from 'zod';
import { byteCount, idSchema, nonNegativeMs, positiveMbps } from './common.js';
import { cutListSchema } from './cuts.js';

/** Largest batch (samples per task) and edge size accepted from files and the network. */
export const MAX_BATCH = 1_000_000;
export const MAX_UNITS = 1_000_000;

export const batchSchema = z
  .number({ error: `must be an integer from 1 to ${MAX_BATCH}` })
  .int({ error: `must be an integer from 1 to ${MAX_BATCH}` })
  .min(1, { error: `must be an integer from 1 to ${MAX_BATCH}` })
  .max(MAX_BATCH, { error: `must be an integer from 1 to ${MAX_BATCH}` });

export const unitsSchema = z
  .number({ error: `must be an integer from 0 to ${MAX_UNITS}` })
  .int({ error: `must be an integer from 0 to ${MAX_UNITS}` })
  .min(0, { error: `must be an integer from 0 to ${MAX_UNITS}` })
  .max(MAX_UNITS, { error: `must be an integer from 0 to ${MAX_UNITS}` });

export const ueSpecSchema = z.object({
  id: idSchema,
  batch: batchSchema,
  uplinkMbps: positiveMbps,
  rttMs: nonNegativeMs.default(0),
  resultBytes: byteCount.default(0),
  /** Absent means an unlimited downlink (the result download takes no time). */
  downlinkMbps: positiveMbps.optional(),
  cuts: cutListSchema,
});

export const instanceSchema = z
  .object({
    edge: z.object({ units: unitsSchema }, { error: 'must be an object { units }' }),
    ues: z.array(ueSpecSchema, { error: 'must be an array of UEs' }).max(1_000_000),
  })
  .superRefine((instance, ctx) => {
    const seen = new Map<string, number>();
    instance.ues.forEach((ue, i) => {
      const first = seen.get(ue.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['ues', i, 'id'],
          message: `duplicates ues[${first}].id "${ue.id}"`,
        });
      } else seen.set(ue.id, i);
    });
  });

export type UeSpec = z.output<typeof ueSpecSchema>;
export type Instance = z.output<typeof instanceSchema>;
export type InstanceInput = z.input<typeof instanceSchema>;
