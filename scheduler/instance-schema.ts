/**
 * The instance file the solvers take (docs/model.md): the edge's units and every UE's batch,
 * link and cuts. It never goes on the wire; its parts (cuts, units, batch) are proto's.
 */
import { z } from 'zod';
import {
  batchSchema,
  byteCount,
  cutListSchema,
  idSchema,
  nonNegativeMs,
  positiveMbps,
  unitsSchema,
} from '../proto/index.js';

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
