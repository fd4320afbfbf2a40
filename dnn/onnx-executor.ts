import type { Tensor } from '../proto/schemas/tensor.js';
import { type Executor, SegmentError, type SegmentRequest } from './executor.js';
import type { OnnxModel } from './onnx/onnx-model.js';
import { buildSegment } from './onnx/segment.js';
import { openSegmentSession, type SegmentSession } from './onnx/segment-session.js';
import { loadZooModel } from './onnx/zoo-models.js';
import { SessionCache } from './session-cache.js';
import { hasModel } from './zoo.js';

/** Options of the ONNX Runtime executor. */
export interface OnnxExecutorOptions {
  /**
   * Intra-op threads of each session (an edge worker gives one per unit, an agent one).
   * @defaultValue 1
   */
  readonly threads?: number;
  /** Seed of the zoo models' generated weights. @defaultValue `DEFAULT_WEIGHT_SEED` */
  readonly seed?: number;
  /** Folder of the model store. @defaultValue `modelStoreRoot()` (env `EDGESPLIT_MODEL_DIR`) */
  readonly root?: string;
  /** Models besides the zoo's, by name (e.g. from `importModel`). @defaultValue none */
  readonly models?: readonly OnnxModel[];
  /**
   * Sessions kept open; beyond it the least recently used one that no run holds is closed.
   * @defaultValue 16 (`DEFAULT_MAX_SESSIONS`)
   */
  readonly maxSessions?: number;
}

/** Sessions an executor (one per thread of a pool) keeps open by default. */
export const DEFAULT_MAX_SESSIONS = 16;

/**
 * Runs model segments with ONNX Runtime on the calling thread: zoo models are built (or read from
 * the model store) on first use, and one session is kept per (model, from, to). Tensors stay
 * Float32Array in and out. A run holds the thread until it ends: services use
 * `ThreadedOnnxExecutor`, which runs this in worker threads; the profiler uses it directly.
 */
export class OnnxExecutor implements Executor {
  readonly kind = 'onnx';
  private readonly models = new Map<string, Promise<OnnxModel>>();
  private readonly sessions: SessionCache<SegmentSession>;
  private closed = false;

  constructor(private readonly options: OnnxExecutorOptions = {}) {
    for (const model of options.models ?? []) this.models.set(model.name, Promise.resolve(model));
    this.sessions = new SessionCache(options.maxSessions ?? DEFAULT_MAX_SESSIONS);
  }

  /** Sessions open (or opening) right now. */
  get openSessions(): number {
    return this.sessions.size;
  }

  async run(request: SegmentRequest): Promise<Tensor> {
    if (this.closed) throw new SegmentError('the executor is closed');
    const { model, from, to, input } = request;
    return this.session(model, from, to, (session) => session.run(input));
  }

  /** Loads a model and opens the session of a segment ahead of the first request. */
  async warm(model: string, from: number, to: number): Promise<void> {
    await this.session(model, from, to, async () => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sessions.closeAll();
  }

  private model(name: string): Promise<OnnxModel> {
    let model = this.models.get(name);
    if (model === undefined) {
      if (!hasModel(name)) return Promise.reject(new SegmentError(`unknown model "${name}"`));
      const { seed, root } = this.options;
      model = loadZooModel(name, {
        ...(seed === undefined ? {} : { seed }),
        ...(root === undefined ? {} : { root }),
      });
      // A failed build is retried by the next request rather than cached.
      model.catch(() => this.models.delete(name));
      this.models.set(name, model);
    }
    return model;
  }

  private session<R>(
    name: string,
    from: number,
    to: number,
    use: (session: SegmentSession) => Promise<R>,
  ): Promise<R> {
    const open = () =>
      this.model(name).then((model) =>
        openSegmentSession(buildSegment(model, from, to), { threads: this.options.threads ?? 1 }),
      );
    return this.sessions.with(`${name}:${from}:${to}`, open, use);
  }
}
