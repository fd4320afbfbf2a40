import { afterAll, describe, expect, it } from 'vitest';
import {
  modelCuts,
  OnnxExecutor,
  OnnxThreadPool,
  SegmentError,
  type SegmentRequest,
  ThreadedOnnxExecutor,
  WeightGenerator,
} from '../dnn/index.js';
import type { Tensor } from '../proto/index.js';
import { defined } from '../runtime/defined.js';

function inputOf(model: string, cut: number): Tensor {
  const { shape, bytes } = defined(modelCuts(model)[cut], `cut ${cut} of ${model}`);
  return {
    dtype: 'float32',
    shape: [...shape],
    data: new WeightGenerator(7).uniform('x', bytes / 4, 1),
  };
}

/** The longest gap between ticks of a 2 ms timer while `work` runs, in ms. */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  };
  const timer = setInterval(tick, 2);
  await work();
  // One more tick: the gap that ends when the work does.
  await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(timer);
  return longest;
}

describe('ONNX Runtime in worker threads', () => {
  const inThread = new OnnxExecutor();
  const threaded = new ThreadedOnnxExecutor({ workers: 2 });
  afterAll(() => Promise.all([inThread.close(), threaded.close()]));

  it('computes exactly what a session on the calling thread computes, heads and tails', async () => {
    const last = modelCuts('resnet18').length - 1;
    for (const [from, to] of [
      [0, 4],
      [4, last],
    ] as const) {
      const request: SegmentRequest = {
        model: 'resnet18',
        from,
        to,
        input: inputOf('resnet18', from),
      };
      const [expected, got] = await Promise.all([inThread.run(request), threaded.run(request)]);
      expect(got.shape).toEqual(expected.shape);
      expect(got.data).toBeInstanceOf(Float32Array);
      expect(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength)).toEqual(
        Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength),
      );
    }
  });

  it('keeps the calling thread free while a long inference runs (a session on it holds it)', async () => {
    const last = modelCuts('vgg16').length - 1;
    const request: SegmentRequest = {
      model: 'vgg16',
      from: 0,
      to: last,
      input: inputOf('vgg16', 0),
    };
    await Promise.all([inThread.run(request), threaded.warm('vgg16', 0, last)]);
    let ranMs = 0;
    const heldByInThread = await longestStall(async () => {
      const started = performance.now();
      await inThread.run(request);
      ranMs = performance.now() - started;
    });
    const heldByThreaded = await longestStall(() => threaded.run(request));
    // The in-thread run holds the event loop for about its whole duration...
    expect(heldByInThread).toBeGreaterThan(ranMs * 0.5);
    // ...the threaded one for a small part of it at most (copying the input and output); both
    // measured in this run, with room for a busy machine's pauses.
    expect(heldByThreaded).toBeLessThan(heldByInThread / 2);
  });

  it('reports a segment it cannot run as a SegmentError', async () => {
    const request = { model: 'no-such-model', from: 0, to: 1, input: inputOf('resnet18', 0) };
    await expect(threaded.run(request)).rejects.toThrow(SegmentError);
    await expect(threaded.run(request)).rejects.toThrow(/unknown model "no-such-model"/);
  });

  it('makes a run last its target when the computation is faster (an emulated device)', async () => {
    const device = new ThreadedOnnxExecutor({ workers: 1, targetMs: () => 300 });
    try {
      const started = performance.now();
      await device.run({ model: 'resnet18', from: 0, to: 2, input: inputOf('resnet18', 0) });
      expect(performance.now() - started).toBeGreaterThanOrEqual(299);
    } finally {
      await device.close();
    }
  });

  it('opens a warmed segment on every thread, a busy one included, and says which', async () => {
    const pool = new OnnxThreadPool({ workers: 2 });
    try {
      const last = modelCuts('vgg16').length - 1;
      // One thread is busy with a whole VGG-16 when the warm-up starts: a warm-up task would go
      // to the free thread, twice, and leave the busy one to open its session at a request.
      const busy = pool.run({ model: 'vgg16', from: 0, to: last, input: inputOf('vgg16', 0) });
      const threads = await pool.warm('resnet18', 0, 3);
      expect(new Set(threads).size).toBe(2);
      await busy;
      await expect(pool.warm('no-such-model', 0, 1)).rejects.toThrow(SegmentError);
    } finally {
      await pool.close();
    }
    await expect(pool.warm('resnet18', 0, 3)).rejects.toThrow(/closed/);
  });

  it('refuses runs once closed', async () => {
    const executor = new ThreadedOnnxExecutor({ workers: 1 });
    await executor.close();
    await expect(
      executor.run({ model: 'resnet18', from: 0, to: 2, input: inputOf('resnet18', 0) }),
    ).rejects.toThrow(/closed/);
  });
});
