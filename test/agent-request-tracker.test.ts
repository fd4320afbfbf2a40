import { describe, expect, it } from 'vitest';
import { RequestTracker } from '../agents/request-tracker.js';
import type { InferRequest, InferResult } from '../proto/index.js';
import { request } from './request-fixtures.js';

function resultOf(infer: InferRequest): InferResult {
  return {
    requestId: infer.requestId,
    epoch: infer.epoch,
    cut: infer.cut,
    sample: infer.sample,
    worker: 'w1',
    tensor: { dtype: 'float32', shape: [1], data: new Float32Array([1]) },
    timings: { queueMs: 0, computeMs: 0 },
  };
}

/** A tracker with a long timeout (never reached here) that records what it resends. */
function tracker(maxRetries: number) {
  const resent: string[] = [];
  const tracked = new RequestTracker({
    timeoutMs: 60_000,
    maxRetries,
    retryDelayMs: 20,
    resend: (r) => resent.push(r.requestId),
  });
  return { tracked, resent };
}

describe('the request tracker, given error reports', () => {
  it('sends a request refused with a retryable error again, same id, and takes its result then', async () => {
    const { tracked, resent } = tracker(3);
    const infer = request();
    const outcome = tracked.track(infer);
    expect(tracked.settleError(infer.requestId, 'queue unavailable', true)).toBe(true);
    expect(resent).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(resent).toEqual([infer.requestId]);
    expect(tracked.settleResult(resultOf(infer))).toBe('accepted');
    expect(await outcome).toMatchObject({ ok: true, attempts: 2 });
  });

  it('fails a request at once on a final error, without sending it again', async () => {
    const { tracked, resent } = tracker(3);
    const infer = request();
    const outcome = tracked.track(infer);
    tracked.settleError(infer.requestId, 'payload failed validation', false);
    expect(await outcome).toMatchObject({ ok: false, reason: 'rejected', attempts: 1 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(resent).toEqual([]);
  });

  it('fails a request refused on every attempt once its retries are spent, with the last error', async () => {
    const { tracked, resent } = tracker(2);
    const infer = request();
    const outcome = tracked.track(infer);
    const refuse = () => tracked.settleError(infer.requestId, `full ${resent.length}`, true);
    refuse();
    await new Promise((resolve) => setTimeout(resolve, 60));
    refuse();
    await new Promise((resolve) => setTimeout(resolve, 60));
    refuse();
    const settled = await outcome;
    expect(resent).toHaveLength(2);
    expect(settled).toMatchObject({ ok: false, reason: 'rejected', attempts: 3 });
    expect(settled.ok ? '' : settled.message).toMatch(/full 2$/);
  });
});
