/**
 * The scheduler's metrics: solves, their duration and reaction, the epoch, the leadership, the
 * fleet's predicted maximum, and per-UE decisions (cut, units, predicted latency) of the UEs with
 * the highest predicted latency, at most the process's UE cap of them.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Decision } from '../proto/index.js';
import type { Scheduler, SolveReport } from '../scheduler/index.js';
import { perProcess } from './once.js';
import type { ProcessMetrics } from './process-metrics.js';

/** Solve durations in seconds, from 0.1 ms to 10 s. */
const SOLVE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10,
];
/** Reaction times in seconds, from 1 ms to 30 s. */
const REACTION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30];

export type SchedulerRole = 'leader' | 'standby';

export class SchedulerMetrics {
  readonly #solves: Counter;
  readonly #solveSeconds: Histogram;
  readonly #reactionSeconds: Histogram;
  readonly #rejected: Counter;
  readonly #epoch: Gauge;
  readonly #leader: Gauge;
  readonly #ues: Gauge;
  readonly #units: Gauge;
  readonly #maxPredicted: Gauge;
  readonly #cut: Gauge<'ue'>;
  readonly #ueUnits: Gauge<'ue'>;
  readonly #predicted: Gauge<'ue'>;
  readonly #cap: number;
  #role: SchedulerRole | undefined;
  /** UEs with per-UE series now. */
  #shown = new Set<string>();
  #pending: { readonly scheduler: Scheduler; readonly report: SolveReport } | undefined;
  #timer: NodeJS.Immediate | undefined;

  constructor(metrics: ProcessMetrics) {
    const registers = [metrics.registry];
    this.#cap = metrics.ueCap;
    this.#solves = new Counter({
      name: 'edgesplit_scheduler_solves_total',
      help: 'Solves run by this scheduler while leading',
      registers,
    });
    this.#solveSeconds = new Histogram({
      name: 'edgesplit_scheduler_solve_duration_seconds',
      help: 'Time to build the instance, prepare the fleet and solve',
      buckets: SOLVE_BUCKETS,
      registers,
    });
    this.#reactionSeconds = new Histogram({
      name: 'edgesplit_scheduler_reaction_seconds',
      help: 'From the first change a solve covers to its first decision handed to the broker',
      buckets: REACTION_BUCKETS,
      registers,
    });
    this.#rejected = new Counter({
      name: 'edgesplit_scheduler_rejected_payloads_total',
      help: 'Input payloads (status, profile, link, edge status) that failed validation',
      registers,
    });
    this.#epoch = new Gauge({
      name: 'edgesplit_scheduler_epoch',
      help: 'Epoch of the decisions last published',
      registers,
    });
    this.#leader = new Gauge({
      name: 'edgesplit_scheduler_leader',
      help: 'Whether this scheduler leads (1) or stands by (0)',
      registers,
    });
    this.#ues = new Gauge({
      name: 'edgesplit_scheduler_ues',
      help: 'UEs in the last solve',
      registers,
    });
    this.#units = new Gauge({
      name: 'edgesplit_scheduler_units',
      help: 'Edge units R in the last solve',
      registers,
    });
    this.#maxPredicted = new Gauge({
      name: 'edgesplit_fleet_predicted_max_latency_seconds',
      help: "Largest predicted latency over the fleet's UEs in the last solve",
      registers,
    });
    this.#cut = new Gauge({
      name: 'edgesplit_ue_decision_cut',
      help: "Cut of the UE's decision (index into its profile's cuts; the last is all local)",
      labelNames: ['ue'],
      registers,
    });
    this.#ueUnits = new Gauge({
      name: 'edgesplit_ue_decision_units',
      help: "Edge units of the UE's decision",
      labelNames: ['ue'],
      registers,
    });
    this.#predicted = new Gauge({
      name: 'edgesplit_ue_predicted_latency_seconds',
      help: "Predicted latency of the UE's decision",
      labelNames: ['ue'],
      registers,
    });
    metrics.requireReady({ name: 'scheduler role known', ready: () => this.#role !== undefined });
  }

  /** This process leads or stands by now. */
  role(role: SchedulerRole): void {
    this.#role = role;
    this.#leader.set(role === 'leader' ? 1 : 0);
  }

  /** Follows a scheduler service (the leader's); returns the function that stops following. */
  follow(scheduler: Scheduler): () => void {
    const offSolved = scheduler.on('solved', (report) => this.solved(scheduler, report));
    const offRejected = scheduler.on('rejected', () => this.#rejected.inc());
    const stats = scheduler.stats();
    this.#epoch.set(stats.epoch);
    return () => {
      offSolved();
      offRejected();
    };
  }

  private solved(scheduler: Scheduler, report: SolveReport): void {
    this.#solves.inc();
    this.#solveSeconds.observe(report.solveMs / 1000);
    this.#reactionSeconds.observe(report.reactionMs / 1000);
    this.#epoch.set(report.epoch);
    this.#ues.set(report.ues);
    this.#units.set(report.units);
    if (report.maxPredictedMs === null) this.#maxPredicted.set(0);
    else this.#maxPredicted.set(report.maxPredictedMs / 1000);
    if (this.#cap === 0) return;
    // After the decisions just handed to the broker have gone out.
    this.#pending = { scheduler, report };
    this.#timer ??= setImmediate(() => {
      this.#timer = undefined;
      const pending = this.#pending;
      this.#pending = undefined;
      if (pending !== undefined) this.showSlowest(pending.scheduler, pending.report);
    });
  }

  /**
   * Per-UE series for the `cap` UEs with the highest predicted latency. While the fleet fits
   * the cap, only the UEs whose decision changed (or that have no series yet) are touched.
   */
  private showSlowest(scheduler: Scheduler, report: SolveReport): void {
    const decisions = scheduler.state().decisions;
    if (decisions.size <= this.#cap && this.#shown.size <= this.#cap) {
      for (const [ue, decision] of decisions) if (!this.#shown.has(ue)) this.show(ue, decision);
      for (const ue of report.published) {
        const decision = decisions.get(ue);
        if (decision !== undefined && this.#shown.has(ue)) this.show(ue, decision);
      }
      for (const ue of this.#shown) if (!decisions.has(ue)) this.hide(ue);
      this.#shown = new Set(decisions.keys());
      return;
    }
    const slowest = [...decisions]
      .sort((a, b) => b[1].predictedMs - a[1].predictedMs || (a[0] < b[0] ? -1 : 1))
      .slice(0, this.#cap);
    const shown = new Set<string>();
    for (const [ue, decision] of slowest) {
      shown.add(ue);
      this.show(ue, decision);
    }
    for (const ue of this.#shown) if (!shown.has(ue)) this.hide(ue);
    this.#shown = shown;
  }

  private show(ue: string, decision: Decision): void {
    this.#cut.set({ ue }, decision.cut);
    this.#ueUnits.set({ ue }, decision.units);
    this.#predicted.set({ ue }, decision.predictedMs / 1000);
  }

  private hide(ue: string): void {
    this.#cut.remove({ ue });
    this.#ueUnits.remove({ ue });
    this.#predicted.remove({ ue });
  }
}

/** The scheduler metric set of a process. */
export const schedulerMetrics = perProcess((metrics) => new SchedulerMetrics(metrics));
