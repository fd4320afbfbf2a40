/**
 * The embedded broker's metrics, read from its counters at each scrape: connections, refusals
 * by kind, logins by outcome, bytes in and out.
 */
import type { Broker } from '../broker/index.js';
import { countedCounter, type ProcessMetrics, readGauge, sampled } from './process-metrics.js';

/** Exports `broker`'s counters on `metrics`. One broker per process. */
export function watchBroker(metrics: ProcessMetrics, broker: Broker): void {
  const stats = sampled(() => broker.stats());
  readGauge(
    metrics,
    { name: 'edgesplit_broker_clients', help: 'MQTT clients connected now' },
    (set) => set(stats().clients),
  );
  readGauge(
    metrics,
    { name: 'edgesplit_broker_pending_logins', help: 'Connections accepted, not logged in yet' },
    (set) => set(stats().pendingLogins),
  );
  countedCounter(
    metrics,
    { name: 'edgesplit_broker_connections_total', help: 'Connections accepted on all listeners' },
    (set) => set(stats().connections),
  );
  countedCounter(
    metrics,
    {
      name: 'edgesplit_broker_refusals_total',
      help:
        'Refused actions by kind: connect (login, protocol, limits before login), publish and ' +
        'subscribe (ACL, size), forward (a delivery stopped at the last moment)',
      labelNames: ['kind'],
    },
    (set) => {
      const refused = stats().refused;
      set(refused.connect, { kind: 'connect' });
      set(refused.publish, { kind: 'publish' });
      set(refused.subscribe, { kind: 'subscribe' });
      set(refused.forward, { kind: 'forward' });
    },
  );
  countedCounter(
    metrics,
    {
      name: 'edgesplit_broker_logins_total',
      help:
        'Logins by outcome: accepted, refused (bad credentials), throttled (too many failures), ' +
        'busy (too many being checked); none when authentication is off',
      labelNames: ['outcome'],
    },
    (set) => {
      const logins = stats().logins;
      if (logins === undefined) return;
      set(logins.accepted, { outcome: 'accepted' });
      set(logins.refused, { outcome: 'refused' });
      set(logins.throttled, { outcome: 'throttled' });
      set(logins.busy, { outcome: 'busy' });
    },
  );
  countedCounter(
    metrics,
    { name: 'edgesplit_broker_received_bytes_total', help: 'Bytes read from client connections' },
    (set) => set(stats().bytesIn),
  );
  countedCounter(
    metrics,
    { name: 'edgesplit_broker_sent_bytes_total', help: 'Bytes written to client connections' },
    (set) => set(stats().bytesOut),
  );
  // The broker is its own MQTT server: it is connected as long as it listens.
  metrics.watchConnections('broker', { mqtt: () => true });
}
