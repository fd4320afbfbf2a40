import { describe, expect, it } from 'vitest';
import {
  type Decision,
  type ErrorReport,
  encodeMessage,
  type SchedulerStatus,
} from '../proto/index.js';
import {
  type ConcurrencyPort,
  type DecisionSink,
  routeMessage,
  SchedulerEngine,
  type SolveReport,
} from '../scheduler/index.js';
import {
  edge,
  link,
  linkEvent,
  offline,
  online,
  profile,
  profileEvent,
  worker,
} from './scheduler-fixtures.js';

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

  it('after a reconnect, takes the workers not heard from again for offline, says which, and solves on the units left', async () => {
    const ports = fakePorts();
    const { engine, solved } = engineWith(ports);
    const reports: Array<{ kept: readonly string[]; dropped: readonly string[] }> = [];
    engine.on('reconfirmed', (report) => reports.push(report));
    engine.apply(edge('w1', worker(2, { m: [30, 10, 0] })));
    engine.apply(edge('w2', worker(3, { m: [30, 10, 0] })));
    engine.apply(online('a'));
    engine.apply(profileEvent('a'));
    engine.apply(linkEvent('a', link(50)));
    engine.start();
    await engine.idle();
    expect(solved.at(-1)?.units).toBe(5);

    engine.reconfirmWorkers(new Set(['w1']));
    await engine.idle();
    expect(reports).toEqual([{ kept: ['w1'], dropped: ['w2'] }]);
    expect([...engine.snapshot().fleet.workers.keys()]).toEqual(['w1']);
    expect(solved.at(-1)?.units).toBe(2);
    await engine.close();
  });
});
