import { describe, expect, it } from 'vitest';
import { modelCuts, OnnxExecutor, WeightGenerator } from '../dnn/index.js';
import { SessionCache } from '../dnn/session-cache.js';
import type { Tensor } from '../proto/index.js';
import { defined } from '../runtime/defined.js';

/** A session that records whether it was closed. */
class Fake {
  closed = false;
  constructor(readonly name: string) {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

function cacheOf(limit: number) {
  const cache = new SessionCache<Fake>(limit);
  const opened = new Map<string, Fake>();
  const open = (key: string) => async () => {
    const session = new Fake(key);
    opened.set(key, session);
    return session;
  };
  const use = (key: string) => cache.with(key, open(key), async (session) => session.name);
  return { cache, opened, open, use };
}

describe('SessionCache', () => {
  it('closes the least recently used session beyond its limit', async () => {
    const { cache, opened, use } = cacheOf(2);
    await use('a');
    await use('b');
    await use('a'); // a is now more recent than b
    await use('c');
    expect(cache.size).toBe(2);
    expect(opened.get('b')?.closed).toBe(true);
    expect(opened.get('a')?.closed).toBe(false);
    expect(opened.get('c')?.closed).toBe(false);
    // b opens again when asked for.
    await use('b');
    expect(opened.get('b')?.closed).toBe(false);
    expect(opened.get('a')?.closed).toBe(true);
  });

  it('never closes a session a run holds, and closes it once released if over the limit', async () => {
    const { cache, opened, open } = cacheOf(1);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const long = cache.with('a', open('a'), () => held);
    await cache.with('b', open('b'), async () => {});
    expect(opened.get('a')?.closed).toBe(false);
    expect(opened.get('b')?.closed).toBe(true);
    release();
    await long;
    expect(cache.size).toBe(1);
    expect(opened.get('a')?.closed).toBe(false);
  });

  it('does not keep a session that failed to open', async () => {
    const cache = new SessionCache<Fake>(4);
    let attempts = 0;
    const failing = async (): Promise<Fake> => {
      attempts++;
      throw new Error('no such segment');
    };
    await expect(cache.with('x', failing, async () => 0)).rejects.toThrow('no such segment');
    await expect(cache.with('x', failing, async () => 0)).rejects.toThrow('no such segment');
    expect(attempts).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('refuses a limit below 1', () => {
    expect(() => new SessionCache(0)).toThrow(/maxSessions must be a positive integer/);
  });
});

describe('OnnxExecutor with maxSessions', () => {
  it('keeps at most that many ONNX Runtime sessions and reopens a closed one on demand', async () => {
    const executor = new OnnxExecutor({ maxSessions: 2 });
    try {
      const last = modelCuts('tiny-cnn').length - 1;
      const { shape, bytes } = defined(modelCuts('tiny-cnn')[1], "tiny-cnn's cut 1");
      const input: Tensor = {
        dtype: 'float32',
        shape: [...shape],
        data: new WeightGenerator(3).uniform('x', bytes / 4, 1),
      };
      const request = { model: 'tiny-cnn', from: 1, to: last, input };
      const first = await executor.run(request);
      for (const from of [2, 3, 4]) await executor.warm('tiny-cnn', from, last);
      expect(executor.openSessions).toBe(2);
      const again = await executor.run(request);
      expect(again.data).toEqual(first.data);
      expect(executor.openSessions).toBe(2);
    } finally {
      await executor.close();
    }
  });
});
