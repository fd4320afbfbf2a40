import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  packUnits,
  planQueues,
  servedUes,
  sharesOf,
  type UeUnits,
  type WorkerUnits,
} from '../edge-worker/index.js';

function table(packing: ReturnType<typeof packUnits>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [worker, shares] of packing) out[worker] = Object.fromEntries(shares);
  return out;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

const ids = fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9._-]{1,6}$/), { maxLength: 8 });
const workersArb = ids.chain((names) =>
  fc.tuple(...names.map((id) => fc.integer({ min: 0, max: 6 }).map((units) => ({ id, units })))),
);
const uesArb = ids.chain((names) =>
  fc.tuple(...names.map((ue) => fc.integer({ min: 0, max: 6 }).map((units) => ({ ue, units })))),
);

describe('packUnits', () => {
  it('fills workers in id order, first fit, splitting a UE across workers', () => {
    const workers: WorkerUnits[] = [
      { id: 'edge-b', units: 2 },
      { id: 'edge-a', units: 3 },
    ];
    const ues: UeUnits[] = [
      { ue: 'u3', units: 1 },
      { ue: 'u1', units: 2 },
      { ue: 'u2', units: 2 },
    ];
    expect(table(packUnits(workers, ues))).toEqual({
      'edge-a': { u1: 2, u2: 1 },
      'edge-b': { u2: 1, u3: 1 },
    });
  });

  it('leaves out UEs with 0 units and workers with 0 units', () => {
    const packing = packUnits(
      [
        { id: 'a', units: 0 },
        { id: 'b', units: 2 },
      ],
      [
        { ue: 'x', units: 0 },
        { ue: 'y', units: 1 },
      ],
    );
    expect(table(packing)).toEqual({ b: { y: 1 } });
    expect(sharesOf(packing, 'a').size).toBe(0);
    expect([...servedUes(packing)]).toEqual(['y']);
  });

  it('serves the first UEs by id in full when R is short', () => {
    const packing = packUnits(
      [{ id: 'w', units: 2 }],
      [
        { ue: 'c', units: 2 },
        { ue: 'a', units: 2 },
        { ue: 'b', units: 2 },
      ],
    );
    expect(table(packing)).toEqual({ w: { a: 2 } });
  });

  it('sorts by code unit, not locale ("B" before "a")', () => {
    const packing = packUnits(
      [
        { id: 'a', units: 1 },
        { id: 'B', units: 1 },
      ],
      [{ ue: 'u', units: 1 }],
    );
    expect(table(packing)).toEqual({ B: { u: 1 } });
  });

  it('never gives a worker more than its units, nor a UE more than its units', () => {
    fc.assert(
      fc.property(workersArb, uesArb, (workers, ues) => {
        const packing = packUnits(workers, ues);
        for (const worker of workers)
          expect(sum(sharesOf(packing, worker.id).values())).toBeLessThanOrEqual(worker.units);
        for (const ue of ues) {
          let given = 0;
          for (const shares of packing.values()) given += shares.get(ue.ue) ?? 0;
          expect(given).toBeLessThanOrEqual(ue.units);
        }
        for (const shares of packing.values())
          for (const share of shares.values()) expect(share).toBeGreaterThan(0);
      }),
    );
  });

  it('gives every UE all its units when R suffices', () => {
    fc.assert(
      fc.property(workersArb, uesArb, (workers, ues) => {
        fc.pre(sum(ues.map((ue) => ue.units)) <= sum(workers.map((worker) => worker.units)));
        const packing = packUnits(workers, ues);
        for (const ue of ues) {
          let given = 0;
          for (const shares of packing.values()) given += shares.get(ue.ue) ?? 0;
          expect(given).toBe(ue.units);
        }
      }),
    );
  });

  it('hands out min(R, demand) units in total', () => {
    fc.assert(
      fc.property(workersArb, uesArb, (workers, ues) => {
        const packing = packUnits(workers, ues);
        const given = sum([...packing.values()].map((shares) => sum(shares.values())));
        const r = sum(workers.map((worker) => worker.units));
        expect(given).toBe(Math.min(r, sum(ues.map((ue) => ue.units))));
      }),
    );
  });

  it('is deterministic: the same inputs in any order give the same packing', () => {
    fc.assert(
      fc.property(
        workersArb.chain((workers) =>
          fc.tuple(
            fc.constant(workers),
            fc.shuffledSubarray(workers, { minLength: workers.length }),
          ),
        ),
        uesArb.chain((ues) =>
          fc.tuple(fc.constant(ues), fc.shuffledSubarray(ues, { minLength: ues.length })),
        ),
        ([workers, shuffledWorkers], [ues, shuffledUes]) => {
          expect(table(packUnits(shuffledWorkers, shuffledUes))).toEqual(
            table(packUnits(workers, ues)),
          );
        },
      ),
    );
  });
});

describe('planQueues', () => {
  it('serves its shares, stops UEs others serve, and lists UEs nobody serves', () => {
    const packing = packUnits(
      [
        { id: 'a', units: 2 },
        { id: 'b', units: 1 },
      ],
      [
        { ue: 'u1', units: 2 },
        { ue: 'u2', units: 1 },
        { ue: 'u3', units: 4 },
        { ue: 'u4', units: 0 },
      ],
    );
    const plan = planQueues(packing, 'a', ['u2', 'u3', 'u4', 'gone', 'u1', 'u2']);
    expect(Object.fromEntries(plan.serve)).toEqual({ u1: 2 });
    expect(plan.stop).toEqual(['u2']);
    expect(plan.unserved).toEqual(['u3', 'u4', 'gone']);
  });
});
