/**
 * `--link measure`: keeps a LinkEstimator fed from the agent's own uploads, results and small
 * round trips, probes when the estimate is stale, and publishes `ue/{ue}/link` when the estimate
 * moved past the hysteresis (docs/links-and-lab.md).
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type LinkEstimate, MAX_PROBE_BYTES } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import type { LinkRates } from './emulated-link.js';
import { LinkEstimator, type ResultArrival, type UploadSample } from './link-estimator.js';
import { estimateMoved, linkMessageOf } from './link-message.js';
import { SendQueueWatch } from './tcp-delivery.js';
import { uploadSampleOf } from './upload-sample.js';

/** A task's upload being timed: each publish's size, then each PUBACK. */
export interface UploadTiming {
  sent(bytes: number): void;
  acked(error?: Error): void;
}

/** How the meter reaches the network (the agent's session). */
export interface LinkMeterPort {
  /** Publishes `bytes` of probe payload at QoS 1; resolves on its PUBACK. */
  probe(bytes: number): Promise<void>;
  /** Publishes the estimate, retained. */
  publish(link: LinkEstimate): void;
  warn(error: Error): void;
  /** The connection's TCP socket, to time uploads to the broker's TCP acknowledgement. */
  socket?(): Socket | undefined;
}

export interface LinkMeterOptions {
  /** Rates to start from (a link class); without them the first probe gives the first estimate. */
  readonly initial?: LinkRates | undefined;
  /** Probe when no uplink sample came for this long. @defaultValue 10000 */
  readonly probeIntervalMs?: number;
  /** Publish at most this often. @defaultValue 1000 */
  readonly linkIntervalMs?: number;
  /** Publish when uplink, downlink or RTT moved by this much (relative). @defaultValue 0.1 */
  readonly hysteresis?: number;
  /** The clock samples are taken with, ms. @defaultValue performance.now */
  readonly now?: () => number;
}

/** Probe duration aimed at, at the current estimate. */
const PROBE_TARGET_MS = 150;
/** Smallest probe, and the first one when nothing is known. */
const MIN_PROBE_BYTES = 16 * 1024;
const FIRST_PROBE_BYTES = 64 * 1024;
/** A round trip of this payload times the path, not the link's rate. */
const PING_BYTES = 64;
/** Between uploads, round trips are timed this often (the min-RTT window is 10 s). */
const PING_INTERVAL_MS = 2000;
/** Round trips timed before each bandwidth probe. */
const PINGS = 3;
/** How often staleness, and an upload on the wire running late, are checked. */
const TICK_MS = 100;
/**
 * An uplink estimate this much (relative) below the one last published goes out at once,
 * without waiting for the link interval: a step down costs every task until the scheduler
 * knows. A late upload's bound falls as 1/elapsed, so a fall by a third takes half as long
 * again as the upload has run: at most log1.5(drop) such publishes (6 for 20 -> 2 Mbps).
 */
const URGENT_DROP = 1 / 3;
/**
 * A late upload that nothing followed for this long (the UE stopped uploading, say because the
 * lower estimate made it local) is confirmed or undone by a probe.
 */
const CONFIRM_AFTER_MS = 1000;
/**
 * The first probes of a UE that sends nothing else go this far apart (CONFIRM_AFTER_MS), not a
 * probe interval: one probe is one sample, and a first one that read low (a busy host, a
 * connection in slow start) would otherwise keep the UE local, on a wrong estimate, for a
 * whole interval, and a step up takes two agreeing samples.
 */
const WARM_UP_PROBES = 3;
/** A late upload's remaining time is read at the rate of its acknowledgements over this long. */
const LATE_RATE_WINDOW_MS = 500;

/** An upload (the agent's or a probe) the meter is timing. */
interface WiredUpload {
  bytes: number;
  startedAt: number;
  readonly probe: boolean;
  readonly watch: SendQueueWatch | undefined;
}

/** The probe size that takes about PROBE_TARGET_MS at `mbps`. */
export function probeBytesFor(mbps: number | undefined): number {
  if (mbps === undefined) return FIRST_PROBE_BYTES;
  const bytes = Math.round((mbps * 1000 * PROBE_TARGET_MS) / 8);
  return Math.min(MAX_PROBE_BYTES, Math.max(MIN_PROBE_BYTES, bytes));
}

export class LinkMeter {
  readonly estimator = new LinkEstimator();
  readonly #port: LinkMeterPort;
  readonly #initial: LinkRates | undefined;
  readonly #probeIntervalMs: number;
  readonly #linkIntervalMs: number;
  readonly #hysteresis: number;
  readonly #now: () => number;
  #published: LinkEstimate | undefined;
  #publishedAt = Number.NEGATIVE_INFINITY;
  #lastTrafficAt = Number.NEGATIVE_INFINITY;
  #probing = false;
  #probeBackoffUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #probes = 0;
  #pingedAt = Number.NEGATIVE_INFINITY;
  #recheck: NodeJS.Timeout | undefined;
  /** Uploads on the wire (the agent's and probes), no probe while one of the agent's is. */
  readonly #inFlight = new Set<WiredUpload>();

  constructor(port: LinkMeterPort, options: LinkMeterOptions = {}) {
    this.#port = port;
    this.#initial = options.initial;
    this.#probeIntervalMs = options.probeIntervalMs ?? 10_000;
    this.#linkIntervalMs = options.linkIntervalMs ?? 1000;
    this.#hysteresis = options.hysteresis ?? 0.1;
    this.#now = options.now ?? (() => performance.now());
    if (this.#initial !== undefined) {
      this.#published = linkMessageOf({}, Date.now(), this.#initial);
    }
  }

  /** What was last published (or the starting rates), if anything. */
  get current(): LinkEstimate | undefined {
    return this.#published;
  }

  /** Probes sent so far. */
  get probes(): number {
    return this.#probes;
  }

  now(): number {
    return this.#now();
  }

  /** Starts checking for staleness; the first probe goes at once unless rates were given. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
    this.#tick();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#recheck);
    this.#timer = undefined;
    this.#recheck = undefined;
  }

  /**
   * Times one task's upload of `requests` publishes: from the first byte handed to the socket
   * to the last PUBACK. While it is on the wire it can lower the estimate (it runs late); a
   * publish that fails spoils the sample.
   */
  timeUpload(requests: number): UploadTiming {
    const watch = this.#watch();
    const upload = { bytes: 0, startedAt: this.#now(), probe: false, watch };
    let pending = requests;
    let spoiled = false;
    this.#inFlight.add(upload);
    return {
      sent: (size) => {
        // The clock starts when the first publish was handed to the socket, not before its
        // tensor was encoded (tens of ms on a busy host, against 100 ms on the wire at 50 Mbps).
        if (upload.bytes === 0) upload.startedAt = this.#now();
        upload.bytes += size;
        watch?.written(size);
      },
      acked: (error) => {
        if (error !== undefined) spoiled = true;
        pending -= 1;
        if (pending !== 0) return;
        this.#inFlight.delete(upload);
        const sample = this.#sampleOf(upload.bytes, upload.startedAt, watch, true);
        if (!spoiled) this.recordUpload(sample);
      },
    };
  }

  /**
   * The agent's upload on the wire, if it runs late against the estimate: with how long its
   * bytes not yet acknowledged would take (undefined: no socket readings tell). At the rate
   * they were acknowledged over the last half second (Infinity: none got through); while
   * Node still holds part of the upload (no reading tells how many were acknowledged), at
   * least the kernel's unacknowledged bytes over the upload's rate so far, which the link's
   * rate is below (it runs late).
   */
  lateUpload(): { readonly remainingMs: number | undefined } | undefined {
    const upload = this.#onWire();
    if (upload === undefined || upload.probe) return undefined;
    const now = this.#now();
    if (!this.estimator.runsLate(upload, now)) return undefined;
    const watch = upload.watch;
    if (watch === undefined) return { remainingMs: undefined };
    const atLeast = (watch.unacknowledgedInKernel * (now - upload.startedAt)) / upload.bytes;
    return { remainingMs: watch.remainingMs(LATE_RATE_WINDOW_MS) ?? atLeast };
  }

  /** A task's upload: bytes written from `startedAt` to the last PUBACK. */
  recordUpload(sample: UploadSample): void {
    this.#lastTrafficAt = sample.ackedAt;
    this.estimator.addUpload(sample);
    this.#maybePublish();
  }

  /** A small QoS 1 round trip (a publish of a few bytes and its PUBACK). */
  recordRoundTrip(sentAt: number, ackedAt: number): void {
    this.estimator.addRoundTrip({ sentAt, ackedAt });
  }

  /** The results of one task, as they arrived. */
  recordResults(results: readonly ResultArrival[]): void {
    if (this.estimator.addResults(results).length > 0) this.#maybePublish();
  }

  /** The broker refused a probe (rate limit): wait a whole interval before the next one. */
  probeRefused(): void {
    this.#probeBackoffUntil = this.#now() + this.#probeIntervalMs;
  }

  /** A watch of the connection's send queue, if the port gives the socket. */
  #watch(): SendQueueWatch | undefined {
    const socket = this.#port.socket;
    return socket === undefined ? undefined : new SendQueueWatch(() => socket(), this.#now);
  }

  /**
   * The sample of an upload whose last PUBACK came now. With `wholeIfLate`, an upload that ran
   * late (its bytes all acknowledged later than the estimate allows) is timed whole, to that
   * moment: its fastest partial reading may come from before the link fell, at the old rate.
   */
  #sampleOf(
    bytes: number,
    startedAt: number,
    watch: SendQueueWatch | undefined,
    wholeIfLate = false,
  ): UploadSample {
    const now = this.#now();
    const delivery = watch?.stop();
    const endedAt = Math.min(now, delivery?.drainedAt ?? now);
    if (
      delivery !== undefined &&
      wholeIfLate &&
      this.estimator.runsLate({ bytes, startedAt }, endedAt)
    )
      return uploadSampleOf(bytes, startedAt, now, { ...delivery, acknowledged: [] });
    return uploadSampleOf(bytes, startedAt, now, delivery);
  }

  /**
   * The one upload on the wire, if exactly one is (two at once would share the link) and its
   * bytes are not all acknowledged by the broker's TCP.
   */
  #onWire(): WiredUpload | undefined {
    if (this.#inFlight.size !== 1) return undefined;
    const [upload] = this.#inFlight;
    // Acknowledged by the broker's TCP, it is off the wire: the PUBACK waits on the broker.
    if (upload === undefined || upload.watch?.drained === true) return undefined;
    return upload;
  }

  #tick(): void {
    if (this.#onWire() !== undefined) this.#maybePublish(); // it may run late
    if (this.#probing || [...this.#inFlight].some((upload) => !upload.probe)) return;
    const now = this.#now();
    // An agent that keeps uploading never probes: its round trips are timed between uploads.
    if (
      now - this.#pingedAt >= PING_INTERVAL_MS &&
      now - this.#lastTrafficAt < this.#probeIntervalMs
    ) {
      this.#probing = true;
      this.#ping()
        .catch(() => {})
        .finally(() => {
          this.#probing = false;
        });
      return;
    }
    if (now < this.#probeBackoffUntil) return;
    const stale = now - Math.max(this.#lastTrafficAt, this.estimator.lastUplinkAt ?? -Infinity);
    const soon = this.estimator.provisional || this.#probes < WARM_UP_PROBES;
    const interval = soon ? CONFIRM_AFTER_MS : this.#probeIntervalMs;
    if (stale < interval) return;
    this.#probing = true;
    this.#probe()
      .catch((error: unknown) => {
        this.#port.warn(new Error(`link probe: ${asError(error).message}`));
        this.#probeBackoffUntil = this.#now() + this.#probeIntervalMs;
      })
      .finally(() => {
        this.#probing = false;
      });
  }

  /**
   * One probe: three small round trips (RTT), then a payload sized to take about 150 ms at the
   * current estimate; while it finished too fast to time, a larger one (up to 1 MiB).
   */
  async #probe(): Promise<void> {
    await this.#ping();
    let bytes = probeBytesFor(
      this.estimator.estimate(this.#now()).uplinkMbps?.value ?? this.#initial?.uplinkMbps,
    );
    for (;;) {
      const startedAt = this.#now();
      this.#probes += 1;
      const watch = this.#watch();
      const upload = { bytes, startedAt, probe: true, watch };
      this.#inFlight.add(upload);
      try {
        const acked = this.#port.probe(bytes);
        watch?.written(bytes);
        await acked;
      } catch (error) {
        watch?.stop();
        throw error;
      } finally {
        this.#inFlight.delete(upload);
      }
      const sample = this.#sampleOf(bytes, startedAt, watch);
      this.#lastTrafficAt = this.#now();
      const taken = this.estimator.addUpload(sample);
      if (taken !== undefined || bytes >= MAX_PROBE_BYTES) {
        // A link too fast for the largest probe: its rate as timed is the best there is.
        if (taken === undefined) this.estimator.addUpload(sample, true);
        break;
      }
      bytes = Math.min(MAX_PROBE_BYTES, bytes * 8);
    }
    // Round trips after the probe too: the first ones of a fresh connection are the slowest.
    await this.#ping();
    this.#maybePublish();
  }

  /** Three small round trips: on a busy host one can be delayed; the filter keeps the least. */
  async #ping(): Promise<void> {
    this.#pingedAt = this.#now();
    for (let k = 0; k < PINGS; k++) {
      const pingAt = this.#now();
      await this.#port.probe(PING_BYTES);
      this.recordRoundTrip(pingAt, this.#now());
    }
  }

  #maybePublish(): void {
    const now = this.#now();
    const next = linkMessageOf(
      this.estimator.estimate(now, this.#onWire()),
      Date.now(),
      this.#initial,
    );
    if (next === undefined || next.source !== 'measured') return;
    const last = this.#published;
    if (last !== undefined && last.source === 'measured') {
      const urgent = next.uplinkMbps <= last.uplinkMbps * (1 - URGENT_DROP);
      if (!urgent && now - this.#publishedAt < this.#linkIntervalMs) {
        // Too soon: look again once the interval is over (one timer at a time).
        this.#recheck ??= setTimeout(
          () => {
            this.#recheck = undefined;
            this.#maybePublish();
          },
          this.#linkIntervalMs - (now - this.#publishedAt),
        ).unref();
        return;
      }
      if (!estimateMoved(last, next, this.#hysteresis)) return;
    }
    this.#published = next;
    this.#publishedAt = now;
    this.#port.publish(next);
  }
}
