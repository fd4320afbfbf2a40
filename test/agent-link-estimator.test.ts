import { describe, expect, it } from 'vitest';
import {
  estimateMoved,
  LinkEstimator,
  linkMessageOf,
  mbpsOf,
  probeBytesFor,
} from '../agents/index.js';
import { ProbeLimit } from '../broker/probe-limit.js';
import type { LinkEstimate } from '../proto/index.js';

/** A recorded upload of `bytes` at `mbps` starting at `at`, acknowledged one `rttMs` later. */
function upload(at: number, bytes: number, mbps: number, rttMs: number) {
  return { bytes, startedAt: at, ackedAt: at + (bytes * 8) / (mbps * 1000) + rttMs };
}

const within = (actual: number | undefined, expected: number, fraction: number) => {
  expect(actual).toBeDefined();
  expect(Math.abs((actual ?? 0) - expected) / expected).toBeLessThanOrEqual(fraction);
};

describe('LinkEstimator on recorded timelines', () => {
  it('times the uplink as bytes over first byte to last PUBACK less the min RTT', () => {
    const estimator = new LinkEstimator();
    estimator.addRoundTrip({ sentAt: 0, ackedAt: 20 });
    for (let k = 0; k < 6; k++) estimator.addUpload(upload(100 + k * 400, 250_000, 10, 20));
    const view = estimator.estimate(2600);
    within(view.uplinkMbps?.value, 10, 0.001);
    expect(view.uplinkMbps?.samples).toBe(5); // the window: the latest five
    expect(view.uplinkMbps?.ageMs).toBeCloseTo(2600 - (100 + 5 * 400 + 220), 6);
    expect(view.rttMs).toEqual({ value: 20, samples: 1, ageMs: 2580 });
  });

  it('rejects one burst read high and uploads delayed low: the upper quantile holds the rate', () => {
    const estimator = new LinkEstimator();
    const rates = [10, 31, 6, 2.5, 10];
    rates.forEach((mbps, k) => {
      estimator.addUpload(upload(k * 500, 200_000, mbps, 0));
    });
    within(estimator.estimate(3000).uplinkMbps?.value, 10, 0.001);
  });

  it('moves down to the bound of a 20 -> 2 Mbps upload running late while it is on the wire, then confirms the step with the next upload', () => {
    const estimator = new LinkEstimator();
    let at = 0;
    for (let k = 0; k < 5; k++) {
      estimator.addUpload(upload(at, 400_000, 20, 0));
      at += 300;
    }
    // The link drops to 2 Mbps: this upload takes 1.6 s where 20 Mbps predicts 160 ms.
    const inFlight = { bytes: 400_000, startedAt: at };
    const during = (ms: number) => estimator.estimate(at + ms, inFlight).uplinkMbps;
    within(during(300)?.value, 20, 0.001); // late, but not yet by more than a host stall
    expect(during(300)?.provisional).toBeUndefined();
    within(during(500)?.value, mbpsOf(400_000, 500), 0.001); // its bytes over the time so far
    expect(during(500)).toMatchObject({ samples: 1, provisional: true });
    within(during(1000)?.value, mbpsOf(400_000, 1000), 0.001); // the bound keeps falling
    const late = upload(at, 400_000, 2, 0);
    estimator.addUpload(late);
    expect(estimator.provisional).toBe(true);
    within(estimator.estimate(late.ackedAt).uplinkMbps?.value, 2, 0.001);
    const next = upload(late.ackedAt + 300, 400_000, 2, 0);
    estimator.addUpload(next);
    expect(estimator.provisional).toBe(false);
    expect(estimator.estimate(next.ackedAt).uplinkMbps).toMatchObject({ samples: 2 });
    within(estimator.estimate(next.ackedAt).uplinkMbps?.value, 2, 0.001);
    expect(estimator.estimate(next.ackedAt).uplinkMbps?.provisional).toBeUndefined();
  });

  it('keeps the rate through an upload stalled by less than 300 ms, on the wire and after', () => {
    const estimator = new LinkEstimator();
    for (let k = 0; k < 5; k++) estimator.addUpload(upload(k * 300, 400_000, 20, 0));
    // 160 ms at 20 Mbps, stalled 250 ms by a busy host: 2.6 times the prediction.
    const inFlight = { bytes: 400_000, startedAt: 2000 };
    for (let ms = 0; ms <= 410; ms += 10)
      within(estimator.estimate(2000 + ms, inFlight).uplinkMbps?.value, 20, 0.001);
    estimator.addUpload({ bytes: 400_000, startedAt: 2000, ackedAt: 2410 });
    expect(estimator.provisional).toBe(false);
    within(estimator.estimate(2500).uplinkMbps?.value, 20, 0.001);
  });

  it('returns to the rate at once when the upload after a long stall reads it again', () => {
    const estimator = new LinkEstimator();
    for (let k = 0; k < 5; k++) estimator.addUpload(upload(k * 300, 400_000, 20, 0));
    // Stalled 1.2 s: nothing tells it from a step until the next upload.
    estimator.addUpload({ bytes: 400_000, startedAt: 2000, ackedAt: 3360 });
    expect(estimator.estimate(3400).uplinkMbps?.value).toBeLessThan(3);
    estimator.addUpload(upload(3500, 400_000, 20, 0));
    expect(estimator.provisional).toBe(false);
    within(estimator.estimate(3700).uplinkMbps?.value, 20, 0.001);
  });

  it('takes a stall for a stall when the next sample, slowed too, is still nearer the old rate', () => {
    const estimator = new LinkEstimator();
    for (let k = 0; k < 5; k++) estimator.addUpload(upload(k * 300, 400_000, 80, 0));
    estimator.addUpload(upload(2000, 400_000, 5, 0)); // a stall reads 5
    expect(estimator.provisional).toBe(true);
    estimator.addUpload(upload(3000, 400_000, 30, 0)); // a busy host's 30: nearer 80 than 5
    expect(estimator.provisional).toBe(false);
    within(estimator.estimate(3500).uplinkMbps?.value, 80, 0.001);
  });

  it('follows a 2 -> 20 Mbps step up only after two agreeing uploads, never on one in flight', () => {
    const estimator = new LinkEstimator();
    let at = 0;
    for (let k = 0; k < 5; k++) {
      estimator.addUpload(upload(at, 400_000, 2, 0));
      at += 2000;
    }
    // An upload on the wire bounds the rate from above only: it can never raise it.
    within(
      estimator.estimate(at + 50, { bytes: 400_000, startedAt: at }).uplinkMbps?.value,
      2,
      0.001,
    );
    const first = upload(at, 400_000, 20, 0);
    estimator.addUpload(first);
    within(estimator.estimate(first.ackedAt).uplinkMbps?.value, 2, 0.001); // one is an outlier
    const second = upload(first.ackedAt + 300, 400_000, 20, 0);
    estimator.addUpload(second);
    within(estimator.estimate(second.ackedAt).uplinkMbps?.value, 20, 0.001);
  });

  it('moves down on two late uploads in a row even when they disagree, and back on two at the old rate', () => {
    const estimator = new LinkEstimator();
    for (const [k, mbps] of [20, 20, 20, 5, 2].entries())
      estimator.addUpload(upload(k * 1000, 400_000, mbps, 0));
    within(estimator.estimate(6000).uplinkMbps?.value, 3.5, 0.001); // the median of the two
    estimator.addUpload(upload(6000, 400_000, 20, 0));
    expect(estimator.estimate(6500).uplinkMbps?.value).toBeLessThan(20); // one is an outlier
    estimator.addUpload(upload(7000, 400_000, 20, 0));
    within(estimator.estimate(7500).uplinkMbps?.value, 20, 0.001);
  });

  it('does not time uploads too small or too short, unless forced', () => {
    const estimator = new LinkEstimator();
    expect(estimator.addUpload(upload(0, 4000, 1, 0))).toBeUndefined(); // under 8 KiB
    expect(estimator.addUpload(upload(0, 100_000, 100, 0))).toBeUndefined(); // 8 ms on the wire
    expect(estimator.estimate(100).uplinkMbps).toBeUndefined();
    within(estimator.addUpload(upload(0, 100_000, 100, 0), true), 100, 0.001);
  });

  it('reads earlier uploads with the RTT learnt later, taking off at most a quarter of an upload', () => {
    const estimator = new LinkEstimator();
    // The first round trip of a fresh connection came back slowly (150 ms)...
    estimator.addRoundTrip({ sentAt: 0, ackedAt: 150 });
    // ...then a 65,536-byte probe at 2 Mbps (262 ms) acknowledged after 262 + 10 ms.
    estimator.addUpload({ bytes: 65_536, startedAt: 200, ackedAt: 472 });
    expect(estimator.estimate(480).uplinkMbps?.value).toBeGreaterThan(2.4);
    estimator.addRoundTrip({ sentAt: 500, ackedAt: 510 }); // warm: the path's own 10 ms
    within(estimator.estimate(520).uplinkMbps?.value, 2, 0.01);
    const inflated = new LinkEstimator();
    inflated.addRoundTrip({ sentAt: 0, ackedAt: 5000 });
    inflated.addUpload({ bytes: 65_536, startedAt: 6000, ackedAt: 6272 });
    within(inflated.estimate(6300).uplinkMbps?.value, (65_536 * 8) / (204 * 1000), 0.01);
  });

  it('keeps the minimum RTT over its window, then lets a longer path replace it', () => {
    const estimator = new LinkEstimator({ rttWindowMs: 10_000 });
    estimator.addRoundTrip({ sentAt: 0, ackedAt: 20 });
    estimator.addRoundTrip({ sentAt: 1000, ackedAt: 1085 }); // queued behind an upload
    estimator.addRoundTrip({ sentAt: 2000, ackedAt: 2030 });
    expect(estimator.estimate(3000).rttMs?.value).toBe(20);
    estimator.addRoundTrip({ sentAt: 12_000, ackedAt: 12_040 });
    expect(estimator.estimate(12_100).rttMs).toMatchObject({ value: 40, samples: 1 });
  });

  it('times the downlink from results that left the edge together and arrived apart', () => {
    const estimator = new LinkEstimator();
    // Two 4000-byte results finished 1 ms apart at the edge, arriving 16 ms apart: 2 Mbps.
    const taken = estimator.addResults([
      { bytes: 4000, arrivedAt: 1000, finishedAt: 50_000 },
      { bytes: 4000, arrivedAt: 1016, finishedAt: 50_001 },
    ]);
    expect(taken).toHaveLength(1);
    within(estimator.estimate(1100).downlinkMbps?.value, 2, 0.001);
  });

  it('takes no downlink sample from results the edge finished apart, or without edge times', () => {
    const estimator = new LinkEstimator();
    expect(
      estimator.addResults([
        { bytes: 4000, arrivedAt: 1000, finishedAt: 50_000 },
        { bytes: 4000, arrivedAt: 1040, finishedAt: 50_039 },
      ]),
    ).toEqual([]);
    expect(
      estimator.addResults([
        { bytes: 4000, arrivedAt: 1000 },
        { bytes: 4000, arrivedAt: 1016 },
      ]),
    ).toEqual([]);
    expect(estimator.estimate(2000).downlinkMbps).toBeUndefined();
  });

  it('drops samples older than the window age but keeps the newest one', () => {
    const estimator = new LinkEstimator({ maxSampleAgeMs: 1000 });
    estimator.addUpload(upload(0, 100_000, 5, 0));
    estimator.addUpload(upload(5000, 100_000, 8, 0));
    const view = estimator.estimate(20_000);
    expect(view.uplinkMbps?.samples).toBe(1);
    within(view.uplinkMbps?.value, 8, 0.001);
  });
});

describe('link messages and probes', () => {
  const base: LinkEstimate = { uplinkMbps: 10, rttMs: 0.2, measuredAt: 1 };

  it('publishes only past the hysteresis, and never for sub-2 ms RTT jitter', () => {
    expect(estimateMoved(base, { ...base, uplinkMbps: 10.9 }, 0.1)).toBe(false);
    expect(estimateMoved(base, { ...base, uplinkMbps: 11 }, 0.1)).toBe(true);
    expect(estimateMoved(base, { ...base, rttMs: 1.5 }, 0.1)).toBe(false);
    expect(estimateMoved(base, { ...base, rttMs: 30 }, 0.1)).toBe(true);
    expect(estimateMoved(base, { ...base, downlinkMbps: 3 }, 0.1)).toBe(true);
  });

  it('says a link is measured and from how many samples, configured before any', () => {
    const view = {
      uplinkMbps: { value: 9.87654, samples: 3, ageMs: 5 },
      rttMs: { value: 0.123, samples: 4, ageMs: 1 },
    };
    expect(linkMessageOf(view, 7)).toEqual({
      uplinkMbps: 9.877,
      rttMs: 0.12,
      measuredAt: 7,
      source: 'measured',
      samples: { uplink: 3, rtt: 4, downlink: 0 },
    });
    expect(linkMessageOf({}, 7)).toBeUndefined();
    expect(linkMessageOf({}, 7, { uplinkMbps: 5, rttMs: 50 })).toMatchObject({
      uplinkMbps: 5,
      source: 'configured',
    });
  });

  it('sizes a probe to take about 150 ms at the estimate, 16 KiB to 1 MiB', () => {
    expect(mbpsOf(probeBytesFor(2), 150)).toBeCloseTo(2, 2);
    expect(mbpsOf(probeBytesFor(10), 150)).toBeCloseTo(10, 2);
    expect(probeBytesFor(0.1)).toBe(16 * 1024);
    expect(probeBytesFor(500)).toBe(1024 * 1024);
    expect(probeBytesFor(undefined)).toBe(64 * 1024);
  });

  it('gives each UE a probe budget that refills, refusing only the UE over it', () => {
    let now = 0;
    const limit = new ProbeLimit({ burstBytes: 3000, bytesPerSecond: 1000, now: () => now });
    expect(limit.take('a', 2000)).toBe(true);
    expect(limit.take('a', 2000)).toBe(false); // 1000 left
    expect(limit.take('b', 2000)).toBe(true); // b has its own budget
    now = 1000;
    expect(limit.take('a', 2000)).toBe(true); // refilled by 1000
    expect(limit.take('a', 10)).toBe(false); // every probe costs at least 1 KiB
  });

  it('tracks a bounded number of UEs, forgetting those whose budget refilled', () => {
    let now = 0;
    const limit = new ProbeLimit({
      burstBytes: 2048,
      bytesPerSecond: 1024,
      maxTracked: 2,
      now: () => now,
    });
    expect(limit.take('a', 1024)).toBe(true);
    expect(limit.take('b', 1024)).toBe(true);
    expect(limit.take('c', 1024)).toBe(false); // full, none refilled
    now = 2000;
    expect(limit.take('c', 1024)).toBe(true);
    expect(limit.tracked).toBeLessThanOrEqual(2);
  });
});
