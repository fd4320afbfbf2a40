import { z } from 'zod';
import {
  idSchema,
  MAX_CUTS,
  nonNegativeMs,
  presenceSchema,
  timestampMs,
  unitsSchema,
} from './common.js';
import { refineEdgeMs } from './cuts.js';

/**
 * A connected edge worker publishes its status again (retained, unchanged but for `at`) at least
 * this often, so that every process following the fleet can tell it is still there.
 */
export const EDGE_ANNOUNCE_MS = 10_000;
/**
 * The scheduler and the edge workers take for offline a worker whose `online` status they have
 * not heard (live or retained) for this long: three announcements missed. A worker that died
 * while the broker was down has no last will, and a broker that keeps retained messages across a
 * restart replays its last `online` to every new subscriber.
 */
export const EDGE_STATUS_EXPIRY_MS = 3 * EDGE_ANNOUNCE_MS;

/** Most models one edge worker may declare. */
export const MAX_EDGE_MODELS = 1024;

/**
 * Edge time after each cut of one model, one sample on one unit, in the order of the UE's
 * profile cuts: never increases and ends at 0 (docs/model.md).
 */
export const edgeMsListSchema = z
  .array(nonNegativeMs, { error: 'must be an array of times in ms' })
  .min(2, { error: 'must have at least 2 cuts (input and output)' })
  .max(MAX_CUTS, { error: `must have at most ${MAX_CUTS} cuts` })
  .superRefine((edgeMs, ctx) => refineEdgeMs(edgeMs, ctx, { path: (p) => [p] }));

export const edgeModelSchema = z.object(
  { model: idSchema, edgeMs: edgeMsListSchema },
  { error: 'must be an object { model, edgeMs }' },
);

export type EdgeModel = z.output<typeof edgeModelSchema>;

/** Payload of `edge/{worker}/status` (retained; the MQTT last will publishes `offline`). */
export const edgeStatusSchema = z.object(
  {
    state: presenceSchema,
    /** Concurrency slots this worker runs at most; they count towards the edge's `R`. */
    units: unitsSchema,
    models: z
      .array(edgeModelSchema, { error: 'must be an array of models' })
      .max(MAX_EDGE_MODELS, { error: `must have at most ${MAX_EDGE_MODELS} models` })
      .superRefine((models, ctx) => {
        const seen = new Map<string, number>();
        models.forEach((entry, i) => {
          const first = seen.get(entry.model);
          if (first === undefined) seen.set(entry.model, i);
          else
            ctx.addIssue({
              code: 'custom',
              path: [i, 'model'],
              message: `duplicates models[${first}].model "${entry.model}"`,
            });
        });
      }),
    at: timestampMs,
  },
  { error: 'must be an object { state, units, models, at }' },
);

export type EdgeStatus = z.output<typeof edgeStatusSchema>;
