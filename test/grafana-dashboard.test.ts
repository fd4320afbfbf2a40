import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Broker, Ingress } from '../broker/index.js';
import {
  agentMetrics,
  edgeMetrics,
  ProcessMetrics,
  schedulerMetrics,
  watchBroker,
  watchIngress,
} from '../metrics/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dashboard = JSON.parse(
  readFileSync(`${root}deploy/grafana/dashboards/edgesplit.json`, 'utf8'),
) as { panels: { title: string; targets?: { expr: string }[] }[] };

/** Every series name the code can export: each metric set on one registry, as in `up`. */
function exportedNames(): Set<string> {
  const metrics = new ProcessMetrics();
  schedulerMetrics(metrics);
  edgeMetrics(metrics);
  agentMetrics(metrics);
  // Only their names are read: nothing is collected.
  watchBroker(metrics, {} as Broker);
  watchIngress(metrics, {} as Ingress);
  const names = new Set<string>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or labels. */
function metricNames(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '');
  return [...withoutLabels.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter((match) => !/^\s*\(/.test(withoutLabels.slice(match.index + match[0].length)))
    .map((match) => match[0])
    .filter((word) => word.includes('_'));
}

describe('the Grafana dashboard', () => {
  it('queries only metrics the code exports, and shows latency, units, epochs, solve time, queue wait and errors', () => {
    const exported = exportedNames();
    const unknown: string[] = [];
    const used = new Set<string>();
    for (const panel of dashboard.panels)
      for (const target of panel.targets ?? [])
        for (const name of metricNames(target.expr)) {
          used.add(name);
          if (!exported.has(name)) unknown.push(`${panel.title}: ${name}`);
        }
    expect(unknown).toEqual([]);
    for (const name of [
      'edgesplit_fleet_predicted_max_latency_seconds',
      'edgesplit_agent_latency_seconds_bucket',
      'edgesplit_ue_decision_units',
      'edgesplit_scheduler_epoch',
      'edgesplit_scheduler_solve_duration_seconds_bucket',
      'edgesplit_edge_queue_wait_seconds_bucket',
      'edgesplit_ingress_requests_total',
      'edgesplit_edge_jobs_total',
    ])
      expect(used, name).toContain(name);
  });

  it('finds metric names in a query the way the check above needs', () => {
    expect(
      metricNames(
        'histogram_quantile(0.9, sum by (le, worker) (rate(edgesplit_edge_queue_wait_seconds_bucket{worker!="x"}[1m])))',
      ),
    ).toEqual(['edgesplit_edge_queue_wait_seconds_bucket']);
    expect(metricNames('max(edgesplit_no_such_metric) * 60')).toEqual(['edgesplit_no_such_metric']);
  });
});
