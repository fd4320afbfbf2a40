/**
 * The scheduler's metrics: solves, their duration and reaction, the epoch, the leadership, the
 * fleet's predicted maximum, and per-UE decisions (cut, units, predicted latency) of the UEs with
 * the highest predicted latency, at most the process's UE cap of them. A solve only counts and
 * observes; the per-UE series are brought up to date when Prometheus scrapes, once for all the
 * solves since the last scrape, so a solve's path does no per-UE work.
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
  /** UEs with per-UE series now, and the decision each shows. */
  #shown = new Map<string, Decision>();
  /** The scheduler whose solves since the last scrape the per-UE series do not show yet. */
  #unshown: Scheduler | undefined;

  constructor(metrics: ProcessMetrics) {
    const registers = [metrics.registry];
    // Whichever per-UE gauge is collected first updates all three.
    const collect = () => this.showSlowest();
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
      collect,
    });
    this.#ueUnits = new Gauge({
      name: 'edgesplit_ue_decision_units',
      help: "Edge units of the UE's decision",
      labelNames: ['ue'],
      registers,
      collect,
    });
    this.#predicted = new Gauge({
      name: 'edgesplit_ue_predicted_latency_seconds',
      help: "Predicted latency of the UE's decision",
      labelNames: ['ue'],
      registers,
      collect,
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
    if (this.#cap > 0) this.#unshown = scheduler;
  }

  /**
   * At a scrape after a solve: per-UE series for the `cap` UEs with the highest predicted
   * latency. Only the UEs whose decision changed (a decision is replaced, never modified), that
   * have no series yet, or that leave the set are touched.
   */
  private showSlowest(): void {
    const scheduler = this.#unshown;
    if (scheduler === undefined) return;
    this.#unshown = undefined;
    const decisions = scheduler.state().decisions;
    const slowest = decisions.size <= this.#cap ? decisions : highest(decisions, this.#cap);
    const shown = new Map<string, Decision>();
    for (const [ue, decision] of slowest) {
      shown.set(ue, decision);
      if (this.#shown.get(ue) !== decision) this.show(ue, decision);
    }
    for (const ue of this.#shown.keys()) if (!shown.has(ue)) this.hide(ue);
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

/** Whether `a` comes after `b`: lower predicted latency, or the same and a later UE id. */
function after(a: readonly [string, Decision], b: readonly [string, Decision]): boolean {
  const difference = a[1].predictedMs - b[1].predictedMs;
  return difference < 0 || (difference === 0 && a[0] > b[0]);
}

/**
 * The `count` decisions with the highest predicted latency (ties: the lower UE id), in no
 * particular order: a min-heap of `count`, so O(N log count) over the fleet.
 */
export function highest(
  decisions: ReadonlyMap<string, Decision>,
  count: number,
): [string, Decision][] {
  const heap: [string, Decision][] = [];
  const sift = (start: number) => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let last = i;
      const at = (k: number) => heap[k] as [string, Decision];
      if (left < heap.length && after(at(left), at(last))) last = left;
      if (right < heap.length && after(at(right), at(last))) last = right;
      if (last === i) return;
      [heap[i], heap[last]] = [at(last), at(i)];
      i = last;
    }
  };
  for (const entry of decisions) {
    if (heap.length < count) {
      heap.push(entry);
      // Up: the entry's parents that come before it.
      let i = heap.length - 1;
      while (i > 0) {
        const up = (i - 1) >> 1;
        const parent = heap[up] as [string, Decision];
        if (!after(entry, parent)) break;
        heap[i] = parent;
        heap[up] = entry;
        i = up;
      }
    } else if (count > 0 && after(heap[0] as [string, Decision], entry)) {
      heap[0] = entry;
      sift(0);
    }
  }
  return heap;
}

/** The scheduler metric set of a process. */
export const schedulerMetrics = perProcess((metrics) => new SchedulerMetrics(metrics));
