import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type Decision, decisionsKey, epochKey } from '../proto/index.js';
import { readDecisionSnapshot } from '../runtime/decision-snapshot.js';
import {
  type DecisionSink,
  LeaderLock,
  leaderKey,
  RedisDecisionLedger,
  SchedulerEngine,
} from '../scheduler/index.js';
import {
  edge,
  link,
  linkEvent,
  online,
  profile,
  profileEvent,
  worker,
} from './scheduler-fixtures.js';
import { testRedisUrl, uniquePrefix } from './services.js';

const decision = (epoch: number, units: number): Decision => ({
  epoch,
  cut: 1,
  cutName: 'c1',
  units,
  predictedMs: 100,
  solver: 'optimal',
  model: 'm',
});

describe('the decision ledger (real Redis)', () => {
  const redis = new Redis(testRedisUrl());
  const prefixes: string[] = [];
  const prefix = () => {
    const p = uniquePrefix('ledger');
    prefixes.push(p);
    return p;
  };
  afterAll(async () => {
    for (const p of prefixes) await redis.del(leaderKey(p), epochKey(p), decisionsKey(p));
    await redis.quit();
  });

  it('records a solve only while its scheduler holds the lock, never below a recorded epoch, and asks for a full record on an empty store', async () => {
    const p = prefix();
    const lock = new LeaderLock(redis, leaderKey(p), 'a', 5000);
    expect(await lock.acquire()).toBe(true);
    const a = new RedisDecisionLedger(redis, p, 'a');
    const b = new RedisDecisionLedger(redis, p, 'b');

    const one = { epoch: 1, set: [['u1', decision(1, 2)] as const], clear: [], full: false };
    expect(await a.commit(one)).toEqual({ kind: 'needsFull' });
    expect(await a.commit({ ...one, full: true })).toEqual({ kind: 'recorded' });
    const two = { epoch: 2, set: [['u2', decision(2, 1)] as const], clear: ['u1'], full: false };
    expect(await a.commit(two)).toEqual({ kind: 'recorded' });
    const snapshot = await readDecisionSnapshot(redis, p);
    expect(snapshot?.epoch).toBe(2);
    expect([...(snapshot?.decisions.keys() ?? [])]).toEqual(['u2']);

    // b does not hold the lock: refused, nothing recorded.
    const three = { epoch: 3, set: [['u3', decision(3, 1)] as const], clear: [], full: false };
    expect((await b.commit(three)).kind).toBe('deposed');
    // a itself may not go back below the recorded epoch.
    const back = { epoch: 1, set: [['u1', decision(1, 4)] as const], clear: [], full: false };
    expect(await a.commit(back)).toEqual({
      kind: 'deposed',
      reason: 'another scheduler recorded a later epoch',
    });
    const after = await readDecisionSnapshot(redis, p);
    expect(after?.epoch).toBe(2);
    expect([...(after?.decisions.keys() ?? [])]).toEqual(['u2']);
  });

  it('an engine whose lock another scheduler holds publishes nothing and reports itself deposed', async () => {
    const p = prefix();
    await redis.set(leaderKey(p), 'someone-else', 'PX', 5000);
    const calls: string[] = [];
    const sink: DecisionSink = {
      publishDecision: (ue) => calls.push(`decision:${ue}`),
      clearDecision: (ue) => calls.push(`clear:${ue}`),
      publishError: (ue) => calls.push(`error:${ue}`),
      publishStatus: () => calls.push('status'),
    };
    const engine = new SchedulerEngine({
      id: 'me',
      solver: 'optimal',
      coalesceMs: 2,
      hysteresis: 0.1,
      retryMs: 50,
      sink,
      concurrency: {
        setConcurrency: async (ue) => {
          calls.push(`concurrency:${ue}`);
        },
        close: async () => {},
      },
      ledger: new RedisDecisionLedger(redis, p, 'me'),
    });
    const deposed: string[] = [];
    engine.on('deposed', ({ reason }) => deposed.push(reason));
    engine.apply(edge('w1', worker(4, { m: [30, 10, 0] })));
    engine.apply(online('a'));
    engine.apply(profileEvent('a', profile('m', 4)));
    engine.apply(linkEvent('a', link(50)));
    engine.start();
    await engine.idle();
    expect(deposed).toEqual(['another scheduler holds the leadership']);
    expect(engine.isDeposed()).toBe(true);
    expect(calls).toEqual([]);
    // Later changes are not solved at all.
    engine.apply(linkEvent('a', link(5)));
    await engine.idle();
    expect(calls).toEqual([]);
    expect(await redis.exists(epochKey(p))).toBe(0);
    await engine.close();
  });
});
