/**
 * The ingress's metrics, read from its own counters at each scrape (nothing on a request's path):
 * requests by outcome, stored tensor bytes, requests in flight, its connections.
 */
import type { Ingress } from '../broker/index.js';
import { countedCounter, type ProcessMetrics, readGauge, sampled } from './process-metrics.js';

/** Exports `ingress`'s counters on `metrics`. One ingress per process. */
export function watchIngress(metrics: ProcessMetrics, ingress: Ingress): void {
  const read = sampled(() => ingress.stats());
  countedCounter(
    metrics,
    {
      name: 'edgesplit_ingress_requests_total',
      help:
        'infer requests by outcome: accepted (queued), duplicate (job existed), rejected ' +
        '(invalid), no_units, queue_full, failed (Redis did not store it in time), expired ' +
        '(removed unstarted after its life)',
      labelNames: ['outcome'],
    },
    (set) => {
      const stats = read();
      set(stats.accepted, { outcome: 'accepted' });
      set(stats.duplicates, { outcome: 'duplicate' });
      set(stats.rejected, { outcome: 'rejected' });
      set(stats.noUnits, { outcome: 'no_units' });
      set(stats.queueFull, { outcome: 'queue_full' });
      set(stats.failed, { outcome: 'failed' });
      set(stats.expired, { outcome: 'expired' });
    },
  );
  countedCounter(
    metrics,
    {
      name: 'edgesplit_ingress_stored_bytes_total',
      help: 'Tensor bytes of accepted requests stored in Redis',
    },
    (set) => set(read().storedBytes),
  );
  countedCounter(
    metrics,
    {
      name: 'edgesplit_ingress_answered_again_total',
      help: 'Duplicates of finished requests answered again from the kept answer',
    },
    (set) => set(read().answeredAgain),
  );
  readGauge(
    metrics,
    { name: 'edgesplit_ingress_requests_in_flight', help: 'Requests being stored now' },
    (set) => set(read().inFlight),
  );
  metrics.watchConnections('ingress', {
    mqtt: () => ingress.connected().mqtt,
    redis: () => ingress.connected().redis,
  });
}
