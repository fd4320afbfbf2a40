import fc from 'fast-check';
import { defined } from '../runtime/defined.js';
import { parseInstance } from '../scheduler/instance.js';
import type { Instance, UeSpec } from '../scheduler/instance-schema.js';

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
          device += defined(r.deviceSteps[p - 1], 'a device step before each cut');
          edge -= defined(r.edgeSteps[p - 1], 'an edge step before each cut');
        }
        const bytes = defined(r.bytes[p], 'the bytes of each cut');
        cuts.push({ name: `c${p}`, deviceMs: device, bytes, edgeMs: edge });
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

/**
 * Fleets where some UEs' tails are tiny next to their fixed part (head, upload, RTT): every
 * edgeMs of such a UE is scaled by 10^-e, e up to 12, on top of `instanceArb`'s; R is sometimes
 * up to 10^6. Each UE's RTT is at least 1 ms, so the fixed part never vanishes.
 */
export function tinyTailInstanceArb(limits: SizeLimits): fc.Arbitrary<Instance> {
  return fc
    .record({
      instance: instanceArb(limits),
      exponents: fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 12, noNaN: true })), {
        minLength: limits.maxUes,
        maxLength: limits.maxUes,
      }),
      units: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 1_000_000 })),
    })
    .map(({ instance, exponents, units }) => {
      const ues = instance.ues.map((ue, i) => {
        const scale = 10 ** -defined(exponents[i], 'an exponent per UE');
        return {
          ...ue,
          rttMs: Math.max(1, ue.rttMs ?? 0),
          cuts: ue.cuts.map((cut) => ({ ...cut, edgeMs: cut.edgeMs * scale })),
        };
      });
      const parsed = parseInstance({ edge: { units: units ?? instance.edge.units }, ues });
      if (!parsed.ok) throw parsed.error;
      return parsed.value;
    });
}
