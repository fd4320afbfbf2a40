import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  agentMetrics,
  type MetricsServer,
  OTHER_UE,
  ProcessMetrics,
  startMetricsServer,
  UeLabels,
} from '../metrics/index.js';

const servers: MetricsServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(metrics: ProcessMetrics): Promise<string> {
  const server = await startMetricsServer(metrics, { port: 0 });
  servers.push(server);
  return `http://127.0.0.1:${server.port}`;
}

/** Sends raw bytes and returns what comes back until the server closes or answers. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(data));
    socket.write(text);
    socket.end();
  });
}

describe('metrics endpoints', () => {
  it('serve /metrics in the Prometheus text format, /healthz, and /readyz only once every condition holds', async () => {
    const metrics = new ProcessMetrics({ processMetrics: false });
    const base = await serve(metrics);
    // Nothing registered yet: alive, not ready.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const starting = await fetch(`${base}/readyz`);
    expect(starting.status).toBe(503);
    expect(await starting.text()).toContain('starting');

    let redis = false;
    metrics.watchConnections('scheduler', { mqtt: () => true, redis: () => redis });
    const waiting = await fetch(`${base}/readyz`);
    expect(waiting.status).toBe(503);
    expect(await waiting.text()).toContain('scheduler connected to Redis');
    redis = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('# TYPE edgesplit_redis_connected gauge');
    expect(text).toContain('edgesplit_redis_connected{component="scheduler"} 1');
    expect(text).toContain('edgesplit_mqtt_connected{component="scheduler"} 1');
  });

  it("serve on /metrics, rendered a metric at a time, the text prom-client's own rendering of the same registry gives", async () => {
    const metrics = new ProcessMetrics({ processMetrics: false });
    agentMetrics(metrics);
    metrics.watchConnections('ingress', { mqtt: () => true, redis: () => false });
    const base = await serve(metrics);
    const served = await (await fetch(`${base}/metrics`)).text();
    expect(served).toBe(await metrics.registry.metrics());
    expect(served).toContain('edgesplit_redis_connected{component="ingress"} 0');
  });

  it('answer another path with 404, another method with 405, and a malformed request with nothing', async () => {
    const metrics = new ProcessMetrics({ processMetrics: false });
    const base = await serve(metrics);
    for (const path of ['/', '/metrics/', '/admin', '/METRICS', '/%00']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(404);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(`${base}/metrics`, {
        method,
        body: method === 'POST' ? 'x'.repeat(1000) : null,
      });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    // A query string is ignored; the path decides.
    expect((await fetch(`${base}/healthz?x=1`)).status).toBe(200);

    const port = Number(new URL(base).port);
    const garbage = await raw(port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).not.toContain('edgesplit_');
    const huge = await raw(
      port,
      `GET /metrics HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge).not.toContain('edgesplit_');
    // The server still serves after them.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('refuses a port that is taken', async () => {
    const metrics = new ProcessMetrics({ processMetrics: false });
    const base = await serve(metrics);
    const port = Number(new URL(base).port);
    await expect(startMetricsServer(metrics, { port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('per-UE series', () => {
  it('give the first `cap` UEs a label of their own and every other UE "other"; off means all "other"', () => {
    const labels = new UeLabels(2);
    expect(['a', 'b', 'c', 'a', 'd', 'b'].map((ue) => labels.label(ue))).toEqual([
      'a',
      'b',
      OTHER_UE,
      'a',
      OTHER_UE,
      'b',
    ]);
    const off = new ProcessMetrics({ perUe: false, processMetrics: false }).ueLabels();
    expect(off.label('a')).toBe(OTHER_UE);
  });

  it('keep the agent latency series of a 10,000-UE fleet to the cap plus one', async () => {
    const metrics = new ProcessMetrics({ ueCap: 5, processMetrics: false });
    const set = agentMetrics(metrics);
    // Agents as the metric set sees them: an id, an online flag and task events.
    const listeners: ((task: unknown) => void)[] = [];
    for (let i = 0; i < 10_000; i++) {
      const agent = {
        id: `ue-${i}`,
        online: true,
        on: (_event: string, listener: (task: unknown) => void) => listeners.push(listener),
      };
      set.add(agent as never);
    }
    for (const listener of listeners)
      listener({ ok: true, measuredMs: 120, predictedMs: 100, units: 1 });
    const text = await metrics.registry.metrics();
    const counts = text
      .split('\n')
      .filter((line) => line.startsWith('edgesplit_agent_latency_seconds_count'));
    expect(counts).toHaveLength(6);
    expect(counts).toContain('edgesplit_agent_latency_seconds_count{ue="other"} 9995');
    expect(counts).toContain('edgesplit_agent_latency_seconds_count{ue="ue-0"} 1');
    expect(text).toContain('edgesplit_agents_connected 10000');
    expect(text).toContain('edgesplit_agent_tasks_total{outcome="ok"} 10000');
    // |120 - 100| / 100 = 0.2, in the 0.2 bucket.
    expect(text).toContain(
      'edgesplit_agent_prediction_error_ratio_bucket{le="0.2",placement="offloaded"} 10000',
    );
    expect(text).toContain(
      'edgesplit_agent_prediction_error_ratio_bucket{le="0.1",placement="offloaded"} 0',
    );
  });
});
