import { z } from 'zod';
import { byteCount, MAX_CUTS, nameSchema, nonNegativeMs } from './common.js';

export const cutSchema = z.object({
  name: nameSchema,
  deviceMs: nonNegativeMs,
  bytes: byteCount,
  edgeMs: nonNegativeMs,
});

export type Cut = z.output<typeof cutSchema>;

/** What a refinement adds its issues to: zod's refinement context. */
interface IssueSink {
  addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void;
}

/** A cut as the shape check reads it: a profile's cuts have no `edgeMs`. */
interface ShapedCut {
  readonly name: string;
  readonly deviceMs: number;
  readonly edgeMs?: number;
}

/**
 * Checks docs/model.md's shape of cuts in execution order: deviceMs starts at 0 and never
 * decreases; where cuts carry edgeMs, it never increases and ends at 0. Issues name the cut by
 * index and name. The one monotone-cuts refinement of the schemas (instances and profiles).
 */
export function refineCutShape(cuts: readonly ShapedCut[], ctx: IssueSink): void {
  const last = cuts.length - 1;
  const first = cuts[0];
  const final = cuts[last];
  if (first && first.deviceMs !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: [0, 'deviceMs'],
      message: `must be 0 at the first cut ("${first.name}")`,
    });
  }
  if (final?.edgeMs !== undefined && final.edgeMs !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: [last, 'edgeMs'],
      message: `must be 0 at the last cut ("${final.name}")`,
    });
  }
  for (const [p, cut] of cuts.entries()) {
    const prev = cuts[p - 1];
    if (prev === undefined) continue; // the first cut has none before it
    if (cut.deviceMs < prev.deviceMs) {
      ctx.addIssue({
        code: 'custom',
        path: [p, 'deviceMs'],
        message: `must not decrease along cuts: cut "${cut.name}" has ${cut.deviceMs} < ${prev.deviceMs} at "${prev.name}"`,
      });
    }
    if (cut.edgeMs !== undefined && prev.edgeMs !== undefined && cut.edgeMs > prev.edgeMs) {
      ctx.addIssue({
        code: 'custom',
        path: [p, 'edgeMs'],
        message: `must not increase along cuts: cut "${cut.name}" has ${cut.edgeMs} > ${prev.edgeMs} at "${prev.name}"`,
      });
    }
  }
}

/**
 * Cuts in execution order, with docs/model.md's shape: deviceMs starts at 0 and never decreases,
 * edgeMs never increases and ends at 0. Issues name the cut by index and name.
 */
export const cutListSchema = z
  .array(cutSchema, { error: 'must be an array of cuts' })
  .min(2, { error: 'must have at least 2 cuts (input and output)' })
  .max(MAX_CUTS, { error: `must have at most ${MAX_CUTS} cuts` })
  .superRefine(refineCutShape);
