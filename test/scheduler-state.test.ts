import { describe, expect, it } from 'vitest';
import {
  type Decision,
  type EdgeStatus,
  type ErrorReport,
  encodeMessage,
  type LinkEstimate,
  type Message,
  type Profile,
  type SchedulerStatus,
} from '../proto/index.js';
import {
  applyFleetEvent,
  buildInstance,
  type ConcurrencyPort,
  type DecisionSink,
  EMPTY_FLEET,
  type FleetEvent,
  type FleetState,
  parseInstance,
  planDecisions,
  routeMessage,
  SchedulerEngine,
  type SolveReport,
  type TargetDecision,
} from '../scheduler/index.js';

const OPTIONS = { hysteresis: 0.1 };
const AT = 1_700_000_000_000;

function profile(model = 'm', batch = 2): Profile {
  return {
    model,
    batch,
    resultBytes: 1000,
    cuts: [
      { name: 'input', deviceMs: 0, bytes: 600_000 },
      { name: 'mid', deviceMs: 20, bytes: 100_000 },
      { name: 'output', deviceMs: 100, bytes: 1000 },
    ],
  };
}

function link(uplinkMbps: number, rttMs = 10, downlinkMbps?: number): LinkEstimate {
  const base = { uplinkMbps, rttMs, measuredAt: AT };
  return downlinkMbps === undefined ? base : { ...base, downlinkMbps };
}

function worker(units: number, models: Record<string, number[]>, online = true): EdgeStatus {
  return {
    state: online ? 'online' : 'offline',
    units,
    models: Object.entries(models).map(([model, edgeMs]) => ({ model, edgeMs })),
    at: AT,
  };
}

const online = (ue: string): FleetEvent => ({
  type: 'ueStatus',
  ue,
  status: { state: 'online', agentVersion: '1', at: AT },
});
const offline = (ue: string): FleetEvent => ({
  type: 'ueStatus',
  ue,
  status: { state: 'offline', agentVersion: '1', at: AT },
});
const linkEvent = (ue: string, l: LinkEstimate): FleetEvent => ({ type: 'link', ue, link: l });
const profileEvent = (ue: string, p: Profile = profile()): FleetEvent => ({
  type: 'profile',
  ue,
  profile: p,
});
const edge = (id: string, status: EdgeStatus): FleetEvent => ({
  type: 'edgeStatus',
  worker: id,
  status,
});

/** Applies events in order; returns the final state and each step's resolve flag. */
function reduce(events: readonly FleetEvent[], state: FleetState = EMPTY_FLEET) {
  const resolves: boolean[] = [];
  let current = state;
  for (const event of events) {
    const update = applyFleetEvent(current, event, OPTIONS);
    resolves.push(update.resolve);
    current = update.state;
  }
  return { state: current, resolves };
}

/** One worker with 4 units serving model "m", and UEs a and b online with profile and link. */
function twoUeFleet(): FleetState {
  return reduce([
    edge('w1', worker(4, { m: [30, 10, 0] })),
    ...['a', 'b'].flatMap((ue) => [online(ue), profileEvent(ue), linkEvent(ue, link(50))]),
  ]).state;
}

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
    const a = instance.ues[0]!;
    expect(a.cuts.map((c) => c.edgeMs)).toEqual([30, 12, 0]);
    expect(a).toMatchObject({ batch: 2, uplinkMbps: 20, rttMs: 5, downlinkMbps: 40 });
    expect('downlinkMbps' in instance.ues[1]!).toBe(false);
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

function target(ue: string, cut: number, units: number, predictedMs: number): TargetDecision {
  return { ue, cut, cutName: `cut${cut}`, units, predictedMs, solver: 'optimal' };
}

describe('planDecisions', () => {
  it('publishes everything under epoch + 1 at first, setting unknown queues before', () => {
    const plan = planDecisions({
      previous: new Map(),
      applied: new Map(),
      targets: [target('a', 0, 3, 100), target('b', 2, 0, 80)],
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
      targets: [target('a', 0, 3, 100), target('b', 1, 2, 200)],
      epoch: 0,
    });
    const applied = new Map([
      ['a', 3],
      ['b', 2],
    ]);
    const same = planDecisions({
      previous: first.decisions,
      applied,
      targets: [target('a', 0, 3, 100.9), target('b', 1, 2, 198.5)],
      epoch: first.epoch,
    });
    expect(same.epoch).toBe(1);
    expect(same.publish).toEqual([]);
    expect(same.raise).toEqual([]);
    expect(same.lower).toEqual([]);
    expect(same.decisions.get('a')?.predictedMs).toBe(100);
    const moved = planDecisions({
      previous: same.decisions,
      applied,
      targets: [target('a', 0, 3, 101.5), target('b', 1, 2, 200)],
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
        },
      },
    ]);
    expect(moved.decisions.get('b')?.epoch).toBe(1);
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
      targets: [target('a', 0, 4, 40), target('b', 1, 2, 60), target('c', 2, 0, 70)],
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
    expect(plan.decisions.has('d')).toBe(false);
  });

  it('keeps epochs strictly increasing over a run of changes', () => {
    let previous = new Map<string, Decision>() as ReadonlyMap<string, Decision>;
    let epoch = 5;
    const seen: number[] = [];
    for (let k = 0; k < 20; k++) {
      const plan = planDecisions({
        previous,
        applied: new Map(),
        targets: [target('a', k % 3, 1 + (k % 2), 100 + k * 10)],
        epoch,
      });
      expect(plan.epoch).toBe(epoch + 1);
      seen.push(plan.publish[0]!.decision.epoch);
      previous = plan.decisions;
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

type Call =
  | { kind: 'decision'; ue: string; decision: Decision }
  | { kind: 'clear'; ue: string }
  | { kind: 'error'; ue: string; report: ErrorReport }
  | { kind: 'status'; status: SchedulerStatus }
  | { kind: 'concurrency'; ue: string; value: number };

/** Records every call of the engine's ports, in order. */
function fakePorts(): { sink: DecisionSink; concurrency: ConcurrencyPort; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    sink: {
      publishDecision: (ue, decision) => calls.push({ kind: 'decision', ue, decision }),
      clearDecision: (ue) => calls.push({ kind: 'clear', ue }),
      publishError: (ue, report) => calls.push({ kind: 'error', ue, report }),
      publishStatus: (status) => calls.push({ kind: 'status', status }),
    },
    concurrency: {
      setConcurrency: async (ue, value) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        calls.push({ kind: 'concurrency', ue, value });
      },
      close: async () => {},
    },
  };
}

function trace(calls: readonly Call[]): string[] {
  return calls.map((c) => (c.kind === 'status' ? 'status' : `${c.kind}:${c.ue}`));
}

function engineWith(ports: ReturnType<typeof fakePorts>, coalesceMs = 2) {
  const engine = new SchedulerEngine({
    id: 'sched-1',
    solver: 'optimal',
    coalesceMs,
    hysteresis: 0.1,
    retryMs: 50,
    ...ports,
  });
  const solved: SolveReport[] = [];
  engine.on('solved', (report) => solved.push(report));
  return { engine, solved };
}

describe('SchedulerEngine (fake ports)', () => {
  it('coalesces a burst into one solve, sets raised queues before publishing and lowered ones after', async () => {
    const ports = fakePorts();
    const { engine, solved } = engineWith(ports);
    engine.restoreEpoch(10);
    engine.start();
    await engine.idle();
    expect(solved).toHaveLength(1);
    ports.calls.length = 0;
    engine.apply(edge('w1', worker(4, { m: [30, 10, 0] })));
    for (const ue of ['a', 'b']) {
      engine.apply(online(ue));
      engine.apply(profileEvent(ue, profile('m', 4)));
      engine.apply(linkEvent(ue, link(50)));
    }
    await engine.idle();
    expect(solved).toHaveLength(2);
    expect(solved[1]).toMatchObject({ epoch: 11, ues: 2, units: 4, published: ['a', 'b'] });
    expect(engine.snapshot().decisions.get('b')).toMatchObject({ units: 2 });
    // Each UE's queue gets its units before its decision goes out; the status comes last.
    expect(trace(ports.calls)).toEqual([
      'concurrency:a',
      'decision:a',
      'concurrency:b',
      'decision:b',
      'status',
    ]);
    ports.calls.length = 0;

    // b goes offline: its decision is cleared, a takes all 4 units; the raise comes first, the
    // drain of b's queue to 1 after the publish.
    engine.apply(offline('b'));
    await engine.idle();
    expect(trace(ports.calls)).toEqual([
      'clear:b',
      'concurrency:a',
      'decision:a',
      'status',
      'concurrency:b',
    ]);
    expect(engine.snapshot().decisions.get('a')).toMatchObject({ units: 4, epoch: 12 });
    expect(ports.calls.at(-1)).toEqual({ kind: 'concurrency', ue: 'b', value: 1 });
    expect(engine.stats()).toMatchObject({ solves: 3, epoch: 12, published: 3, cleared: 1 });
    await engine.close();
  });

  it("publishes a decision that does not raise units without waiting for other UEs' raises", async () => {
    const ports = fakePorts();
    const { engine } = engineWith(ports);
    engine.apply(edge('w1', worker(4, { m: [30, 10, 0] })));
    for (const ue of ['a', 'b']) {
      engine.apply(online(ue));
      engine.apply(profileEvent(ue, profile('m', 4)));
      engine.apply(linkEvent(ue, link(50)));
    }
    engine.start();
    await engine.idle();
    ports.calls.length = 0;
    // b now runs one sample per task: local (100 ms) beats a's 174 ms with 3 units, so a takes
    // all 4 units (164 ms) and b runs locally.
    engine.apply(profileEvent('b', profile('m', 1)));
    await engine.idle();
    expect(engine.snapshot().decisions.get('a')?.units).toBe(4);
    expect(engine.snapshot().decisions.get('b')?.units).toBe(0);
    expect(trace(ports.calls)).toEqual([
      'decision:b',
      'concurrency:a',
      'decision:a',
      'status',
      'concurrency:b',
    ]);
    await engine.close();
  });

  it('does not re-solve on a link change under the threshold, and reports forced-local UEs once', async () => {
    const ports = fakePorts();
    const { engine, solved } = engineWith(ports);
    engine.apply(online('a'));
    engine.apply(profileEvent('a', profile('unserved')));
    engine.apply(linkEvent('a', link(50)));
    engine.start();
    await engine.idle();
    const errors = ports.calls.filter((c) => c.kind === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ ue: 'a', report: { code: 'INVALID_INSTANCE' } });
    expect(ports.calls.find((c) => c.kind === 'decision')).toMatchObject({
      decision: { cut: 2, units: 0, predictedMs: 200, solver: 'local' },
    });
    engine.apply(linkEvent('a', link(48)));
    await engine.idle();
    expect(solved).toHaveLength(1);
    engine.apply(linkEvent('a', link(20)));
    await engine.idle();
    expect(solved).toHaveLength(2);
    expect(ports.calls.filter((c) => c.kind === 'error')).toHaveLength(1);
    await engine.close();
  });

  it('answers an invalid payload with an error to the UE and leaves the state alone', async () => {
    const ports = fakePorts();
    const { engine } = engineWith(ports);
    engine.start();
    await engine.idle();
    const before = engine.snapshot();
    const inbound = routeMessage('p', 'p/ue/a/profile', encodeMessage({ ...profile(), cuts: [] }));
    if (inbound.kind !== 'rejected') throw new Error('expected a rejection');
    engine.reject(inbound.rejected);
    expect(engine.snapshot()).toEqual(before);
    const error = ports.calls.find((c) => c.kind === 'error');
    expect(error).toMatchObject({
      ue: 'a',
      report: { code: 'INVALID_PAYLOAD', topic: 'p/ue/a/profile' },
    });
    expect(engine.stats().rejected).toBe(1);
    await engine.close();
  });

  it('retries a failed setGlobalConcurrency and still publishes', async () => {
    const ports = fakePorts();
    let failures = 1;
    const flaky: ConcurrencyPort = {
      setConcurrency: async (ue, value) => {
        if (failures-- > 0) throw new Error('redis down');
        await ports.concurrency.setConcurrency(ue, value);
      },
      close: async () => {},
    };
    const { engine } = engineWith({ ...ports, concurrency: flaky });
    const errors: Error[] = [];
    engine.on('error', (error) => errors.push(error));
    engine.apply(edge('w1', worker(2, { m: [30, 10, 0] })));
    engine.apply(online('a'));
    engine.apply(profileEvent('a'));
    engine.apply(linkEvent('a', link(50)));
    engine.start();
    await engine.idle();
    expect(errors).toHaveLength(1);
    expect(ports.calls.some((c) => c.kind === 'decision')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await engine.idle();
    expect(ports.calls.filter((c) => c.kind === 'concurrency')).toEqual([
      { kind: 'concurrency', ue: 'a', value: 2 },
    ]);
    expect(engine.stats().concurrencyFailures).toBe(1);
    await engine.close();
  });
});
