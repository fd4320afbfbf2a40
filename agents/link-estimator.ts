/**
 * Estimates a UE's link to the edge from its own traffic (docs/links-and-lab.md, "How a link is
 * measured"). Pure: it is fed timestamped samples and never reads a clock, so it is tested on
 * recorded timelines.
 *
 * - Uplink: one sample per upload (a task's `infer` publishes, or a probe): its bytes over the
 *   time from the first byte written to the last PUBACK, less the round-trip estimate of the
 *   moment the estimate is read (so later, better RTT samples correct earlier uploads; at most
 *   a quarter of the upload's time is taken off, should an RTT sample be inflated by a busy host). The
 *   estimate is the second largest of the latest samples (see `secondLargest`; a step, two
 *   agreeing samples far from the window's median, restarts the window from them). A step
 *   down needs less evidence: an upload that runs late (far longer than the estimate
 *   predicts) lowers the estimate while it is still on the wire, to the upper bound its bytes
 *   over the time so far give, and once done stays the estimate until the next sample either
 *   confirms it (nearer it than the window's rate, by ratio: the window restarts from both) or
 *   does not (a stall: it is one more sample of the window).
 *   Uploads too short to time (fewer than `minUploadBytes` or less than
 *   `minTransferMs` on the wire) are not samples.
 * - RTT: the minimum of small QoS 1 round trips over `rttWindowMs`, as BBR's min-RTT filter:
 *   queueing can only add delay, so the minimum is the path's own; the window lets a longer
 *   path replace a shorter one.
 * - Downlink: from results that the edge finished close together but that arrived spread out:
 *   the spread is the downlink's doing, so the later result's bytes over its arrival gap is a
 *   sample (median of the latest: here a delay reads high as often as low). Results that left the edge spaced out say
 *   nothing about the link; without such pairs the downlink is absent (unlimited, to the
 *   scheduler).
 *
 * Every estimate carries how many samples it rests on and how old the newest one is.
 */

import { medianOrNaN as median } from '../stats/quantile.js';

/** One upload: `bytes` written from `startedAt` until the last PUBACK at `ackedAt` (ms). */
export interface UploadSample {
  readonly bytes: number;
  readonly startedAt: number;
  readonly ackedAt: number;
}

/** An upload still on the wire: `bytes` written since `startedAt` (ms), not all acknowledged. */
export interface UploadInFlight {
  readonly bytes: number;
  readonly startedAt: number;
}

/** One small QoS 1 publish: sent at `sentAt`, PUBACK at `ackedAt` (ms). */
export interface RoundTripSample {
  readonly sentAt: number;
  readonly ackedAt: number;
}

/** One result as received: its payload bytes, when it arrived, when the edge finished it. */
export interface ResultArrival {
  readonly bytes: number;
  /** The UE's clock, ms. */
  readonly arrivedAt: number;
  /** The edge's clock, ms; results without it give no downlink sample. */
  readonly finishedAt?: number | undefined;
}

/** One estimated quantity with what it rests on. */
export interface Estimated {
  readonly value: number;
  /** Samples in the window the value comes from. */
  readonly samples: number;
  /** Age of the newest of them, ms. */
  readonly ageMs: number;
  /**
   * The value is an upper bound from one late upload (still on the wire, or done and not yet
   * confirmed by the next one), not the window's statistic.
   */
  readonly provisional?: boolean;
}

export interface LinkEstimateView {
  readonly uplinkMbps?: Estimated;
  readonly rttMs?: Estimated;
  readonly downlinkMbps?: Estimated;
}

export interface LinkEstimatorOptions {
  /** Latest uplink (and downlink) samples the estimate is taken over. @defaultValue 5 */
  readonly window?: number;
  /** Samples older than this leave the window (the newest one always stays). @defaultValue 30000 */
  readonly maxSampleAgeMs?: number;
  /** The min-RTT filter's window. @defaultValue 10000 */
  readonly rttWindowMs?: number;
  /** Uploads shorter than this on the wire are not timed. @defaultValue 20 */
  readonly minTransferMs?: number;
  /** Uploads smaller than this are not timed. @defaultValue 8192 */
  readonly minUploadBytes?: number;
}

interface RateSample {
  readonly at: number;
  readonly mbps: number;
}

/** An upload as timed; its rate is worked out with the RTT estimate of the moment it is read. */
interface UploadRecord {
  readonly at: number;
  readonly bytes: number;
  readonly elapsedMs: number;
}

/**
 * The upload's time on the wire: elapsed less the RTT, but never less than three quarters of the
 * elapsed time (an RTT sample inflated by a busy host must not make a rate out of nothing).
 */
function wireMs(elapsedMs: number, rttMs: number): number {
  return elapsedMs - Math.min(rttMs, elapsedMs / 4);
}

/** Mbps of `bytes` in `ms` (1 Mbps = 10^6 bit/s). */
export function mbpsOf(bytes: number, ms: number): number {
  return (bytes * 8) / (ms * 1000);
}

/**
 * The uplink statistic: the second largest of three or more samples (the median of fewer). An
 * upper quantile, as BBR's max filter, because most of what disturbs an upload reads low (the
 * host on either end busy, a receiver slow to read); one sample reading high (a burst) is still
 * rejected, which a max would not do.
 */
export function secondLargest(values: readonly number[]): number {
  if (values.length < 3) return median(values);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length - 2] ?? Number.NaN;
}

/** Two samples agreeing within this (relative) make a step... */
const STEP_AGREEMENT = 0.25;
/** ...when both are off the median of the window by more than this (relative). */
const STEP_SIZE = 0.5;

/**
 * An upload is late when its time on the wire exceeds LATE_FACTOR times what the estimate
 * predicts (it reads below half the estimate: "far" in the sense of STEP_SIZE)...
 */
const LATE_FACTOR = 1 / (1 - STEP_SIZE);
/** ...and by at least this much: a busy host stalls an upload by a few hundred ms. */
const LATE_MIN_MS = 300;

/**
 * Whether an upload of `bytes` that has taken `elapsedMs` so far (or in all) runs late against
 * `mbps`: far longer than the rate predicts, by more than a host stall.
 */
export function runsLate(bytes: number, elapsedMs: number, mbps: number, rttMs: number): boolean {
  const predictedMs = (bytes * 8) / (mbps * 1000);
  const onWireMs = elapsedMs - rttMs;
  return onWireMs > LATE_FACTOR * predictedMs && onWireMs - predictedMs >= LATE_MIN_MS;
}

/**
 * A step change: the two newest samples agree with each other and both lie far from the median
 * of the others. Then the link changed (one outlier does not agree with the next), and the
 * window restarts from them instead of waiting for a third sample to move the median.
 */
function stepped<T>(samples: T[], mbps: (sample: T) => number): T[] {
  if (samples.length < 4) return samples;
  const rates = samples.map(mbps);
  const a = rates.at(-1) ?? 0;
  const b = rates.at(-2) ?? 0;
  const rest = median(rates.slice(0, -2));
  const agree = Math.abs(a - b) / Math.max(a, b) <= STEP_AGREEMENT;
  const far = (x: number) => Math.abs(x - rest) / rest > STEP_SIZE;
  return agree && far(a) && far(b) ? samples.slice(-2) : samples;
}

export class LinkEstimator {
  readonly #window: number;
  readonly #maxAgeMs: number;
  readonly #rttWindowMs: number;
  readonly #minTransferMs: number;
  readonly #minBytes: number;
  #uplink: UploadRecord[] = [];
  /** A late upload awaiting the next sample: a downward step, or a stall (docs: "late uploads"). */
  #suspect: UploadRecord | undefined;
  #downlink: RateSample[] = [];
  #rtt: { at: number; ms: number }[] = [];

  constructor(options: LinkEstimatorOptions = {}) {
    this.#window = options.window ?? 5;
    this.#maxAgeMs = options.maxSampleAgeMs ?? 30_000;
    this.#rttWindowMs = options.rttWindowMs ?? 10_000;
    this.#minTransferMs = options.minTransferMs ?? 20;
    this.#minBytes = options.minUploadBytes ?? 8192;
  }

  /** Adds a round trip; returns its RTT in ms, or undefined if it is not a usable one. */
  addRoundTrip(sample: RoundTripSample): number | undefined {
    const ms = sample.ackedAt - sample.sentAt;
    if (!(Number.isFinite(ms) && ms >= 0)) return undefined;
    this.#rtt.push({ at: sample.ackedAt, ms });
    this.#rtt = this.#rtt.filter((s) => sample.ackedAt - s.at <= this.#rttWindowMs);
    return ms;
  }

  /**
   * Adds an upload; returns its rate in Mbps, or undefined if it was too short to time. `force`
   * takes a short one all the same (the largest probe allowed, on a link faster than it can time).
   */
  addUpload(sample: UploadSample, force = false): number | undefined {
    const rtt = this.#minRtt(sample.ackedAt) ?? 0;
    const elapsedMs = sample.ackedAt - sample.startedAt;
    const transferMs = wireMs(elapsedMs, rtt);
    const timed = sample.bytes >= this.#minBytes && transferMs >= this.#minTransferMs;
    if (!(timed || (force && transferMs > 0))) return undefined;
    const record = { at: sample.ackedAt, bytes: sample.bytes, elapsedMs };
    const rate = (r: UploadRecord) => mbpsOf(r.bytes, wireMs(r.elapsedMs, rtt));
    const before = this.#windowRate(sample.ackedAt, rtt);
    const suspect = this.#suspect;
    this.#suspect = undefined;
    if (suspect !== undefined && before !== undefined) {
      // The sample after a late one decides: nearer the late one than the window's rate (by
      // ratio), the link stepped down and the window restarts from both; else it was a stall.
      const confirmed = rate(record) < Math.sqrt(rate(suspect) * before);
      this.#uplink = confirmed
        ? [suspect, record]
        : stepped(this.#keep([...this.#uplink, suspect, record], sample.ackedAt), rate);
    } else if (before !== undefined && runsLate(sample.bytes, elapsedMs, before, rtt)) {
      this.#suspect = record; // the estimate follows it at once; the window waits for the next
    } else {
      this.#uplink = stepped(this.#keep([...this.#uplink, record], sample.ackedAt), rate);
    }
    return rate(record);
  }

  /** Whether a late upload awaits confirmation (the meter then probes soon if nothing is sent). */
  get provisional(): boolean {
    return this.#suspect !== undefined;
  }

  /**
   * Adds the results of one task (or any group that left the edge together); returns the
   * downlink samples taken from them, in Mbps.
   */
  addResults(results: readonly ResultArrival[]): number[] {
    const sorted = [...results].sort((a, b) => a.arrivedAt - b.arrivedAt);
    const taken: number[] = [];
    for (let i = 1; i < sorted.length; i++) {
      const before = sorted[i - 1];
      const after = sorted[i];
      if (before?.finishedAt === undefined || after?.finishedAt === undefined) continue;
      const arrivalGap = after.arrivedAt - before.arrivedAt;
      const edgeGap = Math.abs(after.finishedAt - before.finishedAt);
      // Spread out by the link only if they left together and arrived clearly apart.
      if (arrivalGap < 2 || edgeGap > arrivalGap / 4) continue;
      taken.push(mbpsOf(after.bytes, arrivalGap));
    }
    const at = sorted.at(-1)?.arrivedAt ?? 0;
    if (taken.length > 0)
      this.#downlink = this.#keep([...this.#downlink, ...taken.map((mbps) => ({ at, mbps }))], at);
    return taken;
  }

  /**
   * The estimate at `now` (ms, the clock the samples use). `inFlight`, an upload still on the
   * wire, lowers the uplink once it runs late: it has not been acknowledged, so the link is
   * slower than its bytes over the time so far.
   */
  estimate(now: number, inFlight?: UploadInFlight): LinkEstimateView {
    const view: {
      uplinkMbps?: Estimated;
      rttMs?: Estimated;
      downlinkMbps?: Estimated;
    } = {};
    const rtt = this.#minRtt(now) ?? 0;
    let uplink: Estimated | undefined = this.#rate(
      this.#uplink.map((r) => ({ at: r.at, mbps: mbpsOf(r.bytes, wireMs(r.elapsedMs, rtt)) })),
      now,
      secondLargest,
    );
    const suspect = this.#suspect;
    if (suspect !== undefined)
      uplink = {
        value: Math.min(
          uplink?.value ?? Number.POSITIVE_INFINITY,
          mbpsOf(suspect.bytes, wireMs(suspect.elapsedMs, rtt)),
        ),
        samples: 1,
        ageMs: now - suspect.at,
        provisional: true,
      };
    const elapsedMs = inFlight === undefined ? 0 : now - inFlight.startedAt;
    if (
      uplink !== undefined &&
      inFlight !== undefined &&
      runsLate(inFlight.bytes, elapsedMs, uplink.value, rtt)
    )
      uplink = {
        value: Math.min(uplink.value, mbpsOf(inFlight.bytes, wireMs(elapsedMs, rtt))),
        samples: 1,
        ageMs: 0,
        provisional: true,
      };
    if (uplink !== undefined) view.uplinkMbps = uplink;
    const downlink = this.#rate(this.#downlink, now, median);
    if (downlink !== undefined) view.downlinkMbps = downlink;
    const inWindow = this.#rtt.filter((s) => now - s.at <= this.#rttWindowMs);
    // An RTT older than the window is still the best there is: keep the latest.
    const rtts = inWindow.length > 0 ? inWindow : this.#rtt.slice(-1);
    const newest = rtts.at(-1);
    if (newest !== undefined)
      view.rttMs = {
        value: Math.min(...rtts.map((s) => s.ms)),
        samples: rtts.length,
        ageMs: now - newest.at,
      };
    return view;
  }

  /** Whether `inFlight`, an upload still on the wire, runs late against the estimate at `now`. */
  runsLate(inFlight: UploadInFlight, now: number): boolean {
    const uplink = this.estimate(now).uplinkMbps;
    const rtt = this.#minRtt(now) ?? 0;
    return (
      uplink !== undefined && runsLate(inFlight.bytes, now - inFlight.startedAt, uplink.value, rtt)
    );
  }

  /** When the newest uplink sample was taken, if any. */
  get lastUplinkAt(): number | undefined {
    return this.#suspect?.at ?? this.#uplink.at(-1)?.at;
  }

  /** The window's statistic at `now` with `rttMs` taken off, if it has samples. */
  #windowRate(now: number, rttMs: number): number | undefined {
    const kept = this.#keep([...this.#uplink], now);
    if (kept.length === 0) return undefined;
    return secondLargest(kept.map((r) => mbpsOf(r.bytes, wireMs(r.elapsedMs, rttMs))));
  }

  #minRtt(now: number): number | undefined {
    const inWindow = this.#rtt.filter((s) => now - s.at <= this.#rttWindowMs);
    const rtts = inWindow.length > 0 ? inWindow : this.#rtt.slice(-1);
    return rtts.length === 0 ? undefined : Math.min(...rtts.map((s) => s.ms));
  }

  #keep<T extends { readonly at: number }>(samples: T[], now: number): T[] {
    const recent = samples.slice(-this.#window);
    const fresh = recent.filter((s) => now - s.at <= this.#maxAgeMs);
    return fresh.length > 0 ? fresh : recent.slice(-1);
  }

  #rate(
    samples: readonly RateSample[],
    now: number,
    statistic: (values: readonly number[]) => number,
  ): Estimated | undefined {
    const kept = this.#keep([...samples], now);
    const newest = kept.at(-1);
    if (newest === undefined) return undefined;
    return {
      value: statistic(kept.map((s) => s.mbps)),
      samples: kept.length,
      ageMs: now - newest.at,
    };
  }
}
