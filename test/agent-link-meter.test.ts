import { afterEach, describe, expect, it, vi } from 'vitest';
import { LinkMeter } from '../agents/link-meter.js';

/** Bytes a link of `mbps` carries per ms. */
const bytesPerMs = (mbps: number) => (mbps * 1e6) / 8 / 1000;

describe('probing of a UE that sends nothing but probes', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends its first three probes a second apart, then one per probe interval, and publishes the link they measured', async () => {
    vi.useFakeTimers();
    const mbps = 10;
    const probes: { at: number; bytes: number }[] = [];
    const published: number[] = [];
    const meter = new LinkMeter(
      {
        // A 10 Mbps link: each probe is acknowledged once its bytes crossed it.
        probe: async (bytes) => {
          if (bytes > 64) probes.push({ at: Date.now(), bytes });
          await new Promise((resolve) => setTimeout(resolve, 1 + bytes / bytesPerMs(mbps)));
        },
        publish: (link) => published.push(link.uplinkMbps),
        warn: (error) => {
          throw error;
        },
      },
      { probeIntervalMs: 10_000, now: () => Date.now() },
    );
    const start = Date.now();
    meter.start();
    await vi.advanceTimersByTimeAsync(25_000);
    meter.stop();
    const gaps = probes.slice(1).map((probe, k) => probe.at - (probes[k]?.at ?? 0));
    // Three probes, each about a second after the previous one ended; then the interval.
    expect(probes.length).toBeGreaterThanOrEqual(4);
    expect(probes[0]?.at).toBe(start + 3); // after its three 1 ms round trips
    for (const gap of gaps.slice(0, 2)) {
      expect(gap).toBeGreaterThan(1_000);
      expect(gap).toBeLessThan(1_500);
    }
    for (const gap of gaps.slice(2)) {
      expect(gap).toBeGreaterThan(10_000);
      expect(gap).toBeLessThan(10_500);
    }
    expect(published.length).toBeGreaterThan(0);
    expect(Math.abs((published.at(-1) ?? 0) - mbps) / mbps).toBeLessThan(0.15);
  });
});
