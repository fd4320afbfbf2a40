import { describe, expect, it } from 'vitest';
import { EdgeCalibration } from '../edge-worker/index.js';
import { defined } from '../runtime/defined.js';

const DECLARED = [{ model: 'm', edgeMs: [40, 30, 20, 10, 0.5, 0] }];

function feed(
  calibration: EdgeCalibration,
  jobs: number,
  cut: number,
  compute: number,
  outside: number,
) {
  for (let k = 0; k < jobs; k++) calibration.observe('m', cut, compute, compute + outside);
}

describe('edge profile calibration', () => {
  it('declares again, from enough jobs, what the tails really take: scaled compute plus overhead', () => {
    const calibration = new EdgeCalibration(DECLARED, { minSamples: 20, minIntervalMs: 0 });
    feed(calibration, 19, 1, 60, 4);
    expect(calibration.due(0)).toBeUndefined();
    feed(calibration, 1, 1, 60, 4);
    const [fitted] = calibration.due(1) ?? [];
    // Cut 1 computed twice its declared 30 ms: every cut scales alike, plus 4 ms outside.
    expect(fitted?.edgeMs.map((ms) => Math.round(ms * 10) / 10)).toEqual([84, 64, 44, 24, 5, 0]);
    expect(calibration.current()).toEqual([fitted]);
  });

  it('stays put on noise below the threshold, and waits out the interval', () => {
    const calibration = new EdgeCalibration(DECLARED, { minSamples: 5, minIntervalMs: 5000 });
    feed(calibration, 50, 2, 20.5, 0.2);
    expect(calibration.due(10_000)).toBeUndefined();
    feed(calibration, 200, 2, 40, 0);
    expect(calibration.due(10_000)?.[0]?.edgeMs[2]).toBeCloseTo(40, 0);
    feed(calibration, 200, 2, 80, 0);
    expect(calibration.due(12_000)).toBeUndefined();
    expect(calibration.due(15_001)?.[0]?.edgeMs[2]).toBeCloseTo(80, 0);
  });

  it('keeps a profile non-increasing, and ignores the last cut and unknown models', () => {
    const calibration = new EdgeCalibration(DECLARED, { minSamples: 1, minIntervalMs: 0 });
    calibration.observe('m', 5, 3, 9);
    calibration.observe('other', 0, 3, 9);
    expect(calibration.due(0)).toBeUndefined();
    // A tail under 1 ms declared (cut 4) moves the overhead but not the scale.
    feed(calibration, 30, 4, 3, 3);
    const [fitted] = calibration.due(1) ?? [];
    const { edgeMs } = defined(fitted, 'the fitted model');
    expect(edgeMs.at(-1)).toBe(0);
    for (const [cut, ms] of edgeMs.entries())
      if (cut > 0) expect(ms).toBeLessThanOrEqual(defined(edgeMs[cut - 1], `cut ${cut - 1}`));
    expect(edgeMs[0]).toBeCloseTo(43, 0);
  });
});
