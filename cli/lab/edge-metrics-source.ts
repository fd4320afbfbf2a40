/**
 * The lab's `--metrics-port`: what its edge (`up` in the edge namespace: broker, ingress,
 * scheduler, edge workers) serves, read through the relay's Unix socket (metrics-relay.ts) at
 * each request and served from the host's namespace. `/healthz` is the lab's own.
 */
import { request } from 'node:http';
import type { MetricsSource } from '../../metrics/index.js';

/** Port the edge's `up` serves its metrics on inside the edge namespace (private to it). */
export const LAB_EDGE_METRICS_PORT = 9464;

/** Longest a read from the edge may take, in ms (the scraper's own timeout is longer). */
const READ_TIMEOUT_MS = 4000;
/** Largest body read from the edge: its metrics are well under this. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface EdgeAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** GET `path` from the edge through `socketPath`. */
function get(socketPath: string, path: string): Promise<EdgeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: READ_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error('edge metrics too large'));
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'] ?? 'text/plain; charset=utf-8',
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('the edge did not answer in time')));
    req.on('error', reject);
    req.end();
  });
}

/** The edge's metrics and readiness, through the relay listening on `socketPath`. */
export function edgeMetricsSource(socketPath: string): MetricsSource {
  return {
    async render() {
      const answer = await get(socketPath, '/metrics');
      if (answer.status !== 200) throw new Error(`the edge answered ${answer.status}`);
      return { contentType: answer.contentType, text: answer.text };
    },
    async notReady() {
      let answer: EdgeAnswer;
      try {
        answer = await get(socketPath, '/readyz');
      } catch {
        return ['lab edge starting'];
      }
      if (answer.status === 200) return [];
      const reasons = answer.text.trim().replace(/^not ready: /, '');
      return reasons === '' ? [`lab edge answered ${answer.status}`] : reasons.split('; ');
    },
  };
}
