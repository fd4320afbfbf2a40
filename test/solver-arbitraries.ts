import fc from 'fast-check';
import type { Instance, UeSpec } from '../proto/schemas/instance.js';
import { parseInstance } from '../scheduler/instance.js';

/** Small integer-valued times make ties between cuts and UEs common: that is where bugs hide. */
const ueArb = (id: string, maxCuts: number, maxBatch: number): fc.Arbitrary<UeSpec> =>
  fc
    .record({
      batch: fc.integer({ min: 1, max: maxBatch }),
      uplinkMbps: fc.oneof(
        fc.constantFrom(1, 8, 100),
        fc.double({ min: 0.01, max: 200, noNaN: true }),
      ),
      rttMs: fc.integer({ min: 0, max: 20 }),
      resultBytes: fc.integer({ min: 0, max: 5000 }),
      downlinkMbps: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
      deviceSteps: fc.array(fc.integer({ min: 0, max: 60 }), {
        minLength: 1,
        maxLength: maxCuts - 1,
      }),
      edgeSteps: fc.array(fc.integer({ min: 0, max: 40 }), {
        minLength: maxCuts - 1,
        maxLength: maxCuts - 1,
      }),
      bytes: fc.array(fc.integer({ min: 0, max: 200_000 }), {
        minLength: maxCuts,
        maxLength: maxCuts,
      }),
    })
    .map((r) => {
      const L = r.deviceSteps.length;
      const cuts = [];
      let device = 0;
      let edge = r.edgeSteps.slice(0, L).reduce((s, x) => s + x, 0);
      for (let p = 0; p <= L; p++) {
        if (p > 0) {
          device += r.deviceSteps[p - 1]!;
          edge -= r.edgeSteps[p - 1]!;
        }
        cuts.push({ name: `c${p}`, deviceMs: device, bytes: r.bytes[p]!, edgeMs: edge });
      }
      const ue: Record<string, unknown> = {
        id,
        batch: r.batch,
        uplinkMbps: r.uplinkMbps,
        rttMs: r.rttMs,
        resultBytes: r.resultBytes,
        cuts,
      };
      if (r.downlinkMbps !== undefined) ue.downlinkMbps = r.downlinkMbps;
      return ue as unknown as UeSpec;
    });

export interface SizeLimits {
  maxUes: number;
  maxUnits: number;
  maxCuts: number;
  maxBatch: number;
}

export function instanceArb(limits: SizeLimits): fc.Arbitrary<Instance> {
  return fc
    .integer({ min: 1, max: limits.maxUes })
    .chain((n) =>
      fc.record({
        units: fc.integer({ min: 0, max: limits.maxUnits }),
        ues: fc.tuple(
          ...Array.from({ length: n }, (_, i) => ueArb(`ue-${i}`, limits.maxCuts, limits.maxBatch)),
        ),
      }),
    )
    .map(({ units, ues }) => {
      const parsed = parseInstance({ edge: { units }, ues });
      if (!parsed.ok) throw parsed.error;
      return parsed.value;
    });
}
