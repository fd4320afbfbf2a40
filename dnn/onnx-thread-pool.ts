/**
 * ONNX Runtime sessions in worker threads (piscina): a session's `run` holds the thread that
 * calls it for the whole inference, so on the main thread one inference at a time would run and
 * MQTT, timers and every other unit would wait. A pool of `workers` threads runs that many
 * segments at once, each thread with its own sessions; the main thread stays free.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Tensor } from '../proto/schemas/tensor.js';
import { SegmentError, type SegmentRequest } from './executor.js';
import {
  errorOf,
  type OnnxThreadReply,
  type OnnxThreadSettings,
  type OnnxThreadTask,
} from './onnx-thread-task.js';
import { WarmupBroadcast } from './onnx-thread-warmup.js';
import { checkSessionLimit } from './session-cache.js';

/** Options of `OnnxThreadPool`. */
export interface OnnxThreadPoolOptions {
  /** Segments run at once, one worker thread each. @defaultValue the machine's cores */
  readonly workers?: number;
  /** Intra-op threads of each session. @defaultValue 1 */
  readonly threads?: number;
  /** Seed of the zoo models' generated weights. @defaultValue `DEFAULT_WEIGHT_SEED` */
  readonly seed?: number;
  /** Folder of the model store. @defaultValue `modelStoreRoot()` (env `EDGESPLIT_MODEL_DIR`) */
  readonly root?: string;
  /**
   * Sessions each thread keeps open (least recently used closed beyond it).
   * @defaultValue 16 (`DEFAULT_MAX_SESSIONS`)
   */
  readonly maxSessions?: number;
}

// Run from TypeScript sources (tests), the worker module is TypeScript too and needs the loader.
const fromSources = import.meta.url.endsWith('.ts');
const workerFile = new URL(`./onnx-thread-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);

export class OnnxThreadPool {
  readonly workers: number;
  private readonly pool: Piscina<OnnxThreadTask, OnnxThreadReply>;
  private readonly warmups: WarmupBroadcast;
  private closing: Promise<void> | undefined;

  constructor(options: OnnxThreadPoolOptions = {}) {
    const workers = options.workers ?? availableParallelism();
    if (!Number.isSafeInteger(workers) || workers < 1)
      throw new RangeError(`workers must be a positive integer, not ${workers}`);
    // Checked here too: a thread that threw on it would be replaced, and throw, for good.
    const { maxSessions } = options;
    if (maxSessions !== undefined) checkSessionLimit(maxSessions);
    this.workers = workers;
    this.warmups = new WarmupBroadcast(workers);
    const settings: OnnxThreadSettings = {
      threads: options.threads ?? 1,
      warmupChannel: this.warmups.name,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.root === undefined ? {} : { root: options.root }),
      ...(maxSessions === undefined ? {} : { maxSessions }),
    };
    this.pool = new Piscina({
      filename: workerFile.href,
      minThreads: workers,
      maxThreads: workers,
      // One segment per thread at a time: a thread is a unit.
      concurrentTasksPerWorker: 1,
      // An idle thread waits for tasks on its event loop rather than blocked in Atomics.wait, so
      // it hears warm-up broadcasts (onnx-thread-warmup.ts) between runs.
      atomics: 'disabled',
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: settings,
      execArgv: fromSources ? ['--import', 'tsx'] : [],
    });
  }

  /** Runs a segment on the next free thread (waiting in line when all are busy). */
  async run(request: SegmentRequest): Promise<Tensor> {
    const { model, from, to, input } = request;
    const reply = await this.send({
      model,
      from,
      to,
      input: { shape: input.shape, data: input.data },
    });
    if (reply.data === undefined || reply.shape === undefined)
      throw new Error(`no output from the ${model} segment ${from}-${to}`);
    return { dtype: 'float32', shape: [...reply.shape], data: reply.data };
  }

  /**
   * Opens a segment's session on every thread ahead of its first request; resolves with the ids
   * of the threads, once each has it open (a busy thread opens it when its run ends).
   */
  warm(model: string, from: number, to: number): Promise<number[]> {
    if (this.closing !== undefined)
      return Promise.reject(new SegmentError('the executor is closed'));
    return this.warmups.warm(model, from, to);
  }

  /** Waits for running segments, then ends the threads. Safe to call twice. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.warmups.close();
      this.closing = this.pool.close();
    }
    return this.closing;
  }

  private async send(task: OnnxThreadTask): Promise<OnnxThreadReply & { ok: true }> {
    if (this.closing !== undefined) throw new SegmentError('the executor is closed');
    const reply = await this.pool.run(task);
    if (!reply.ok) throw errorOf(reply);
    return reply;
  }
}
