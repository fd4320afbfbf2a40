/**
 * What the ingress does with one `ue/{ue}/infer` message: reads and validates it, checks its
 * sample against the UE's batch and its epoch against the UE's units, then has it stored and
 * enqueued (request-store.ts) within the Redis timeout. Every request that is not queued gets
 * its answer here: an `error` with the wire code of why (`INVALID_PAYLOAD`, `NO_UNITS`,
 * `EPOCH_AHEAD`, `QUEUE_FULL`, `UNAVAILABLE`), and each outcome is counted.
 */
import {
  claimKey,
  EdgesplitError,
  encodeMessage,
  errorReportFrom,
  type TailJobData,
  tailJobId,
  ueTopic,
  ValidationError,
  type WireErrorCode,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { logText, MAX_LOGGED_CHARS } from '../runtime/log-text.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { DecisionBook } from './decision-book.js';
import { readInferMessage } from './infer-request.js';
import type { AnswerPublisher, IntakeCounts } from './intake-api.js';
import type { IntakeRedis } from './intake-redis.js';
import type { Logger } from './log.js';
import { Refusal, type RequestStore } from './request-store.js';

/** What `IntakePipeline` needs. */
export interface IntakePipelineParts {
  readonly connections: IntakeRedis;
  readonly decisions: DecisionBook;
  readonly store: RequestStore;
  readonly redisPrefix: string;
  readonly topicPrefix: string;
  /** Largest payload decoded. */
  readonly maxPayloadBytes: number;
  /** Longest a request may take to be stored, ms. */
  readonly redisTimeoutMs: number;
  /** Counts the rejected, refused and failed requests. */
  readonly counts: IntakeCounts;
  readonly publish: AnswerPublisher;
  readonly logger: Logger;
}

export class IntakePipeline {
  readonly #connections: IntakeRedis;
  readonly #decisions: DecisionBook;
  readonly #store: RequestStore;
  readonly #redisPrefix: string;
  readonly #topicPrefix: string;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #counts: IntakeCounts;
  readonly #publish: AnswerPublisher;
  readonly #logger: Logger;

  constructor(parts: IntakePipelineParts) {
    this.#connections = parts.connections;
    this.#decisions = parts.decisions;
    this.#store = parts.store;
    this.#redisPrefix = parts.redisPrefix;
    this.#topicPrefix = parts.topicPrefix;
    this.#maxBytes = parts.maxPayloadBytes;
    this.#timeoutMs = parts.redisTimeoutMs;
    this.#counts = parts.counts;
    this.#publish = parts.publish;
    this.#logger = parts.logger;
  }

  /**
   * Handles one message to its end: the request is stored and its job added, or its UE has been
   * answered. Rejects only on a bug.
   */
  async handle(topic: string, payload: Buffer): Promise<void> {
    const counts = this.#counts;
    const outcome = readInferMessage(this.#topicPrefix, topic, payload, this.#maxBytes);
    if (!outcome.ok) {
      counts.rejected += 1;
      const issue = outcome.report.issues[0] ?? outcome.report.message;
      this.#logger.warn(`rejected request on ${logText(topic)}: ${logText(issue)}`, {
        topic: topic.slice(0, MAX_LOGGED_CHARS),
      });
      if (outcome.errorTopic !== undefined)
        this.#publish(outcome.errorTopic, encodeMessage(outcome.report));
      return;
    }
    const { ue, request } = outcome;
    const sampleProblem = this.#decisions.sampleProblem(ue, request.sample);
    if (sampleProblem !== undefined) {
      counts.rejected += 1;
      const error = new ValidationError('INVALID_PAYLOAD', [sampleProblem]);
      const report = errorReportFrom(error, { topic, requestId: request.requestId });
      this.#publish(ueTopic(this.#topicPrefix, ue, 'error'), encodeMessage(report));
      return;
    }
    const units = this.#decisions.admits(ue, request.epoch);
    if (!units.ok) {
      if (units.code === 'NO_UNITS') counts.noUnits += 1;
      else counts.rejected += 1;
      this.#tell(ue, request.requestId, units.code, `${units.reason}; the request was not queued`);
      return;
    }
    const { bytes: data, shape } = request.tensor;
    const job: TailJobData = {
      ue,
      requestId: request.requestId,
      epoch: request.epoch,
      model: request.model,
      cut: request.cut,
      sample: request.sample,
      claimKey: claimKey(this.#redisPrefix, ue, request.requestId),
      dtype: 'float32',
      shape,
      sentAt: request.sentAt,
      enqueuedAt: Date.now(),
    };
    const jobId = tailJobId(ue, request.requestId);
    try {
      // Refused at once while Redis is away, so that it holds no memory here.
      this.#connections.checkConnected();
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      await withTimeout(this.#store.store(ue, job, bytes, data.byteLength), this.#timeoutMs);
    } catch (error) {
      if (error instanceof Refusal) {
        counts.queueFull += 1;
        this.#tell(ue, request.requestId, error.code, error.message);
        return;
      }
      counts.failed += 1;
      const reason = asError(error).message;
      this.#logger.error(`enqueueing ${jobId}: ${reason}`, { ueId: ue });
      // The request may still be queued if Redis answers late; a resend is then a duplicate.
      this.#tell(
        ue,
        request.requestId,
        'UNAVAILABLE',
        `the request could not be queued (${reason}): send it again (same requestId) shortly`,
      );
    }
  }

  /** Sends `ue` an `error` with `code` for its request `requestId`. */
  #tell(ue: string, requestId: string, code: WireErrorCode, message: string): void {
    const report = errorReportFrom(new EdgesplitError(code, message), { requestId });
    this.#publish(ueTopic(this.#topicPrefix, ue, 'error'), encodeMessage(report));
  }
}
