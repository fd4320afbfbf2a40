/**
 * Edge workers' metrics, labelled by worker id (one process may run several, as `up` does):
 * jobs by outcome, queue wait and compute duration, units declared and busy.
 */
import { Histogram } from 'prom-client';
import type { EdgeWorker, JobTimesObserver } from '../edge-worker/index.js';
import { perProcess } from './once.js';
import { countedCounter, type ProcessMetrics, readGauge, sampled } from './process-metrics.js';

/** Queue waits in seconds, from 1 ms to 2 min (a job's life). */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
/** Tail computations in seconds, from 1 ms to 10 s. */
const COMPUTE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

interface Followed {
  readonly units: number;
  readonly stats: () => ReturnType<EdgeWorker['stats']>;
}

export class EdgeMetrics {
  readonly #workers = new Map<string, Followed>();
  readonly #wait: Histogram<'worker'>;
  readonly #compute: Histogram<'worker'>;
  readonly #metrics: ProcessMetrics;

  constructor(metrics: ProcessMetrics) {
    this.#metrics = metrics;
    const registers = [metrics.registry];
    const workers = this.#workers;
    this.#wait = new Histogram({
      name: 'edgesplit_edge_queue_wait_seconds',
      help: 'From a job enqueued by the ingress to its start on a unit of this worker',
      labelNames: ['worker'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.#compute = new Histogram({
      name: 'edgesplit_edge_compute_duration_seconds',
      help: 'Computation of a tail on the edge',
      labelNames: ['worker'],
      buckets: COMPUTE_BUCKETS,
      registers,
    });
    countedCounter(
      metrics,
      {
        name: 'edgesplit_edge_jobs_total',
        help: 'Tail jobs that reached a final state, by outcome (completed or failed)',
        labelNames: ['worker', 'outcome'],
      },
      (set) => {
        for (const [worker, edge] of workers) {
          const stats = edge.stats();
          set(stats.completed, { worker, outcome: 'completed' });
          set(stats.failed, { worker, outcome: 'failed' });
        }
      },
    );
    readGauge(
      metrics,
      {
        name: 'edgesplit_edge_units_declared',
        help: 'Units the worker declares (concurrency slots)',
        labelNames: ['worker'],
      },
      (set) => {
        for (const [worker, edge] of workers) set(edge.units, { worker });
      },
    );
    readGauge(
      metrics,
      {
        name: 'edgesplit_edge_units_busy',
        help: 'Units running a job now',
        labelNames: ['worker'],
      },
      (set) => {
        for (const [worker, edge] of workers) set(edge.stats().running, { worker });
      },
    );
    readGauge(
      metrics,
      {
        name: 'edgesplit_edge_jobs_waiting_for_unit',
        help: 'Jobs taken from a queue and waiting for a free unit',
        labelNames: ['worker'],
      },
      (set) => {
        for (const [worker, edge] of workers) set(edge.stats().waitingForSlot, { worker });
      },
    );
  }

  /** The observer to give `startEdgeWorker` (`jobTimes`) for the worker `id`. */
  jobTimes(id: string): JobTimesObserver {
    const wait = this.#wait.labels({ worker: id });
    const compute = this.#compute.labels({ worker: id });
    return {
      queued: (ms) => wait.observe(ms / 1000),
      computed: (ms) => compute.observe(ms / 1000),
    };
  }

  /**
   * Follows a started worker: its counters, units and connections; it is ready once started
   * (its units are declared before `startEdgeWorker` resolves) and connected.
   */
  add(worker: EdgeWorker): void {
    this.#workers.set(worker.id, { units: worker.units, stats: sampled(() => worker.stats()) });
    this.#metrics.watchConnections(`edge-worker ${worker.id}`, {
      mqtt: () => worker.connected().mqtt,
      redis: () => worker.connected().redis,
    });
  }
}

/** The edge metric set of a process. */
export const edgeMetrics = perProcess((metrics) => new EdgeMetrics(metrics));
