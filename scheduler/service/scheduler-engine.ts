import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { type Decision, errorReportFrom } from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';
import type { DecisionSnapshot } from '../../runtime/decision-snapshot.js';
import { emitEach } from '../../runtime/events.js';
import type { SolverName } from '../solvers/index.js';
import { SchedulerTransportError } from './errors.js';
import { applyFleetEventInPlace, type FleetEvent, type MutableFleetState } from './fleet-state.js';
import { solveFleetTargets } from './fleet-targets.js';
import { IncrementalFleet, type IncrementalStats } from './incremental-fleet.js';
import { LedgerWriter } from './ledger-writer.js';
import { LocalReasons } from './local-reasons.js';
import { applyPlan, type ConcurrencyChange, type DecisionPlan, planDecisions } from './planner.js';
import type { ConcurrencyPort, DecisionLedger, DecisionSink } from './ports.js';
import type {
  RejectedPayload,
  SchedulerEvents,
  SchedulerSnapshot,
  SchedulerStats,
} from './scheduler-events.js';
import { SolveLoop } from './solve-loop.js';

export interface SchedulerEngineOptions {
  readonly id: string;
  readonly solver: SolverName;
  readonly coalesceMs: number;
  readonly hysteresis: number;
  readonly sink: DecisionSink;
  readonly concurrency: ConcurrencyPort;
  /** Delay before re-solving after a failed `setGlobalConcurrency` or ledger call, in ms. */
  readonly retryMs: number;
  /**
   * Records each solve before it is published and fences it (decision-ledger.ts); without one,
   * every solve is published unchecked.
   */
  readonly ledger?: DecisionLedger;
}

type MutableStats = { -readonly [K in keyof SchedulerStats]: SchedulerStats[K] };

/**
 * The scheduler without its transports: takes decoded events, coalesces them, solves and drives
 * a `DecisionSink` and a `ConcurrencyPort`. Solves run one at a time; events arriving during a
 * solve start the next coalescing window when it ends (solve-loop.ts).
 */
export class SchedulerEngine extends EventEmitter<SchedulerEvents> {
  /** Updated in place: one UE's change costs O(1), not a copy of the fleet. */
  private readonly fleet: MutableFleetState = { ues: new Map(), workers: new Map() };
  /** The solver's input, updated for the UEs each event changed rather than rebuilt. */
  private readonly input = new IncrementalFleet();
  /**
   * The decision each UE was last sent, brought up to date in place by each solve that was
   * recorded (planner.ts, `applyPlan`); before `start`, the retained decisions read.
   */
  private readonly decisions = new Map<string, Decision>();
  /** Concurrency last set on each UE's queue in this process; absent = unknown. */
  private readonly applied = new Map<string, number>();
  /** Why each forced-local UE runs locally, as last reported to it. */
  private readonly localReasons = new LocalReasons();
  private epoch = 0;
  /** When solves run. */
  private readonly loop: SolveLoop;
  /** Records each solve before it is published; undefined: no ledger. */
  private readonly ledger: LedgerWriter | undefined;
  /** The next solve publishes every decision, not only the changed ones (after a reconnect). */
  private republishAll = false;
  /**
   * UEs whose retained decision differs from the ledger's (a leader stopped between recording
   * and publishing): the next solve publishes (or clears) theirs too.
   */
  private readonly unsynced = new Set<string>();
  private deposed = false;
  private readonly counters: MutableStats = {
    solves: 0,
    lastSolveMs: 0,
    epoch: 0,
    ues: 0,
    units: 0,
    maxPredictedMs: null,
    published: 0,
    cleared: 0,
    rejected: 0,
    concurrencyFailures: 0,
  };

  constructor(private readonly options: SchedulerEngineOptions) {
    super();
    this.loop = new SolveLoop(options.coalesceMs, (changedAt) => this.runSolve(changedAt));
    this.ledger = options.ledger === undefined ? undefined : new LedgerWriter(options.ledger);
  }

  /** Takes a retained decision found at start-up as already published (before `start`). */
  restoreDecision(ue: string, decision: Decision): void {
    if (this.loop.isStarted()) return;
    this.decisions.set(ue, decision);
    this.restoreEpoch(decision.epoch);
  }

  /**
   * Takes the ledger's record found at start-up: its decisions replace retained ones of an
   * epoch not above it (a UE it lacks was cleared), and the epoch continues above it.
   */
  restoreSnapshot(snapshot: DecisionSnapshot): void {
    if (this.loop.isStarted()) return;
    for (const [ue, decision] of this.decisions)
      if (decision.epoch <= snapshot.epoch && !snapshot.decisions.has(ue)) {
        this.decisions.delete(ue);
        this.unsynced.add(ue);
      }
    for (const [ue, decision] of snapshot.decisions) {
      const retained = this.decisions.get(ue);
      if (retained !== undefined && retained.epoch > decision.epoch) continue;
      if (retained?.epoch !== decision.epoch) this.unsynced.add(ue);
      this.decisions.set(ue, decision);
    }
    this.restoreEpoch(snapshot.epoch);
  }

  /**
   * Solves again and publishes every decision and the status, changed or not: the broker may
   * have lost its retained messages (a restart) or hold another scheduler's status.
   */
  republish(all: boolean): void {
    if (all) this.republishAll = true;
    this.loop.request();
  }

  /** Whether the ledger refused a solve: this engine publishes nothing any more. */
  isDeposed(): boolean {
    return this.deposed;
  }

  /** Continues above an epoch found at start-up (retained decisions, `scheduler/status`). */
  restoreEpoch(epoch: number): void {
    if (!this.loop.isStarted() && epoch > this.epoch) this.epoch = epoch;
  }

  /** Applies one input; re-solves after the coalescing window if it changed the instance. */
  apply(event: FleetEvent): void {
    if (this.loop.isClosed()) return;
    const resolve = applyFleetEventInPlace(this.fleet, event, this.options);
    if (event.type !== 'edgeStatus') this.input.touch(event.ue);
    if (resolve) this.loop.request();
  }

  /**
   * Takes for offline every edge worker not in `heard` (after a reconnect, those that did not
   * announce themselves again: they died while the connection was down) and reports which
   * workers it kept and which it took offline.
   */
  reconfirmWorkers(heard: ReadonlySet<string>): void {
    if (this.loop.isClosed()) return;
    const kept: string[] = [];
    const dropped: string[] = [];
    for (const worker of this.fleet.workers.keys())
      (heard.has(worker) ? kept : dropped).push(worker);
    this.takeWorkersOffline(dropped);
    emitEach(this, 'reconfirmed', { kept, dropped });
  }

  /**
   * Takes for offline the edge workers among `workers` that are online (their `online` status
   * went unrefreshed for the expiry time) and reports them, if any.
   */
  expireWorkers(workers: readonly string[]): void {
    if (this.loop.isClosed()) return;
    const online = workers.filter((worker) => this.fleet.workers.has(worker));
    if (online.length === 0) return;
    this.takeWorkersOffline(online);
    emitEach(this, 'workersExpired', { workers: online });
  }

  private takeWorkersOffline(workers: readonly string[]): void {
    for (const worker of workers) {
      const status = this.fleet.workers.get(worker);
      if (status === undefined) continue;
      this.apply({
        type: 'edgeStatus',
        worker,
        status: { ...status, state: 'offline', models: [] },
      });
    }
  }

  /** Records an invalid payload: state unchanged, an `error` to the UE the topic names. */
  reject(rejected: RejectedPayload): void {
    this.counters.rejected++;
    const { ue } = rejected;
    if (ue !== undefined) {
      const report = errorReportFrom(rejected.error, { topic: rejected.topic });
      this.send(() => this.options.sink.publishError(ue, report));
    }
    emitEach(this, 'rejected', rejected);
  }

  /** Reports a transport failure that happened outside a solve. */
  fail(error: Error): void {
    emitEach(this, 'error', error);
  }

  /** Allows solving and solves once, whatever changed, to publish status and set queues. */
  start(): void {
    this.loop.start();
  }

  /** Resolves when no solve is pending or running. */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** Stops solving; waits for a running solve to finish. */
  close(): Promise<void> {
    return this.loop.close();
  }

  /** A copy of the state (O(N): for status and tests, not for every change). */
  snapshot(): SchedulerSnapshot {
    const fleet = { ues: new Map(this.fleet.ues), workers: this.fleet.workers };
    return { fleet, decisions: new Map(this.decisions), epoch: this.epoch };
  }

  /** How the solver's input was kept (rebuilt, patched): tests check it is not rebuilt. */
  inputStats(): IncrementalStats {
    return this.input.stats();
  }

  stats(): SchedulerStats {
    return { ...this.counters, epoch: this.epoch };
  }

  /** One solve of the loop; a failure is reported, never thrown into the loop. */
  private async runSolve(changedAt: number): Promise<void> {
    try {
      await this.solveOnce(changedAt);
    } catch (cause) {
      const error = asError(cause);
      emitEach(this, 'error', error);
    }
  }

  private async solveOnce(changedAt: number): Promise<void> {
    const { solver } = this.options;
    const started = performance.now();
    const { targets, forcedLocal, units, solveMs, maxPredictedMs } = solveFleetTargets(
      this.fleet,
      solver,
      this.input,
    );
    const plan = planDecisions({
      previous: this.decisions,
      applied: this.applied,
      targets,
      epoch: this.epoch,
    });
    // Fenced: nothing of this solve goes out unless the ledger took it.
    if (!(await this.record(plan)) || this.loop.isClosed()) return;
    applyPlan(this.decisions, plan);
    this.epoch = plan.epoch;
    const everything = this.republishAll;
    this.republishAll = false;
    for (const { ue, report } of this.localReasons.update(forcedLocal))
      this.send(() => this.options.sink.publishError(ue, report));

    const firstPublish = performance.now();
    await this.publishPlan(plan, everything);
    const at = Date.now();
    this.send(() =>
      this.options.sink.publishStatus({
        leaderId: this.options.id,
        epoch: plan.epoch,
        ues: targets.length,
        units,
        lastSolveMs: solveMs,
        maxPredictedMs,
        solver,
        at,
      }),
    );
    const raiseMs = performance.now() - firstPublish;
    await Promise.all(plan.lower.map((change) => this.setConcurrency(change)));

    const c = this.counters;
    c.solves++;
    c.lastSolveMs = solveMs;
    c.ues = targets.length;
    c.units = units;
    c.maxPredictedMs = maxPredictedMs;
    c.published += plan.publish.length;
    c.cleared += plan.clear.length;
    emitEach(this, 'solved', {
      epoch: plan.epoch,
      solver,
      ues: targets.length,
      units,
      solveMs,
      maxPredictedMs,
      published: plan.publish.map((u) => u.ue),
      cleared: plan.clear,
      forcedLocal: forcedLocal.map((f) => f.ue),
      raised: plan.raise.length,
      lowered: plan.lower.length,
      waitMs: started - changedAt,
      raiseMs,
      reactionMs: firstPublish - changedAt,
      at,
    });
  }

  /**
   * Publishes a plan's decisions and clears: a decision whose UE's units did not rise goes out
   * at once; one that raises them goes out as soon as its own queue has the new value (the
   * raises run in parallel), so no UE waits for another UE's Redis round trip.
   */
  private async publishPlan(plan: DecisionPlan, everything: boolean): Promise<void> {
    const { sink } = this.options;
    const raised = new Map(plan.raise.map((change) => [change.ue, change]));
    const waiting = new Map<string, Decision>();
    const updates = [...plan.publish];
    const clears = [...plan.clear];
    if (everything || this.unsynced.size > 0) {
      const published = new Set(plan.publish.map((u) => u.ue));
      for (const [ue, decision] of this.decisions)
        if (!published.has(ue) && (everything || this.unsynced.has(ue)))
          updates.push({ ue, decision });
      for (const ue of this.unsynced) if (!this.decisions.has(ue)) clears.push(ue);
      this.unsynced.clear();
    }
    for (const { ue, decision } of updates) {
      if (raised.has(ue)) waiting.set(ue, decision);
      else this.send(() => sink.publishDecision(ue, decision));
    }
    for (const ue of new Set(clears)) this.send(() => sink.clearDecision(ue));
    await Promise.all(
      plan.raise.map(async (change) => {
        await this.setConcurrency(change);
        const decision = waiting.get(change.ue);
        if (decision !== undefined) this.send(() => sink.publishDecision(change.ue, decision));
      }),
    );
  }

  /**
   * Sets one queue's concurrency. A failure is reported, leaves the value unknown (so the next
   * solve sets it again, before publishing) and schedules a retry; it never throws.
   */
  private async setConcurrency(change: ConcurrencyChange): Promise<void> {
    try {
      await this.options.concurrency.setConcurrency(change.ue, change.to);
      this.applied.set(change.ue, change.to);
    } catch (cause) {
      this.counters.concurrencyFailures++;
      this.applied.delete(change.ue);
      const message = `setting the concurrency of UE "${change.ue}" to ${change.to} failed`;
      emitEach(this, 'error', new SchedulerTransportError('concurrency', message, { cause }));
      this.loop.retry(this.options.retryMs);
    }
  }

  /**
   * Records a plan in the ledger (ledger-writer.ts: a full record the first time, or when the
   * ledger has none): true when it may be published. A deposed engine stops; a failed call is reported and the
   * solve retried after retryMs, with nothing published meanwhile.
   */
  private async record(plan: DecisionPlan): Promise<boolean> {
    if (this.ledger === undefined) return true;
    try {
      const outcome = await this.ledger.write(plan, this.decisions);
      if (outcome.kind === 'recorded') return true;
      this.depose(outcome.reason);
      return false;
    } catch (cause) {
      const message = `recording epoch ${plan.epoch} failed: nothing published, retrying`;
      emitEach(this, 'error', new SchedulerTransportError('ledger', message, { cause }));
      this.loop.retry(this.options.retryMs);
      return false;
    }
  }

  private depose(reason: string): void {
    if (this.deposed) return;
    this.deposed = true;
    this.loop.stop();
    emitEach(this, 'deposed', { reason });
  }

  /** Runs one sink call; a throwing transport is reported, never allowed into the solve loop. */
  private send(call: () => void): void {
    if (this.deposed) return;
    try {
      call();
    } catch (cause) {
      emitEach(
        this,
        'error',
        new SchedulerTransportError('publish', 'publishing failed', { cause }),
      );
    }
  }
}
