import { describe, expect, it } from 'vitest';
import { type Decision, encodeMessage, type Message } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import {
  decisionsAfter,
  planDecisions,
  routeMessage,
  type TargetDecision,
  targetTable,
} from '../scheduler/index.js';
import { AT, link, profile, worker } from './scheduler-fixtures.js';

function target(
  ue: string,
  cut: number,
  units: number,
  predictedMs: number,
  model = 'alexnet',
): TargetDecision {
  return { ue, model, cut, cutName: `cut${cut}`, units, predictedMs, solver: 'optimal' };
}

describe('planDecisions', () => {
  it('publishes everything under epoch + 1 at first, setting unknown queues before', () => {
    const plan = planDecisions({
      previous: new Map(),
      applied: new Map(),
      targets: targetTable([target('a', 0, 3, 100), target('b', 2, 0, 80)]),
      epoch: 41,
    });
    expect(plan.epoch).toBe(42);
    expect(plan.publish.map((p) => [p.ue, p.decision.epoch])).toEqual([
      ['a', 42],
      ['b', 42],
    ]);
    expect(plan.raise).toEqual([
      { ue: 'a', from: undefined, to: 3 },
      { ue: 'b', from: undefined, to: 1 }, // 0 units keep 1, to drain
    ]);
    expect(plan.lower).toEqual([]);
    expect(plan.clear).toEqual([]);
  });

  it('publishes only changed decisions, with the 1% predictedMs rule, and keeps the epoch when nothing changed', () => {
    const first = planDecisions({
      previous: new Map(),
      applied: new Map(),
      targets: targetTable([target('a', 0, 3, 100), target('b', 1, 2, 200)]),
      epoch: 0,
    });
    const applied = new Map([
      ['a', 3],
      ['b', 2],
    ]);
    const same = planDecisions({
      previous: decisionsAfter(new Map(), first),
      applied,
      targets: targetTable([target('a', 0, 3, 100.9), target('b', 1, 2, 198.5)]),
      epoch: first.epoch,
    });
    expect(same.epoch).toBe(1);
    expect(same.publish).toEqual([]);
    expect(same.raise).toEqual([]);
    expect(same.lower).toEqual([]);
    const kept = decisionsAfter(decisionsAfter(new Map(), first), same);
    expect(kept.get('a')?.predictedMs).toBe(100);
    const moved = planDecisions({
      previous: kept,
      applied,
      targets: targetTable([target('a', 0, 3, 101.5), target('b', 1, 2, 200)]),
      epoch: same.epoch,
    });
    expect(moved.epoch).toBe(2);
    expect(moved.publish).toEqual([
      {
        ue: 'a',
        decision: {
          epoch: 2,
          cut: 0,
          cutName: 'cut0',
          units: 3,
          predictedMs: 101.5,
          solver: 'optimal',
          model: 'alexnet',
        },
      },
    ]);
    const afterMoved = decisionsAfter(kept, moved);
    expect(afterMoved.get('b')?.epoch).toBe(1);
    // A new model (a new profile) is news even at the same cut, units and prediction.
    const remodelled = planDecisions({
      previous: afterMoved,
      applied,
      targets: targetTable([target('a', 0, 3, 101.5), target('b', 1, 2, 200, 'resnet18')]),
      epoch: moved.epoch,
    });
    expect(remodelled.publish.map((p) => [p.ue, p.decision.model])).toEqual([['b', 'resnet18']]);
  });

  it('orders concurrency: raises before publishing, lowers after; a cleared UE drains at 1', () => {
    const previous = new Map<string, Decision>(
      (
        [
          ['a', 2],
          ['b', 4],
          ['c', 1],
          ['d', 3],
        ] as const
      ).map(([ue, units]) => [
        ue,
        { epoch: 7, cut: 0, cutName: 'cut0', units, predictedMs: 50, solver: 'optimal' },
      ]),
    );
    const applied = new Map([
      ['a', 2],
      ['b', 4],
      ['c', 1],
      ['d', 3],
    ]);
    const plan = planDecisions({
      previous,
      applied,
      targets: targetTable([target('a', 0, 4, 40), target('b', 1, 2, 60), target('c', 2, 0, 70)]),
      epoch: 7,
    });
    expect(plan.epoch).toBe(8);
    expect(plan.raise).toEqual([{ ue: 'a', from: 2, to: 4 }]);
    expect(plan.lower).toEqual([
      { ue: 'b', from: 4, to: 2 },
      { ue: 'd', from: 3, to: 1 },
    ]);
    expect(plan.clear).toEqual(['d']);
    expect(plan.publish.map((p) => p.ue)).toEqual(['a', 'b', 'c']);
    expect(decisionsAfter(previous, plan).has('d')).toBe(false);
  });

  it('keeps epochs strictly increasing over a run of changes', () => {
    let previous = new Map<string, Decision>() as ReadonlyMap<string, Decision>;
    let epoch = 5;
    const seen: number[] = [];
    for (let k = 0; k < 20; k++) {
      const plan = planDecisions({
        previous,
        applied: new Map(),
        targets: targetTable([target('a', k % 3, 1 + (k % 2), 100 + k * 10)]),
        epoch,
      });
      expect(plan.epoch).toBe(epoch + 1);
      seen.push(defined(plan.publish[0], 'the published decision').decision.epoch);
      previous = decisionsAfter(previous, plan);
      epoch = plan.epoch;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, k) => 6 + k));
  });
});

describe('routeMessage', () => {
  const prefix = 'p/v1';
  const enc = (value: unknown) => encodeMessage(value as Message);

  it('rejects invalid payloads on every input topic, naming the field and the UE', () => {
    const cases: [string, Uint8Array, string][] = [
      ['p/v1/ue/a/status', enc({ state: 'sleeping', agentVersion: '1', at: AT }), 'status.state'],
      [
        'p/v1/ue/a/profile',
        enc({ ...profile(), batch: 0 }),
        'profile.batch: must be an integer from 1',
      ],
      ['p/v1/ue/a/link', enc({ ...link(50), uplinkMbps: -1 }), 'link.uplinkMbps'],
      ['p/v1/ue/a/link', Uint8Array.from([0xc1, 0x00]), 'link'],
    ];
    for (const [topic, payload, issue] of cases) {
      const inbound = routeMessage(prefix, topic, payload);
      if (inbound.kind !== 'rejected') throw new Error(`${topic} was not rejected`);
      expect(inbound.rejected.ue).toBe('a');
      expect(inbound.rejected.error.issues.join('\n')).toContain(issue);
    }
    const bad = routeMessage(prefix, 'p/v1/edge/w1/status', enc({ ...worker(1, {}), units: -2 }));
    expect(bad).toMatchObject({ kind: 'rejected', rejected: { worker: 'w1' } });
  });

  it('ignores empty (cleared) payloads, foreign topics and channels it does not read', () => {
    const empty = new Uint8Array(0);
    expect(routeMessage(prefix, 'p/v1/ue/a/status', empty).kind).toBe('ignored');
    expect(routeMessage(prefix, 'other/ue/a/link', enc(link(5))).kind).toBe('ignored');
    expect(routeMessage(prefix, 'p/v1/ue/a/result', enc(link(5))).kind).toBe('ignored');
    expect(routeMessage(prefix, 'p/v1/ue/a/link', enc(link(5))).kind).toBe('event');
  });
});
