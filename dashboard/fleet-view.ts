/**
 * The dashboard's picture of the fleet, built from what an observer reads on the broker: UE
 * status, profile, link, decision and stats, edge worker and scheduler status. Every payload is
 * validated with the protocol's schemas; one that fails is counted and changes nothing. Edge
 * workers whose status goes unheard for EDGE_STATUS_EXPIRY_MS are taken offline, as the scheduler
 * takes them.
 */
import {
  type Decision,
  decodeMessage,
  EDGE_STATUS_EXPIRY_MS,
  type EdgeStatus,
  type SchedulerStatus,
  tryParseTopic,
  type UeStats,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { SilenceExpiry } from '../runtime/silence-expiry.js';
import {
  applyFleetEventInPlace,
  type FleetEvent,
  type FleetState,
  type MutableFleetState,
  routeMessage,
} from '../scheduler/index.js';
import type { EpochMark, PlotRow, Snapshot, UeRow, WhatIf, WorkerRow } from './snapshot.js';

/** UEs the plots show at most (the first ones by id); the table shows every UE. */
export const MAX_PLOTTED_UES = 24;
/** UEs tracked at most: messages about further UE ids are ignored (and counted). */
export const MAX_UES = 10_000;
/** Plot rows kept: ten minutes at one row per 500 ms. */
export const MAX_ROWS = 1200;
/** Epochs kept for the timeline. */
export const MAX_EPOCHS = 200;
/** A UE's stats older than this no longer count towards the fleet's measured maximum. */
export const STATS_FRESH_MS = 10_000;

/** The payload size the dashboard reads at most (a profile of 10,000 cuts fits). */
const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

export class FleetView {
  /** Updated in place: one UE's message costs O(1), not a copy of every UE's record. */
  private readonly fleet: MutableFleetState = { ues: new Map(), workers: new Map() };
  private readonly known = new Set<string>();
  private readonly decisions = new Map<string, Decision>();
  private readonly stats = new Map<string, { readonly stats: UeStats; readonly seenAt: number }>();
  private scheduler: SchedulerStatus | undefined;
  private readonly epochs = new Map<number, EpochMark>();
  private rows: PlotRow[] = [];
  /** Online edge workers by when their status was last heard: the scheduler's expiry rule. */
  private readonly silence = new SilenceExpiry(EDGE_STATUS_EXPIRY_MS);
  private seq = 0;
  /** Payloads refused by validation, and messages about UEs beyond `MAX_UES`. */
  rejected = 0;
  ignored = 0;
  /** Grows with every change: what the what-if panel and the pushes key on. */
  version = 0;

  constructor(
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current fleet, for the what-if panel (every link as last published). */
  get state(): FleetState {
    return this.fleet;
  }

  /** One MQTT message; anything not ours or invalid changes nothing. */
  receive(topic: string, payload: Uint8Array): void {
    const parsed = tryParseTopic(this.prefix, topic);
    if (!parsed.ok) return;
    const where = parsed.value;
    if (where.kind === 'ue' && !this.knows(where.ue)) {
      this.ignored += 1;
      return;
    }
    if (where.kind === 'ue' && where.channel === 'decision') {
      this.decision(where.ue, payload);
      return;
    }
    if (where.kind === 'ue' && where.channel === 'stats') {
      this.ueStats(where.ue, payload);
      return;
    }
    if (payload.length > MAX_PAYLOAD_BYTES) {
      this.rejected += 1;
      return;
    }
    const inbound = routeMessage(this.prefix, topic, payload);
    switch (inbound.kind) {
      case 'event': {
        const { event } = inbound;
        if (event.type === 'edgeStatus')
          this.silence.observe(event.worker, event.status.state === 'online', this.now());
        this.apply(event);
        return;
      }
      case 'schedulerStatus':
        this.scheduler = inbound.status;
        this.version += 1;
        return;
      case 'rejected':
        this.rejected += 1;
        return;
      default:
        // An invalid scheduler status is ignored by routeMessage; count it here.
        if (where.kind === 'scheduler' && payload.length > 0) this.rejected += 1;
    }
  }

  private apply(event: FleetEvent): void {
    // A change replaces the UE's record, or the workers map: identity tells whether it changed.
    const held = () =>
      event.type === 'edgeStatus' ? this.fleet.workers : this.fleet.ues.get(event.ue);
    const before = held();
    applyFleetEventInPlace(this.fleet, event, { hysteresis: 0 });
    if (held() !== before) this.version += 1;
  }

  /**
   * Takes offline the edge workers whose status was not heard for EDGE_STATUS_EXPIRY_MS, as the
   * scheduler does (a worker that died while the broker was down, replayed as `online`).
   */
  private expireSilentWorkers(): void {
    for (const worker of this.silence.expired(this.now())) {
      const status = this.fleet.workers.get(worker);
      if (status === undefined) continue;
      this.apply({ type: 'edgeStatus', worker, status: { ...status, state: 'offline' } });
    }
  }

  /** Whether `ue` is (now) tracked: every UE id seen counts, whatever it published. */
  private knows(ue: string): boolean {
    if (this.known.has(ue)) return true;
    if (this.known.size >= MAX_UES) return false;
    this.known.add(ue);
    return true;
  }

  private decision(ue: string, payload: Uint8Array): void {
    if (payload.length === 0) {
      if (this.decisions.delete(ue)) this.version += 1;
      return;
    }
    const result = decodeMessage('decision', payload, { maxBytes: MAX_PAYLOAD_BYTES });
    if (!result.ok) {
      this.rejected += 1;
      return;
    }
    const decision = result.value;
    this.decisions.set(ue, decision);
    const mark = this.epochs.get(decision.epoch);
    this.epochs.set(decision.epoch, {
      epoch: decision.epoch,
      at: mark?.at ?? this.now(),
      decisions: (mark?.decisions ?? 0) + 1,
      solver: decision.solver,
    });
    if (this.epochs.size > MAX_EPOCHS) {
      const oldest = Math.min(...this.epochs.keys());
      this.epochs.delete(oldest);
    }
    this.version += 1;
  }

  private ueStats(ue: string, payload: Uint8Array): void {
    const result = decodeMessage('stats', payload, { maxBytes: MAX_PAYLOAD_BYTES });
    if (!result.ok) {
      this.rejected += 1;
      return;
    }
    this.stats.set(ue, { stats: result.value, seenAt: this.now() });
    this.version += 1;
  }

  /** UE ids in the table: every UE heard of, sorted. */
  private ueIds(): string[] {
    const ids = new Set([...this.fleet.ues.keys(), ...this.decisions.keys(), ...this.stats.keys()]);
    return [...ids].sort();
  }

  /** The UEs the plots show: the first `MAX_PLOTTED_UES` online ones by id. */
  plotted(): string[] {
    return this.ueIds()
      .filter((ue) => this.fleet.ues.get(ue)?.online === true)
      .slice(0, MAX_PLOTTED_UES);
  }

  /** Appends a plot row: the plotted UEs' values and the fleet's maxima now. */
  sample(): void {
    this.expireSilentWorkers();
    const now = this.now();
    const ues: Record<string, [number | null, number | null, number | null]> = {};
    for (const ue of this.plotted()) {
      ues[ue] = [
        this.stats.get(ue)?.stats.lastMs ?? null,
        this.decisions.get(ue)?.predictedMs ?? null,
        this.fleet.ues.get(ue)?.link?.uplinkMbps ?? null,
      ];
    }
    let fleetMeasuredMs: number | null = null;
    let fleetPredictedMs: number | null = null;
    for (const [ue, record] of this.fleet.ues) {
      if (!record.online) continue;
      const seen = this.stats.get(ue);
      const last = seen?.stats.lastMs ?? null;
      if (seen !== undefined && last !== null && now - seen.seenAt <= STATS_FRESH_MS)
        fleetMeasuredMs = Math.max(fleetMeasuredMs ?? 0, last);
      const predicted = this.decisions.get(ue)?.predictedMs;
      if (predicted !== undefined) fleetPredictedMs = Math.max(fleetPredictedMs ?? 0, predicted);
    }
    this.seq += 1;
    this.rows.push({ seq: this.seq, t: now, ues, fleetMeasuredMs, fleetPredictedMs });
    if (this.rows.length > MAX_ROWS * 1.25) this.rows = this.rows.slice(-MAX_ROWS);
  }

  /** The latest plot row's number (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Everything the page shows, with the plot rows after `sinceSeq`. */
  snapshot(sinceSeq: number, connected: boolean, whatIf: WhatIf | null): Snapshot {
    const rows = this.rows.filter((row) => row.seq > sinceSeq).slice(-MAX_ROWS);
    const workers: WorkerRow[] = [...this.fleet.workers.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([worker, status]: [string, EdgeStatus]) => ({
        worker,
        units: status.units,
        models: status.models.map((m) => m.model),
      }));
    const ues = this.ueIds().map((ue) => this.row(ue));
    const unitsInUse = ues.reduce(
      (sum, row) => sum + (row.online && row.decision !== null ? row.decision.units : 0),
      0,
    );
    const scheduler = this.scheduler;
    return {
      at: this.now(),
      connected,
      prefix: this.prefix,
      ues,
      workers,
      units: workers.reduce((sum, w) => sum + w.units, 0),
      unitsInUse,
      scheduler:
        scheduler === undefined
          ? null
          : {
              leaderId: scheduler.leaderId,
              epoch: scheduler.epoch,
              solver: scheduler.solver,
              lastSolveMs: scheduler.lastSolveMs,
              maxPredictedMs: scheduler.maxPredictedMs,
            },
      epochs: [...this.epochs.values()].sort((a, b) => a.epoch - b.epoch),
      whatIf,
      plotted: this.plotted(),
      rows,
      rejected: this.rejected,
    };
  }

  private row(ue: string): UeRow {
    const record = this.fleet.ues.get(ue);
    const profile = record?.profile;
    const link = record?.link;
    const decision = this.decisions.get(ue);
    const stats = this.stats.get(ue)?.stats;
    const lastCut = profile === undefined ? null : profile.cuts.length - 1;
    return {
      ue,
      online: record?.online === true,
      model: profile?.model ?? null,
      batch: profile?.batch ?? null,
      localMs:
        profile === undefined
          ? null
          : profile.batch *
            defined(profile.cuts.at(-1), `the last cut of ${ue}'s profile`).deviceMs,
      link:
        link === undefined
          ? null
          : {
              uplinkMbps: link.uplinkMbps,
              downlinkMbps: link.downlinkMbps ?? null,
              rttMs: link.rttMs,
              source: link.source ?? 'configured',
              measuredAt: link.measuredAt,
            },
      decision:
        decision === undefined
          ? null
          : {
              epoch: decision.epoch,
              cut: decision.cut,
              cutName: decision.cutName,
              lastCut,
              units: decision.units,
              predictedMs: decision.predictedMs,
              solver: decision.solver,
            },
      measured:
        stats === undefined
          ? null
          : {
              p50Ms: stats.p50Ms,
              p99Ms: stats.p99Ms,
              lastMs: stats.lastMs,
              tasks: stats.tasks,
              failed: stats.failed,
              windowMs: stats.windowMs,
              at: stats.at,
            },
    };
  }
}
