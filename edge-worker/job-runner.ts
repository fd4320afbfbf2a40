import { type Job, UnrecoverableError } from 'bullmq';
import type { Executor } from '../dnn/index.js';
import {
  ANSWER_TTL_SECONDS,
  type AnswerChannel,
  answerKey,
  claimKey,
  encodeMessage,
  errorReportFrom,
  isWireError,
  keptAnswer,
  type Message,
  ueTopic,
  type WireError,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { ClaimFiles } from '../runtime/claim-files.js';
import { readAnswer } from '../runtime/kept-answer.js';
import type { RedisClient } from '../runtime/redis-connect.js';
import { TailJobError } from './errors.js';
import type { JobEndEvent, JobStartEvent, JobTimesObserver } from './job-events.js';
import type { ResolvedEdgeWorkerOptions } from './resolve-options.js';
import { Semaphore } from './semaphore.js';
import { parseTailJobData, requestIdOf, runTailJob, type TailContext } from './tail-job.js';
import { tensorLoader } from './tensor-loader.js';

/** Counters of one UE queue. */
export interface QueueCounters {
  running: number;
  completed: number;
  failed: number;
}

/** What {@link TailJobRunner} needs from the process around it. */
export interface TailJobRunnerOptions {
  readonly config: ResolvedEdgeWorkerOptions;
  readonly executor: Executor;
  readonly redis: RedisClient;
  /** Publishes QoS 1 and resolves once the broker acknowledged it. */
  publish(topic: string, payload: Buffer): Promise<void>;
  onJobStart?: ((event: JobStartEvent) => void) | undefined;
  onJobEnd?: ((event: JobEndEvent) => void) | undefined;
  jobTimes?: JobTimesObserver | undefined;
  /** A job answered: the cut its tail started at, its computation and its whole time on a unit. */
  onServed?:
    | ((model: string, cut: number, computeMs: number, serviceMs: number) => void)
    | undefined;
  onError(error: Error, context: string): void;
}

/**
 * Runs tail jobs under the process-wide unit cap, publishes their results and errors, and
 * deletes claim-check keys once a job is finished for good: with the kept result when it
 * succeeds, on its own when it fails.
 */
export class TailJobRunner {
  private readonly slots: Semaphore;
  private readonly context: TailContext;
  private readonly redis: RedisClient;
  /** Jobs whose claim key went with their kept result: nothing is left to delete. */
  private readonly dropped = new WeakSet<Job>();
  /** Jobs whose failure the UE was already told about. */
  private readonly reported = new Set<string>();
  private readonly cleanups = new Set<Promise<void>>();
  /** The claim directory's files, when tensors are kept there instead of in Redis. */
  private readonly files: ClaimFiles | undefined;
  readonly perQueue = new Map<string, QueueCounters>();
  running = 0;
  maxRunning = 0;
  completed = 0;
  failed = 0;

  constructor(private readonly options: TailJobRunnerOptions) {
    const { config, executor, redis } = options;
    this.redis = redis;
    this.slots = new Semaphore(config.units);
    const files = config.claimDir === undefined ? undefined : new ClaimFiles(config.claimDir);
    this.files = files;
    this.context = {
      workerId: config.id,
      redisPrefix: config.redisPrefix,
      executor,
      models: new Set(config.models),
      loadTensor: tensorLoader(redis, files),
    };
  }

  /** Jobs holding a BullMQ lock but waiting for a free unit. */
  get waitingForSlot(): number {
    return this.slots.pending;
  }

  /** The BullMQ processor of `ue`'s queue. */
  async process(ue: string, job: Job): Promise<void> {
    const jobId = job.id ?? '';
    const parsed = parseTailJobData(job.data);
    if (!parsed.ok) return this.reject(ue, jobId, parsed.error, requestIdOf(job.data));
    const data = parsed.value;
    if (data.ue !== ue) {
      const error = new TailJobError(
        'badJob',
        'INVALID_PAYLOAD',
        `job.data.ue "${data.ue}" is not its queue's UE`,
      );
      return this.reject(ue, jobId, error, data.requestId);
    }
    const release = await this.slots.acquire();
    const startedAt = Date.now();
    this.options.jobTimes?.queued(Math.max(0, startedAt - data.enqueuedAt));
    const counters = this.countersOf(ue);
    this.running++;
    counters.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const base = { ue, requestId: data.requestId, jobId };
    this.hook(() => this.options.onJobStart?.({ ...base, running: this.running }));
    let failure: Error | undefined;
    try {
      const result = await runTailJob(data, this.context, startedAt);
      const payload = encode(result);
      const claim = claimKey(this.options.config.redisPrefix, ue, data.requestId);
      const [, kept] = await Promise.all([
        this.options.publish(this.topic(ue, 'result'), payload),
        this.keepAnswer(ue, data.requestId, 'result', payload, claim),
      ]);
      if (kept) {
        // The claim key went with the kept answer; the claim directory's file goes with it.
        this.dropped.add(job);
        this.removeFile(claim);
      }
      const { computeMs } = result.timings;
      this.options.jobTimes?.computed(computeMs);
      this.hook(() =>
        this.options.onServed?.(data.model, data.cut, computeMs, Date.now() - startedAt),
      );
    } catch (error) {
      // The tensor goes with the kept result, so a run of a job that already answered (its
      // lock was lost before it completed, and it ran again) finds it gone: the UE has had
      // its result, which the kept answer still holds. Sent again, it completes the job.
      if (
        error instanceof TailJobError &&
        error.failure === 'tensorMissing' &&
        (await this.answerAgain(ue, data.requestId).catch(() => false))
      )
        return;
      failure = asError(error);
      if (isWireError(error)) await this.reject(ue, jobId, error, data.requestId);
      // Anything else (the broker unreachable) fails the attempt; the job's `attempts` decide.
      throw error;
    } finally {
      this.running--;
      counters.running--;
      release();
      const end = failure === undefined ? { ok: true } : { ok: false, error: failure };
      this.hook(() => this.options.onJobEnd?.({ ...base, ...end }));
    }
  }

  /** A job reached a final state: count it, tell the UE of an unreported failure, drop its tensor. */
  finished(ue: string, job: Job, error: Error | undefined): void {
    const counters = this.countersOf(ue);
    const jobId = job.id ?? '';
    if (error === undefined) {
      this.completed++;
      counters.completed++;
    } else {
      this.failed++;
      counters.failed++;
      // E.g. a job that stalled more often than maxStalledCount: BullMQ failed it unseen by us.
      if (!this.reported.delete(jobId)) {
        const reason = new TailJobError(
          'executor',
          'TAIL_FAILED',
          `tail job failed: ${error.message}`,
        );
        this.track(this.tell(ue, reason, requestIdOf(job.data)));
      }
    }
    if (error === undefined && this.dropped.has(job)) return;
    const parsed = parseTailJobData(job.data);
    // Only the key the contract names is deleted, whatever else the job data says.
    if (!parsed.ok) return;
    const { ue: jobUe, requestId } = parsed.value;
    const key = claimKey(this.options.config.redisPrefix, jobUe, requestId);
    if (parsed.value.claimKey !== key) return;
    this.track(
      this.options.redis.del(key).then(
        () => undefined,
        (cause: unknown) => this.options.onError(asError(cause), `deleting ${key}`),
      ),
    );
    this.removeFile(key);
  }

  /** Removes a claim key's file when tensors are in a claim directory. */
  private removeFile(key: string): void {
    try {
      this.files?.remove(key);
    } catch (cause) {
      this.options.onError(asError(cause), `deleting the file of ${key}`);
    }
  }

  /** Resolves once every claim-key deletion and late error report has been sent. */
  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all(this.cleanups);
  }

  /** Tells the UE and fails the job for good (no retry can fix it). */
  private async reject(
    ue: string,
    jobId: string,
    error: WireError,
    requestId: string | undefined,
  ): Promise<never> {
    this.reported.add(jobId);
    await this.tell(ue, error, requestId);
    throw new UnrecoverableError(error.message);
  }

  private async tell(ue: string, error: WireError, requestId: string | undefined) {
    const context = {
      topic: this.topic(ue, 'infer'),
      ...(requestId === undefined ? {} : { requestId }),
    };
    const payload = encode(errorReportFrom(error, context));
    try {
      await Promise.all([
        this.options.publish(this.topic(ue, 'error'), payload),
        requestId === undefined ? undefined : this.keepAnswer(ue, requestId, 'error', payload),
      ]);
    } catch (cause) {
      this.options.onError(asError(cause), `publishing an error to ${ue}`);
    }
  }

  /**
   * Keeps the answer for the ingress to send again to a resend of the request (proto's
   * `answerKey`, one SET with its time to live), and deletes `claim` when given: a job whose
   * answer is kept needs its tensor no more. Both go in one write. Failing to keep it, or to
   * delete the claim key, only costs that (the claim key is then deleted once the job is
   * finished), so it is reported, not thrown. Resolves to whether both were done.
   */
  private async keepAnswer(
    ue: string,
    requestId: string,
    channel: AnswerChannel,
    payload: Buffer,
    claim?: string,
  ): Promise<boolean> {
    const key = answerKey(this.options.config.redisPrefix, ue, requestId);
    // Sent in the same turn: one write. Each failure is reported on its own.
    const done = (step: Promise<unknown>, context: string) =>
      step.then(
        () => true,
        (cause: unknown) => {
          this.options.onError(asError(cause), context);
          return false;
        },
      );
    const kept = done(
      this.redis.set(key, keptAnswer(channel, payload), 'EX', ANSWER_TTL_SECONDS),
      `keeping the answer of ${requestId}`,
    );
    const dropped = claim === undefined ? true : done(this.redis.del(claim), `deleting ${claim}`);
    const [keptOk, droppedOk] = await Promise.all([kept, dropped]);
    return keptOk && droppedOk;
  }

  /** Publishes the kept result of a request again; false when there is none. */
  private async answerAgain(ue: string, requestId: string): Promise<boolean> {
    const answer = await readAnswer(this.redis, this.options.config.redisPrefix, ue, requestId);
    if (answer?.channel !== 'result') return false;
    await this.options.publish(this.topic(ue, 'result'), answer.payload);
    return true;
  }

  private topic(ue: string, channel: 'result' | 'error' | 'infer'): string {
    return ueTopic(this.options.config.topicPrefix, ue, channel);
  }

  private countersOf(ue: string): QueueCounters {
    let counters = this.perQueue.get(ue);
    if (counters === undefined) {
      counters = { running: 0, completed: 0, failed: 0 };
      this.perQueue.set(ue, counters);
    }
    return counters;
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.cleanups.delete(tracked));
    this.cleanups.add(tracked);
  }

  private hook(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.options.onError(asError(error), 'job hook');
    }
  }
}

/** A copy of the encoded bytes: the codec packs into a shared slab that later messages reuse. */
function encode(message: Message): Buffer {
  return Buffer.from(encodeMessage(message));
}
