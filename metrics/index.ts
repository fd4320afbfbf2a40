/**
 * Metrics and health (docs/operations.md): one Prometheus registry per process, a metric set
 * per component, and the HTTP endpoints `/metrics`, `/healthz` and `/readyz`.
 */
export { AgentMetrics, agentMetrics } from './agent-metrics.js';
export { watchBroker } from './broker-metrics.js';
export { EdgeMetrics, edgeMetrics } from './edge-metrics.js';
export { watchIngress } from './ingress-metrics.js';
export {
  type ConnectionProbes,
  DEFAULT_UE_CAP,
  type MetricsOptions,
  OTHER_UE,
  ProcessMetrics,
  RENDER_REUSE_MS,
  type ReadinessCheck,
  UeLabels,
} from './process-metrics.js';
export {
  highest,
  SchedulerMetrics,
  type SchedulerRole,
  schedulerMetrics,
} from './scheduler-metrics.js';
export {
  DEFAULT_METRICS_HOST,
  type MetricsServer,
  type MetricsServerOptions,
  type MetricsSource,
  startMetricsServer,
} from './server.js';
