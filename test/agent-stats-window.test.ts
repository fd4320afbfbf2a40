import { describe, expect, it } from 'vitest';
import { StatsWindow } from '../agents/stats-window.js';
import { validateMessage } from '../proto/index.js';

describe('the stats window of an agent', () => {
  it('summarises the tasks of the window: count, failures, p50 and p99, the latest task', () => {
    const window = new StatsWindow(10_000);
    const t0 = 1_700_000_000_000;
    window.add({ at: t0, measuredMs: 500, predictedMs: 10, ok: true });
    for (let i = 1; i <= 4; i++)
      window.add({ at: t0 + 5_000 + i, measuredMs: i * 10, predictedMs: 12, ok: i !== 2 });
    const stats = window.summary(t0 + 12_000);
    expect(validateMessage('stats', stats).ok).toBe(true);
    // The first task left the window.
    expect(stats).toEqual({
      at: t0 + 12_000,
      windowMs: 10_000,
      tasks: 4,
      failed: 1,
      p50Ms: 25,
      p99Ms: expect.closeTo(39.7, 9),
      lastMs: 40,
      predictedMs: 12,
      totalTasks: 5,
    });
  });

  it('says null, not zero, when no task finished in the window', () => {
    const window = new StatsWindow(1000);
    window.add({ at: 0, measuredMs: 5, predictedMs: 5, ok: true });
    const stats = window.summary(5000);
    expect(validateMessage('stats', stats).ok).toBe(true);
    expect(stats).toMatchObject({
      tasks: 0,
      p50Ms: null,
      p99Ms: null,
      lastMs: null,
      totalTasks: 1,
    });
  });
});
