import { describe, expect, it } from 'vitest';
import type { Decision, LinkEstimate, Profile } from '../proto/index.js';
import { defined, mapGet } from '../runtime/defined.js';
import {
  applyFleetEvent,
  applyFleetEventInPlace,
  buildInstance,
  type DecisionSink,
  EMPTY_FLEET,
  type FleetEvent,
  type FleetState,
  IncrementalFleet,
  type MutableFleetState,
  SchedulerEngine,
  type SolveReport,
} from '../scheduler/index.js';
import { prepareFleet } from '../scheduler/solvers/index.js';
import {
  edge,
  link,
  linkEvent,
  OPTIONS,
  offline,
  online,
  profile,
  profileEvent,
  worker,
} from './scheduler-fixtures.js';

/** A deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A profile with four cuts, or (`short`) three: changing it moves the UE's prepared rows. */
function profileOf(model: string, batch: number, short = false): Profile {
  if (short) return profile(model, batch);
  return {
    model,
    batch,
    resultBytes: 500,
    cuts: [
      { name: 'input', deviceMs: 0, bytes: 400_000 },
      { name: 'a', deviceMs: 10, bytes: 200_000 },
      { name: 'b', deviceMs: 30, bytes: 20_000 },
      { name: 'output', deviceMs: 90, bytes: 1000 },
    ],
  };
}

const WORKERS = {
  m: [30, 10, 0],
  n: [40, 20, 8, 0],
  /** As `n`: a UE moving between the two keeps its rows, and only its model changes. */
  k: [40, 20, 8, 0],
};

/** What the solver would get were the input built from the whole fleet. */
function fromScratch(state: FleetState) {
  const built = buildInstance(state);
  return { ...built, prepared: prepareFleet(built.instance) };
}

function expectSameInput(kept: IncrementalFleet, state: FleetState): void {
  const input = kept.current(state);
  const fresh = fromScratch(state);
  expect(input.instance).toEqual(fresh.instance);
  expect(input.forcedLocal).toEqual(fresh.forcedLocal);
  expect(input.prepared).toEqual(fresh.prepared);
  expect(input.models).toEqual(
    fresh.instance.ues.map((ue) => mapGet(state.ues, ue.id, `UE ${ue.id}`).profile?.model),
  );
}

describe('IncrementalFleet', () => {
  it('equals the input built from scratch after every one of 3,000 random events', () => {
    const next = random(11);
    const ids = Array.from({ length: 40 }, (_, k) => `ue-${String(k).padStart(2, '0')}`);
    const kept = new IncrementalFleet();
    let state = EMPTY_FLEET;
    const inPlace: MutableFleetState = { ues: new Map(), workers: new Map() };
    const pick = <T>(list: readonly T[]): T =>
      defined(list[Math.floor(next() * list.length)], 'an item of a non-empty list');
    for (let step = 0; step < 3000; step++) {
      const ue = pick(ids);
      const roll = next();
      let event: FleetEvent;
      if (roll < 0.1) event = next() < 0.7 ? online(ue) : offline(ue);
      else if (roll < 0.2)
        event = profileEvent(ue, profileOf(pick(['m', 'n', 'k', 'x']), 1 + Math.floor(next() * 4)));
      else if (roll < 0.25) event = profileEvent(ue, profileOf('m', 2, true));
      else if (roll < 0.28) {
        const models = next() < 0.5 ? WORKERS : { m: WORKERS.m, k: WORKERS.k };
        event = edge(pick(['w1', 'w2']), worker(Math.floor(next() * 6), models, next() < 0.9));
      } else event = linkEvent(ue, link(1 + next() * 100, next() * 40));
      const update = applyFleetEvent(state, event, OPTIONS);
      // The engine's reducer changes its state in place, with the same outcome as the pure one.
      const workersBefore = inPlace.workers;
      expect(applyFleetEventInPlace(inPlace, event, OPTIONS)).toBe(update.resolve);
      expect(inPlace.workers !== workersBefore).toBe(update.state.workers !== state.workers);
      state = update.state;
      expect(inPlace.ues).toEqual(state.ues);
      expect(inPlace.workers).toEqual(state.workers);
      if (event.type !== 'edgeStatus') kept.touch(event.ue);
      // Not every step is solved: touched UEs pile up between solves, as in a coalesced burst.
      if (next() < 0.5) expectSameInput(kept, state);
    }
    expectSameInput(kept, state);
    const stats = kept.stats();
    expect(stats.patched).toBeGreaterThan(0);
    expect(stats.moved).toBeGreaterThan(0);
  });

  it('updates the instance in place on a link change: no rebuild, one UE patched', () => {
    const ids = Array.from({ length: 1000 }, (_, k) => `ue-${String(k).padStart(4, '0')}`);
    let state = EMPTY_FLEET;
    const apply = (event: FleetEvent) => {
      state = applyFleetEvent(state, event, OPTIONS).state;
    };
    apply(edge('w1', worker(200, WORKERS)));
    for (const ue of ids) {
      apply(online(ue));
      apply(profileEvent(ue, profileOf('n', 2)));
      apply(linkEvent(ue, link(20)));
    }
    const kept = new IncrementalFleet();
    const first = kept.current(state);
    const specs = [...first.instance.ues];
    const before = kept.stats();
    expect(before).toEqual({ rebuilds: 1, prepares: 1, patched: 0, moved: 0 });

    apply(linkEvent('ue-0500', link(2)));
    kept.touch('ue-0500');
    const second = kept.current(state);
    expect(second.instance).toBe(first.instance);
    expect(second.prepared).toBe(first.prepared);
    expect(kept.stats()).toEqual({ rebuilds: 1, prepares: 1, patched: 1, moved: 0 });
    // Every other UE's spec is the very object it was.
    const changed = second.instance.ues.filter((spec, k) => spec !== specs[k]);
    expect(changed.map((spec) => spec.id)).toEqual(['ue-0500']);
    expect(second.prepared).toEqual(fromScratch(state).prepared);

    // A UE leaving the solve is removed from the same lists; the prepared arrays are redone once.
    apply(offline('ue-0007'));
    kept.touch('ue-0007');
    const third = kept.current(state);
    expect(third.instance).toBe(first.instance);
    expect(third.instance.ues).toHaveLength(999);
    expect(kept.stats()).toEqual({ rebuilds: 1, prepares: 2, patched: 1, moved: 1 });
    expectSameInput(kept, state);
  });
});

describe('SchedulerEngine at 2,000 UEs', () => {
  it('keeps its input across link changes and publishes only the decisions that changed', async () => {
    const published: { ue: string; decision: Decision }[] = [];
    const sink: DecisionSink = {
      publishDecision: (ue, decision) => published.push({ ue, decision }),
      clearDecision: () => {},
      publishError: () => {},
      publishStatus: () => {},
    };
    const engine = new SchedulerEngine({
      id: 'sched-1',
      solver: 'optimal',
      coalesceMs: 0,
      hysteresis: 0.1,
      retryMs: 50,
      sink,
      concurrency: { setConcurrency: async () => {}, close: async () => {} },
    });
    const solved: SolveReport[] = [];
    engine.on('solved', (report) => solved.push(report));
    const next = random(5);
    const links = new Map<string, LinkEstimate>();
    const ids = Array.from({ length: 2000 }, (_, k) => `ue-${String(k).padStart(4, '0')}`);
    engine.apply(edge('w1', worker(500, WORKERS)));
    for (const ue of ids) {
      const l = link(2 + next() * 80, 5 + next() * 30);
      links.set(ue, l);
      engine.apply(online(ue));
      engine.apply(
        profileEvent(ue, profileOf(next() < 0.5 ? 'm' : 'n', 1 + Math.floor(next() * 3))),
      );
      engine.apply(linkEvent(ue, l));
    }
    engine.start();
    await engine.idle();
    expect(published).toHaveLength(ids.length);
    const current = new Map(published.map((p) => [p.ue, p.decision]));
    expect(engine.inputStats()).toMatchObject({ rebuilds: 1, prepares: 1 });

    for (let change = 0; change < 30; change++) {
      const ue = defined(ids[Math.floor(next() * ids.length)], 'a UE id');
      const before = mapGet(links, ue, `the link of ${ue}`);
      const after = { ...before, uplinkMbps: before.uplinkMbps * (change % 2 === 0 ? 0.1 : 10) };
      links.set(ue, after);
      published.length = 0;
      const decisionsBefore = new Map(engine.snapshot().decisions);
      engine.apply(linkEvent(ue, after));
      await engine.idle();
      const report = defined(solved.at(-1), 'the report of the solve');
      // Exactly the decisions that differ from the published ones went out, each once.
      const differing = [...engine.snapshot().decisions]
        .filter(([id, decision]) => decisionsBefore.get(id) !== decision)
        .map(([id]) => id)
        .sort();
      expect(published.map((p) => p.ue).sort()).toEqual(differing);
      expect([...report.published].sort()).toEqual(differing);
      expect(published.length).toBeLessThan(ids.length);
      for (const { ue: id, decision } of published) {
        const old = mapGet(current, id, `the decision published before for ${id}`);
        const changed =
          old.cut !== decision.cut ||
          old.units !== decision.units ||
          Math.abs(decision.predictedMs - old.predictedMs) > 0.01 * old.predictedMs;
        expect(changed).toBe(true);
        current.set(id, decision);
      }
    }
    // Thirty link changes, thirty in-place patches; nothing rebuilt, nothing re-prepared.
    expect(engine.inputStats()).toEqual({ rebuilds: 1, prepares: 1, patched: 30, moved: 0 });
    await engine.close();
  });
});

describe('applyFleetEventInPlace', () => {
  it('takes in 30,000 events of 10,000 UEs without copying the fleet per event', () => {
    const state: MutableFleetState = { ues: new Map(), workers: new Map() };
    const ues = state.ues;
    for (let k = 0; k < 10_000; k++) {
      const ue = `ue-${k}`;
      applyFleetEventInPlace(state, online(ue), OPTIONS);
      applyFleetEventInPlace(state, profileEvent(ue, profileOf('n', 1)), OPTIONS);
      expect(applyFleetEventInPlace(state, linkEvent(ue, link(10)), OPTIONS)).toBe(true);
    }
    // The same map throughout: records replaced in it, never the map rebuilt.
    expect(state.ues).toBe(ues);
    expect(ues.size).toBe(10_000);
    expect(applyFleetEventInPlace(state, linkEvent('ue-5', link(10.5)), OPTIONS)).toBe(false);
  });
});
