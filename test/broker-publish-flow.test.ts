import { describe, expect, it } from 'vitest';
import { createBroker } from '../broker/index.js';
import { type PausableClient, PublishFlow } from '../broker/publish-flow.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { recordingLogger } from './recording-logger.js';

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
    const flow = new PublishFlow({ perClient: 2, total: 100, totalBytes: 1e9 });
    const flooding = new FakeClient();
    const quiet = new FakeClient();
    const first = deferred();
    const works = [first, deferred()];
    for (const work of works) flow.track(flooding, work.promise, 10);
    flow.track(quiet, deferred().promise, 10);
    expect(flooding.reading).toBe(false);
    expect(quiet.reading).toBe(true);
    expect(flow.pending).toBe(3);
    first.resolve();
    await settle();
    expect(flooding.reading).toBe(true);
    // Resumed so that aedes reads on at once (see publish-flow.ts).
    expect(flooding._parsingBatch).toBe(1);
    expect(flow.pending).toBe(2);
  });

  it('stops reading every publisher while the total is reached, and a failure counts as done', async () => {
    const flow = new PublishFlow({ perClient: 10, total: 2, totalBytes: 1e9 });
    const [a, b, c] = [new FakeClient(), new FakeClient(), new FakeClient()];
    const first = deferred();
    flow.track(a, first.promise, 10);
    flow.track(b, deferred().promise, 10);
    expect([a.reading, b.reading]).toEqual([true, false]);
    flow.track(c, deferred().promise, 10);
    expect(c.reading).toBe(false);
    first.reject(new Error('redis down'));
    await settle();
    // Two still pending: the total is still reached.
    expect([b.reading, c.reading]).toEqual([false, false]);
    expect(flow.pending).toBe(2);
  });

  it('stops reading every publisher while the payload bytes in hand reach their limit', async () => {
    const flow = new PublishFlow({ perClient: 10, total: 100, totalBytes: 1000 });
    const [a, b] = [new FakeClient(), new FakeClient()];
    const big = deferred();
    flow.track(a, big.promise, 900);
    expect(a.reading).toBe(true);
    flow.track(b, deferred().promise, 200);
    expect([a.reading, b.reading]).toEqual([true, false]);
    expect(flow.pendingBytes).toBe(1100);
    big.resolve();
    await settle();
    expect(b.reading).toBe(true);
    expect(flow.pendingBytes).toBe(200);
  });

  it('refuses limits below 1', () => {
    expect(() => new PublishFlow({ perClient: 0, total: 5, totalBytes: 5 })).toThrow(RangeError);
    expect(() => new PublishFlow({ perClient: 5, total: 0, totalBytes: 5 })).toThrow(RangeError);
    expect(() => new PublishFlow({ perClient: 5, total: 5, totalBytes: 0 })).toThrow(RangeError);
  });
});

describe('Broker.intercept', () => {
  it('sees client publishes only, survives an interceptor that throws or rejects, and can be removed', async () => {
    const { lines, logger } = recordingLogger();
    const broker = await createBroker({ port: 0, host: '127.0.0.1', auth: 'off', logger });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const seen: string[] = [];
    const removeSeen = broker.intercept((topic, payload) => {
      seen.push(`${topic}=${payload.toString()}`);
      return undefined;
    });
    broker.intercept(() => {
      throw new Error('thrown by an interceptor');
    });
    broker.intercept(() => Promise.reject(new Error('rejected by an interceptor')));
    const publisher = await connectMqtt({ url, reconnectPeriod: 0 });
    const reader = await connectMqtt({ url, reconnectPeriod: 0 });
    try {
      await reader.subscribeAsync('t/#', { qos: 1 });
      const received = new Promise<string>((resolve) =>
        reader.once('message', (_topic, payload) => resolve(payload.toString())),
      );
      await publisher.publishAsync('t/a', 'one', { qos: 1 });
      expect(await received).toBe('one');
      await broker.publish('t/b', Buffer.from('from the broker'));
      removeSeen();
      await publisher.publishAsync('t/c', 'three', { qos: 1 });
      expect(seen).toEqual(['t/a=one']);
      await new Promise((resolve) => setImmediate(resolve));
      expect(lines.some((line) => line.includes('thrown by an interceptor'))).toBe(true);
      expect(lines.some((line) => line.includes('rejected by an interceptor'))).toBe(true);
    } finally {
      publisher.end(true);
      reader.end(true);
      await broker.close();
    }
  });
});
