import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import {
  type Decision,
  type ErrorReport,
  type InferRequest,
  type InferResult,
  isRetryableError,
  type LinkEstimate,
  type Profile,
  type Tensor,
  ueProbeTopic,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { emitEach } from '../runtime/events.js';
import type { AgentEvents } from './agent-events.js';
import { type AgentConfig, type AgentOptions, resolveAgentOptions } from './agent-options.js';
import { AgentSession } from './agent-session.js';
import { type AgentCounters, type AgentStats, StatsRecorder } from './agent-stats.js';
import { DecisionGate } from './decision-gate.js';
import {
  checkLinkRates,
  downloadWaitMs,
  type LinkRates,
  linkEstimateOf,
  uploadWaitMs,
} from './emulated-link.js';
import { AgentStoppedError, NoDecisionError } from './errors.js';
import { runHeads } from './head.js';
import type { ResultArrival } from './link-estimator.js';
import { LinkMeter, type UploadTiming } from './link-meter.js';
import { type RequestOutcome, RequestTracker, requestIdOf } from './request-tracker.js';
import { sampleInputs } from './sample-input.js';
import { StatsWindow } from './stats-window.js';
import {
  planTask,
  type SampleOutcomes,
  sampleOutcomes,
  type TaskPlan,
  type TaskResult,
} from './task-result.js';

/** How often a task waiting on its upload checks whether it runs late. */
const LATE_CHECK_MS = 100;

/** Options of `UeAgent.stop`. */
export interface StopOptions {
  /** How long tasks in flight may run on before they are cut short. @defaultValue 0 */
  readonly graceMs?: number;
}

/**
 * A UE: announces its status, profile and link, follows the scheduler's decisions, runs the
 * head of its model and sends each sample's intermediate tensor to the edge, tracking every
 * request until its result arrives. Create one with `startAgent`.
 */
export class UeAgent extends EventEmitter<AgentEvents> {
  readonly id: string;
  readonly profile: Profile;
  private session: AgentSession | undefined;
  private readonly gate: DecisionGate;
  private link: LinkEstimate | undefined;
  /** With `linkMode: 'measure'`: what measures the link. */
  private readonly meter: LinkMeter | undefined;
  /** `measure`: results received of tasks still running, by request id. */
  private readonly arrivals = new Map<string, ResultArrival>();
  private readonly tracker: RequestTracker;
  private readonly recorder: StatsRecorder;
  private readonly lifetime = new AbortController();
  private readonly window: StatsWindow;
  private statsTimer: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();
  // Request ids must not repeat across restarts: the ingress drops a job id it has seen.
  private readonly runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  private taskCount = 0;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly config: AgentConfig) {
    super();
    this.id = config.id;
    this.profile = config.profile;
    this.link = config.link === undefined ? undefined : linkEstimateOf(config.link);
    this.meter =
      config.linkMode === 'measure'
        ? new LinkMeter(
            {
              probe: (bytes) => this.probe(bytes),
              publish: (link) => {
                this.link = link;
                this.session?.publishLink(link);
                emitEach(this, 'link', link);
              },
              warn: (error) => emitEach(this, 'warning', error),
              socket: () => this.session?.socket,
            },
            {
              initial: config.link,
              probeIntervalMs: config.probeIntervalMs,
              linkIntervalMs: config.linkIntervalMs,
              hysteresis: config.linkHysteresis,
            },
          )
        : undefined;
    this.gate = new DecisionGate(config.profile.cuts.length);
    this.recorder = new StatsRecorder(config.historyLimit);
    this.window = new StatsWindow(config.statsWindowMs);
    this.tracker = new RequestTracker({
      timeoutMs: config.requestTimeoutMs,
      maxRetries: config.maxRetries,
      resend: (request) => this.session?.publishInfer(request),
      onRetry: () => this.recorder.count('retried'),
    });
  }

  /** Connects and announces; called once by `startAgent`. */
  async connect(): Promise<void> {
    this.session = await AgentSession.open(
      this.config,
      {
        decision: (decision) => this.onDecision(decision),
        result: (result, bytes) => this.onResult(result, bytes),
        error: (report) => this.onError(report),
        invalid: (error) => emitEach(this, 'warning', error),
        publishFailed: (error) => emitEach(this, 'warning', error),
        status: (status) => emitEach(this, 'status', status),
      },
      () => ({ profile: this.profile, link: this.link }),
    );
    this.meter?.start();
    if (this.config.statsIntervalMs > 0) {
      this.statsTimer = setInterval(() => this.publishStats(), this.config.statsIntervalMs);
      this.statsTimer.unref();
    }
  }

  /** Publishes `ue/{ue}/stats` when connected (a summary missed offline is not worth a queue). */
  private publishStats(): void {
    const session = this.session;
    if (session === undefined || !session.connected) return;
    session.publishStats(this.window.summary(Date.now()));
  }

  /** The MQTT client (for diagnostics and tests). */
  get client(): MqttClient {
    if (this.session === undefined) throw new Error('agent is not connected');
    return this.session.client;
  }

  get online(): boolean {
    return this.session?.connected ?? false;
  }

  /** The decision the next task runs under, if one has arrived. */
  get decision(): Decision | undefined {
    return this.gate.current;
  }

  /** The link estimate last published (none yet: measuring, before the first probe). */
  get linkEstimate(): LinkEstimate | undefined {
    return this.link;
  }

  /** Probes sent so far (`linkMode: 'measure'`). */
  get probes(): number {
    return this.meter?.probes ?? 0;
  }

  /**
   * Sets the link rates (emulated waits use them from the next upload) and publishes them.
   * A measuring agent publishes what it measures instead: this throws there.
   */
  setLink(rates: LinkRates): void {
    if (this.meter !== undefined)
      throw new Error('the link of an agent with linkMode "measure" is measured, not set');
    const link = linkEstimateOf(checkLinkRates(rates));
    this.link = link;
    this.session?.publishLink(link);
  }

  /** Counters, epochs received and the latest task records (a copy). */
  stats(): AgentStats {
    return this.recorder.snapshot();
  }

  /** The counters alone: cheap enough to poll. */
  counters(): AgentCounters {
    return this.recorder.counters();
  }

  /** Runs one task of `batch` samples under the current decision. */
  runTask(): Promise<TaskResult> {
    if (this.closing !== undefined) return Promise.reject(new AgentStoppedError(this.id));
    const task = this.execute();
    const settled = task.then(
      () => {},
      () => {},
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return task;
  }

  /** Runs tasks back to back, `thinkTimeMs` apart, until `stop`. */
  start(): void {
    if (this.loop === undefined && this.closing === undefined) this.loop = this.runLoop();
  }

  /**
   * Stops: no new task starts; tasks in flight get `graceMs`, then their requests are cancelled
   * (and the tasks reject with AgentStoppedError); publishes a retained `offline` status and
   * disconnects. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.graceMs ?? 0);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    if (graceMs > 0 && this.running.size > 0) {
      const grace = new AbortController();
      await Promise.race([
        Promise.all(this.running),
        sleep(graceMs, undefined, { signal: grace.signal }).catch(() => {}),
      ]);
      grace.abort();
    }
    this.lifetime.abort();
    this.meter?.stop();
    clearInterval(this.statsTimer);
    this.tracker.cancelAll('agent stopped');
    await Promise.all(this.running);
    await this.loop;
    await this.session?.close();
  }

  private async runLoop(): Promise<void> {
    const signal = this.lifetime.signal;
    while (!signal.aborted) {
      let pause = this.config.thinkTimeMs;
      try {
        await this.runTask();
      } catch (error) {
        if (error instanceof AgentStoppedError) break;
        emitEach(this, 'warning', asError(error));
        // Waiting for a decision already took its time; other failures must not spin.
        if (!(error instanceof NoDecisionError)) pause = Math.max(pause, 1000);
      }
      await sleep(pause, undefined, { signal }).catch(() => {});
    }
  }

  private async execute(): Promise<TaskResult> {
    const plan = await planTask(this.gate, this.config, this.lifetime.signal);
    const { batch, profile, model, executor } = this.config;
    const task = ++this.taskCount;
    // The frames exist before the task starts: making them is not part of its latency.
    const inputs = sampleInputs(this.id, batch, this.config.inputShape);
    const started = performance.now();
    const heads = await runHeads(executor, model, plan.cut, inputs, this.lifetime.signal);
    if (heads === undefined) throw new AgentStoppedError(this.id);
    if (plan.cut === profile.cuts.length - 1)
      return this.finish(task, plan, started, { outputs: heads, failures: [], retries: 0 });

    const link = this.config.linkMode === 'emulated' ? this.link : undefined;
    if (link !== undefined)
      await this.wait(uploadWaitMs(link, batch * (profile.cuts[plan.cut]?.bytes ?? 0)));
    const upload = this.meter?.timeUpload(heads.length);
    const ids = heads.map((_, sample) => requestIdOf(this.runId, task, sample));
    let answered = false;
    const sent = Promise.all(
      heads.map((tensor, sample) => this.send(task, plan, sample, tensor, upload)),
    ).finally(() => {
      answered = true;
      // Results that came after a fallback still time the downlink, and leave nothing behind.
      if (this.meter !== undefined) this.meter.recordResults(this.takeArrivals(ids));
    });
    const fallback = this.config.localFallback
      ? await Promise.race([
          sent.then(() => undefined),
          this.tailsWhenLate(plan, heads, () => answered),
        ])
      : undefined;
    if (fallback !== undefined) {
      // The edge's answers still come (or fail) in the background; nothing waits for them.
      sent.catch(() => undefined);
      const samples = { outputs: fallback, failures: [], retries: 0 };
      return this.finish(task, plan, started, samples, true);
    }
    const outcomes = await sent;
    if (outcomes.some((outcome) => !outcome.ok && outcome.reason === 'cancelled'))
      throw new AgentStoppedError(this.id);
    if (link !== undefined && outcomes.some((outcome) => outcome.ok))
      await this.wait(downloadWaitMs(link, profile.resultBytes));
    const samples = sampleOutcomes(outcomes, (sample) => requestIdOf(this.runId, task, sample));
    return this.finish(task, plan, started, samples);
  }

  /**
   * The tails of a task run on the device, once its upload runs late and its bytes not yet
   * acknowledged would take longer than the tails take here; undefined once `answered` (the
   * edge's results came first) or without a meter.
   */
  private async tailsWhenLate(
    plan: TaskPlan,
    heads: readonly Tensor[],
    answered: () => boolean,
  ): Promise<Tensor[] | undefined> {
    const meter = this.meter;
    if (meter === undefined) return undefined;
    const { profile, executor, model, batch } = this.config;
    const last = profile.cuts.length - 1;
    const tailMs =
      batch * ((profile.cuts[last]?.deviceMs ?? 0) - (profile.cuts[plan.cut]?.deviceMs ?? 0));
    const signal = this.lifetime.signal;
    while (!answered() && !signal.aborted) {
      const late = meter.lateUpload();
      if (late?.remainingMs !== undefined && late.remainingMs > tailMs) {
        const tails: Tensor[] = [];
        for (const input of heads)
          tails.push(await executor.run({ model, from: plan.cut, to: last, input }));
        return tails;
      }
      await sleep(LATE_CHECK_MS, undefined, { signal }).catch(() => {});
    }
    return undefined;
  }

  private takeArrivals(ids: readonly string[]): ResultArrival[] {
    const taken: ResultArrival[] = [];
    for (const id of ids) {
      const arrival = this.arrivals.get(id);
      if (arrival !== undefined) taken.push(arrival);
      this.arrivals.delete(id);
    }
    return taken;
  }

  private probe(bytes: number): Promise<void> {
    const session = this.session;
    if (session === undefined || !session.connected)
      return Promise.reject(new Error('not connected'));
    return session.publishProbe(bytes);
  }

  private finish(
    task: number,
    plan: TaskPlan,
    started: number,
    samples: SampleOutcomes,
    fallback = false,
  ) {
    const measuredMs = performance.now() - started;
    const { outputs, failures, retries } = samples;
    const ok = failures.length === 0;
    const result: TaskResult = {
      task,
      ...plan,
      measuredMs,
      retries,
      ok,
      outputs,
      failures,
      ...(fallback ? { fallback } : {}),
    };
    const { epoch, cut, units, predictedMs } = plan;
    const at = Date.now();
    const offloaded = cut < this.config.profile.cuts.length - 1;
    this.window.add({ at, measuredMs, predictedMs, ok });
    this.recorder.task({
      task,
      at,
      epoch,
      cut,
      offloaded,
      units,
      predictedMs,
      measuredMs,
      ok,
      retries,
      ...(fallback ? { fallback } : {}),
    });
    emitEach(this, 'task', result);
    return result;
  }

  private send(
    task: number,
    plan: TaskPlan,
    sample: number,
    tensor: Tensor,
    upload?: UploadTiming,
  ): Promise<RequestOutcome> {
    const request: InferRequest = {
      requestId: requestIdOf(this.runId, task, sample),
      epoch: plan.epoch ?? 0,
      model: this.config.model,
      cut: plan.cut,
      sample,
      tensor,
      sentAt: Date.now(),
    };
    const outcome = this.tracker.track(request);
    this.recorder.count('requests');
    const session = this.session;
    if (session === undefined) upload?.acked(new Error('not connected'));
    else {
      // Published whether or not the upload is timed: `upload?.sent(publish())` would skip the
      // publish itself when there is no timing (optional chaining skips the arguments too).
      const bytes = session.publishInfer(request, upload?.acked);
      upload?.sent(bytes);
    }
    return outcome.then((settled) => {
      if (settled.ok) this.recorder.count('ok');
      else this.recorder.count(settled.reason === 'cancelled' ? 'cancelled' : 'failed');
      return settled;
    });
  }

  private async wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal: this.lifetime.signal });
    } catch {
      throw new AgentStoppedError(this.id);
    }
  }

  private onDecision(decision: Decision): void {
    const offer = this.gate.offer(decision);
    if (offer.kind === 'invalid') {
      emitEach(this, 'warning', new Error(offer.reason));
      return;
    }
    if (offer.kind === 'stale') return;
    this.recorder.epoch(decision.epoch);
    if (offer.kind !== 'changed') return;
    emitEach(this, 'decision', decision);
    // A new cut's head is prepared now, while the agent thinks, not in its next task.
    const { executor, model } = this.config;
    if (decision.cut > 0)
      executor.warm?.(model, 0, decision.cut).catch((error: unknown) => {
        if (this.closing !== undefined) return; // cut short by stopping: no error
        const reason = asError(error).message;
        emitEach(
          this,
          'warning',
          new Error(`preparing the head up to cut ${decision.cut}: ${reason}`),
        );
      });
  }

  private onResult(result: InferResult, bytes: number): void {
    const disposition = this.tracker.settleResult(result);
    if (disposition === 'accepted' && this.meter !== undefined)
      this.arrivals.set(result.requestId, {
        bytes,
        arrivedAt: Date.now(),
        finishedAt: result.finishedAt,
      });
    if (disposition === 'accepted') emitEach(this, 'result', result);
    else if (disposition === 'duplicate') this.recorder.count('duplicatesDropped');
    else if (disposition === 'late') this.recorder.count('lateDropped');
    else this.recorder.count('unknownDropped');
  }

  private onError(report: ErrorReport): void {
    if (this.meter !== undefined && report.topic === ueProbeTopic(this.config.topicPrefix, this.id))
      this.meter.probeRefused();
    if (report.requestId !== undefined)
      this.tracker.settleError(report.requestId, report.message, isRetryableError(report.code));
    emitEach(this, 'error', report);
  }
}

/** Checks the options, connects, subscribes and announces the UE; resolves once connected. */
export async function startAgent(options: AgentOptions): Promise<UeAgent> {
  const agent = new UeAgent(resolveAgentOptions(options));
  await agent.connect();
  return agent;
}
