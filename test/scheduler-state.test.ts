import { describe, expect, it } from 'vitest';
import type { LinkEstimate } from '../proto/index.js';
import { applyFleetEvent, buildInstance, parseInstance } from '../scheduler/index.js';
import {
  AT,
  edge,
  link,
  linkEvent,
  OPTIONS,
  offline,
  online,
  profile,
  profileEvent,
  reduce,
  twoUeFleet,
  worker,
} from './scheduler-fixtures.js';

describe('fleet state reducer', () => {
  it('schedules a UE once it is online with a profile and a link, re-solving only then', () => {
    const { state, resolves } = reduce([
      profileEvent('a'),
      linkEvent('a', link(50)),
      online('a'),
      online('a'),
    ]);
    expect(resolves).toEqual([false, false, true, false]);
    expect(buildInstance(state).instance.ues.map((u) => u.id)).toEqual([]);
    // ... and no worker serves model "m" yet: it is forced local, with a reason.
    expect(buildInstance(state).forcedLocal).toEqual([
      {
        ue: 'a',
        reason: 'no online edge worker serves model "m"',
        field: 'profile.model',
        cut: 2,
        cutName: 'output',
        predictedMs: 200,
      },
    ]);
  });

  it('applies hysteresis against the link last planned with, so drift still adds up', () => {
    let state = twoUeFleet();
    const step = (l: LinkEstimate) => {
      const update = applyFleetEvent(state, linkEvent('a', l), OPTIONS);
      const same = update.state === state;
      state = update.state;
      return { resolve: update.resolve, same };
    };
    expect(step(link(50))).toEqual({ resolve: false, same: true });
    expect(step(link(47))).toEqual({ resolve: false, same: true }); // 6%
    expect(step(link(46))).toEqual({ resolve: false, same: true }); // 8% of 50
    expect(step(link(45))).toEqual({ resolve: true, same: false }); // 10% of 50
    expect(state.ues.get('a')?.link?.uplinkMbps).toBe(45);
    expect(step(link(2))).toEqual({ resolve: true, same: false }); // 50 -> 2 Mbps style drop
    expect(step(link(2, 10.5))).toEqual({ resolve: false, same: true }); // rtt +5%
    expect(step(link(2, 12))).toEqual({ resolve: true, same: false }); // rtt +20%
    expect(step(link(2, 12, 100))).toEqual({ resolve: true, same: false }); // downlink appears
    expect(step(link(2, 12, 95))).toEqual({ resolve: false, same: true });
    expect(step(link(2, 12))).toEqual({ resolve: true, same: false }); // downlink unlimited again
  });

  it('takes the hysteresis threshold from its options; 0 re-solves any real change', () => {
    const state = twoUeFleet();
    const at5 = applyFleetEvent(state, linkEvent('a', link(47)), { hysteresis: 0.05 });
    expect(at5.resolve).toBe(true);
    const at0 = applyFleetEvent(state, linkEvent('a', link(49.99)), { hysteresis: 0 });
    expect(at0.resolve).toBe(true);
    const same = applyFleetEvent(state, linkEvent('a', { ...link(50), measuredAt: AT + 1 }), {
      hysteresis: 0,
    });
    expect(same).toEqual({ state, resolve: false });
  });

  it('keeps the latest link of a UE outside the solve, without re-solving', () => {
    let state = twoUeFleet();
    state = applyFleetEvent(state, offline('a'), OPTIONS).state;
    const update = applyFleetEvent(state, linkEvent('a', link(49)), OPTIONS);
    expect(update.resolve).toBe(false);
    expect(update.state.ues.get('a')?.link?.uplinkMbps).toBe(49);
  });

  it('re-solves on a changed profile but not on an identical one', () => {
    const state = twoUeFleet();
    expect(applyFleetEvent(state, profileEvent('a', profile()), OPTIONS)).toEqual({
      state,
      resolve: false,
    });
    expect(applyFleetEvent(state, profileEvent('a', profile('m', 4)), OPTIONS).resolve).toBe(true);
  });

  it('frees the units of a UE that goes offline (last will)', () => {
    const before = twoUeFleet();
    const update = applyFleetEvent(before, offline('b'), OPTIONS);
    expect(update.resolve).toBe(true);
    expect(buildInstance(update.state).instance.ues.map((u) => u.id)).toEqual(['a']);
    // Its profile and link are kept: they are retained and won't be sent again.
    expect(update.state.ues.get('b')?.profile).toBeDefined();
    expect(applyFleetEvent(update.state, online('b'), OPTIONS).resolve).toBe(true);
  });

  it('shrinks R when an edge worker goes offline, and ignores a republish with only a new time', () => {
    let state = reduce([edge('w2', worker(3, { m: [30, 10, 0] }))], twoUeFleet()).state;
    expect(buildInstance(state).instance.edge.units).toBe(7);
    const republish = applyFleetEvent(
      state,
      edge('w2', { ...worker(3, { m: [30, 10, 0] }), at: AT + 5 }),
      OPTIONS,
    );
    expect(republish.resolve).toBe(false);
    const gone = applyFleetEvent(state, edge('w2', worker(3, {}, false)), OPTIONS);
    expect(gone.resolve).toBe(true);
    state = gone.state;
    expect(buildInstance(state).instance.edge.units).toBe(4);
    expect(state.workers.has('w2')).toBe(false);
    // An unknown worker's last will changes nothing.
    expect(applyFleetEvent(state, edge('w9', worker(0, {}, false)), OPTIONS).resolve).toBe(false);
  });
});

describe('buildInstance', () => {
  it('takes per cut the largest edgeMs over the online workers serving the model', () => {
    const { state } = reduce(
      [
        edge('w2', worker(2, { m: [25, 12, 0] })),
        edge('w3', worker(0, { m: [90, 90, 0] })), // no units: serves nothing
        edge('w4', worker(1, { other: [5, 0] })),
        online('a'),
        linkEvent('a', link(20, 5, 40)),
      ],
      twoUeFleet(),
    );
    const { instance, forcedLocal } = buildInstance(state);
    expect(forcedLocal).toEqual([]);
    expect(instance.edge.units).toBe(7);
    expect(instance.ues.map((u) => u.id)).toEqual(['a', 'b']);
    const [a, b] = instance.ues;
    if (a === undefined || b === undefined) throw new Error('the instance has UEs a and b');
    expect(a.cuts.map((c) => c.edgeMs)).toEqual([30, 12, 0]);
    expect(a).toMatchObject({ batch: 2, uplinkMbps: 20, rttMs: 5, downlinkMbps: 40 });
    expect('downlinkMbps' in b).toBe(false);
    expect(parseInstance(instance).ok).toBe(true);
  });

  it('forces a UE local, naming the worker, when cut counts differ', () => {
    const { state } = reduce([edge('w0', worker(2, { m: [30, 0] }))], twoUeFleet());
    const { instance, forcedLocal } = buildInstance(state);
    expect(instance.ues).toEqual([]);
    expect(forcedLocal.map((f) => f.ue)).toEqual(['a', 'b']);
    expect(forcedLocal[0]).toMatchObject({
      field: 'profile.cuts',
      reason: 'model "m" has 3 cuts in the UE\'s profile but 2 in the edge profile of worker "w0"',
    });
  });

  it('sorts UEs by id whatever the arrival order', () => {
    const events = ['c', 'a', 'b'].flatMap((ue) => [
      online(ue),
      profileEvent(ue),
      linkEvent(ue, link(10)),
    ]);
    const { state } = reduce([edge('w1', worker(4, { m: [30, 10, 0] })), ...events]);
    expect(buildInstance(state).instance.ues.map((u) => u.id)).toEqual(['a', 'b', 'c']);
  });
});
