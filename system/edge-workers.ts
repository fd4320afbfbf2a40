/** Edge workers of one stack, in the same process, with their metrics: one part of a stack. */
import { type EdgeWorker, type EdgeWorkerOptions, startEdgeWorker } from '../edge-worker/index.js';
import { edgeMetrics, type ProcessMetrics } from '../metrics/index.js';

export interface EdgeWorkersOptions {
  readonly ids: readonly string[];
  /** Every worker's options but `id` and `jobTimes` (the metrics'). */
  readonly worker: (id: string) => Omit<EdgeWorkerOptions, 'id' | 'jobTimes'>;
  /** Where their metrics go; none without. */
  readonly metrics?: ProcessMetrics;
}

export interface EdgeWorkers {
  /** In the order of `ids`. */
  readonly workers: readonly EdgeWorker[];
  /** Closes them all at once. */
  close(): Promise<void>;
}

/** Starts one worker after the other; if one fails, closes those started and rejects. */
export async function startEdgeWorkers(options: EdgeWorkersOptions): Promise<EdgeWorkers> {
  const edge = options.metrics === undefined ? undefined : edgeMetrics(options.metrics);
  const workers: EdgeWorker[] = [];
  const close = async () => {
    const results = await Promise.allSettled(workers.map((worker) => worker.close()));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  };
  try {
    for (const id of options.ids) {
      const worker = await startEdgeWorker({
        ...options.worker(id),
        id,
        ...(edge === undefined ? {} : { jobTimes: edge.jobTimes(id) }),
      });
      workers.push(worker);
      edge?.add(worker);
    }
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return { workers, close };
}
