/**
 * Agents' metrics (one agent, or a simulated fleet in one process): end-to-end task latency as
 * the UE measures it, per UE under the process's cap (`ue="other"` beyond it), its error against
 * the prediction by placement, tasks by outcome, agents connected.
 */
import { Counter, Histogram } from 'prom-client';
import type { TaskResult, UeAgent } from '../agents/index.js';
import { perProcess } from './once.js';
import { type ProcessMetrics, readGauge, type UeLabels } from './process-metrics.js';

/** End-to-end latencies in seconds, 10 ms to 30 s: 13 series per UE. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30];
/** |measured − predicted| / predicted. */
const ERROR_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2];

export class AgentMetrics {
  readonly #agents: UeAgent[] = [];
  readonly #labels: UeLabels;
  readonly #latency: Histogram<'ue'>;
  // Each label set's child, looked up once: a task does no label work.
  readonly #error: Record<'offloaded' | 'local', Histogram.Internal<'placement'>>;
  readonly #tasks: Record<'ok' | 'failed', Counter.Internal>;

  constructor(metrics: ProcessMetrics) {
    const registers = [metrics.registry];
    this.#labels = metrics.ueLabels();
    const agents = this.#agents;
    this.#latency = new Histogram({
      name: 'edgesplit_agent_latency_seconds',
      help:
        'End-to-end latency of a task measured by its UE (start to last result); ue is "other" ' +
        'beyond the per-UE cap',
      labelNames: ['ue'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const error = new Histogram({
      name: 'edgesplit_agent_prediction_error_ratio',
      help:
        '|measured - predicted| / predicted of tasks that got every result, by placement ' +
        '(offloaded, or local: run on the device)',
      labelNames: ['placement'],
      buckets: ERROR_BUCKETS,
      registers,
    });
    this.#error = {
      offloaded: error.labels({ placement: 'offloaded' }),
      local: error.labels({ placement: 'local' }),
    };
    const tasks = new Counter({
      name: 'edgesplit_agent_tasks_total',
      help: 'Tasks finished, by outcome (ok: every sample answered; failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.#tasks = {
      ok: tasks.labels({ outcome: 'ok' }),
      failed: tasks.labels({ outcome: 'failed' }),
    };
    readGauge(metrics, { name: 'edgesplit_agents', help: 'Agents run by this process' }, (set) =>
      set(agents.length),
    );
    readGauge(
      metrics,
      { name: 'edgesplit_agents_connected', help: 'Agents connected to the broker now' },
      (set) => set(agents.reduce((sum, agent) => sum + (agent.online ? 1 : 0), 0)),
    );
    metrics.requireReady({ name: 'agents started', ready: () => agents.length > 0 });
    metrics.watchConnections('agents', { mqtt: () => agents.every((agent) => agent.online) });
  }

  /** Follows `agent`'s tasks. */
  add(agent: UeAgent): void {
    this.#agents.push(agent);
    const latency = this.#latency.labels({ ue: this.#labels.label(agent.id) });
    agent.on('task', (task) => this.task(latency, task));
  }

  private task(latency: Histogram.Internal<'ue'>, task: TaskResult): void {
    if (!task.ok) {
      this.#tasks.failed.inc();
      return;
    }
    this.#tasks.ok.inc();
    latency.observe(task.measuredMs / 1000);
    if (task.predictedMs > 0)
      (task.units > 0 ? this.#error.offloaded : this.#error.local).observe(
        Math.abs(task.measuredMs - task.predictedMs) / task.predictedMs,
      );
  }
}

/** The agent metric set of a process. */
export const agentMetrics = perProcess((metrics) => new AgentMetrics(metrics));
