import { describe, expect, it } from 'vitest';
import { type PausableClient, PublishFlow } from '../broker/publish-flow.js';

/** A stand-in for an aedes client that records whether it is being read. */
class FakeClient implements PausableClient {
  reading = true;
  _parsingBatch = 3;
  pause(): void {
    this.reading = false;
  }
  resume(): void {
    this.reading = true;
  }
}

function deferred(): { promise: Promise<void>; resolve(): void; reject(error: Error): void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PublishFlow', () => {
  it('stops reading a client at its limit, and only that client', async () => {
    const flow = new PublishFlow({ perClient: 2, total: 100 });
    const flooding = new FakeClient();
    const quiet = new FakeClient();
    const works = [deferred(), deferred()];
    for (const work of works) flow.track(flooding, work.promise);
    flow.track(quiet, deferred().promise);
    expect(flooding.reading).toBe(false);
    expect(quiet.reading).toBe(true);
    expect(flow.pending).toBe(3);
    works[0]!.resolve();
    await settle();
    expect(flooding.reading).toBe(true);
    // Resumed so that aedes reads on at once (see publish-flow.ts).
    expect(flooding._parsingBatch).toBe(1);
    expect(flow.pending).toBe(2);
  });

  it('stops reading every publisher while the total is reached, and a failure counts as done', async () => {
    const flow = new PublishFlow({ perClient: 10, total: 2 });
    const [a, b, c] = [new FakeClient(), new FakeClient(), new FakeClient()];
    const first = deferred();
    flow.track(a, first.promise);
    flow.track(b, deferred().promise);
    expect([a.reading, b.reading]).toEqual([true, false]);
    flow.track(c, deferred().promise);
    expect(c.reading).toBe(false);
    first.reject(new Error('redis down'));
    await settle();
    // Two still pending: the total is still reached.
    expect([b.reading, c.reading]).toEqual([false, false]);
    expect(flow.pending).toBe(2);
  });

  it('refuses limits below 1', () => {
    expect(() => new PublishFlow({ perClient: 0, total: 5 })).toThrow(RangeError);
    expect(() => new PublishFlow({ perClient: 5, total: 0 })).toThrow(RangeError);
  });
});
