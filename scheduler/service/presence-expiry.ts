/**
 * Presence behind any broker: the UEs and edge workers that went silent are taken offline.
 * A UE stating a protocol version refreshes its status (status-expiry.ts); an edge worker
 * announces its status every EDGE_ANNOUNCE_MS, and one not heard for `edgeStatusExpiryMs` is
 * taken for offline. That covers what no last will tells: a worker that died while the broker
 * was down, whose last `online` a broker keeping retained messages replays to every subscriber.
 */
import { SilenceExpiry } from '../../runtime/silence-expiry.js';
import type { FleetEvent } from './fleet-state.js';
import type { SchedulerEngine } from './scheduler-engine.js';
import { StatusExpiry } from './status-expiry.js';

/** The longest a silent UE or worker stays online past its expiry time. */
const MAX_CHECK_MS = 5000;

export class PresenceExpiry {
  readonly #ues: StatusExpiry;
  readonly #workers: SilenceExpiry;
  readonly #checkMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** Expiry times in ms; 0 turns that rule off. */
  constructor(
    private readonly ueExpiryMs: number,
    private readonly edgeExpiryMs: number,
  ) {
    this.#ues = new StatusExpiry(ueExpiryMs);
    this.#workers = new SilenceExpiry(edgeExpiryMs);
    const on = [ueExpiryMs, edgeExpiryMs].filter((ms) => ms > 0);
    this.#checkMs =
      on.length === 0 ? undefined : Math.min(MAX_CHECK_MS, Math.max(100, Math.min(...on) / 3));
  }

  /** Takes an input event heard at `now` (ms since the Unix epoch). */
  heard(event: FleetEvent, now: number): void {
    if (event.type === 'ueStatus') this.#ues.heard(event.ue, event.status, now);
    else if (event.type === 'edgeStatus')
      this.#workers.observe(event.worker, event.status.state === 'online', now);
  }

  /** Checks every few seconds, until `stop`, and takes the silent ones offline in `engine`. */
  start(engine: SchedulerEngine): void {
    if (this.#checkMs === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.expire(engine, Date.now()), this.#checkMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Takes offline in `engine` whoever is silent at `now`. */
  expire(engine: SchedulerEngine, now: number): void {
    if (this.ueExpiryMs > 0)
      for (const ue of this.#ues.expired(now))
        engine.apply({
          type: 'ueStatus',
          ue,
          status: { state: 'offline', agentVersion: 'expired: no status refresh', at: now },
        });
    if (this.edgeExpiryMs > 0) engine.expireWorkers(this.#workers.expired(now));
  }
}
