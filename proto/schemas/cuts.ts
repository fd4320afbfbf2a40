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
export interface IssueSink {
  addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void;
}

/** A cut as the shape check reads it: a profile's cuts have no `edgeMs`. */
interface ShapedCut {
  readonly name: string;
  readonly deviceMs: number;
  readonly edgeMs?: number;
}

/** Where `refineEdgeMs` puts its issues and how its messages name a cut. */
export interface EdgeMsPlaces {
  /** Path of the issue about cut `p`'s edge time. */
  readonly path: (p: number) => (string | number)[];
  /** Name of cut `p`, for messages; without it, cuts are named by index. */
  readonly name?: (p: number) => string;
}

/**
 * docs/model.md's edge half of the shape of cuts in execution order: edge time never increases
 * and is 0 at the last cut. `edgeMs[p]` undefined: cut `p` has no edge time (a profile's), and
 * is not checked. The one such check of the schemas (instances, profiles, edge statuses).
 */
export function refineEdgeMs(
  edgeMs: readonly (number | undefined)[],
  ctx: IssueSink,
  places: EdgeMsPlaces,
): void {
  const { path, name } = places;
  const last = edgeMs.length - 1;
  const final = edgeMs[last];
  if (final !== undefined && final !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: path(last),
      message:
        name === undefined
          ? 'must be 0 at the last cut'
          : `must be 0 at the last cut ("${name(last)}")`,
    });
  }
  for (const [p, ms] of edgeMs.entries()) {
    const prev = edgeMs[p - 1]; // undefined for the first cut: none before it
    if (ms === undefined || prev === undefined || ms <= prev) continue;
    ctx.addIssue({
      code: 'custom',
      path: path(p),
      message:
        name === undefined
          ? `must not increase along cuts: ${ms} > ${prev} at cut ${p - 1}`
          : `must not increase along cuts: cut "${name(p)}" has ${ms} > ${prev} at "${name(p - 1)}"`,
    });
  }
}

/**
 * Checks docs/model.md's shape of cuts in execution order: deviceMs starts at 0 and never
 * decreases; where cuts carry edgeMs, it never increases and ends at 0 (`refineEdgeMs`). Issues
 * name the cut by index and name. The one monotone-cuts refinement of the schemas (instances
 * and profiles).
 */
export function refineCutShape(cuts: readonly ShapedCut[], ctx: IssueSink): void {
  const first = cuts[0];
  if (first && first.deviceMs !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: [0, 'deviceMs'],
      message: `must be 0 at the first cut ("${first.name}")`,
    });
  }
  refineEdgeMs(
    cuts.map((cut) => cut.edgeMs),
    ctx,
    { path: (p) => [p, 'edgeMs'], name: (p) => cuts[p]?.name ?? String(p) },
  );
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
