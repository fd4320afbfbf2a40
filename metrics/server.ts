/**
 * The HTTP endpoints of a process: `/metrics` (Prometheus text format), `/healthz` (the process
 * runs) and `/readyz` (it is connected and can do its work). Requests are hostile: only GET and
 * HEAD on these three paths are served (another method gets 405, another path 404), bodies are
 * never read, and slow or many connections are cut off.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the endpoints serve: a process's own registry ({@link ProcessMetrics}), or what another
 * process reports (the lab relays its edge's).
 */
export interface MetricsSource {
  /** The body of `/metrics` and its content type. */
  render(): Promise<{ readonly contentType: string; readonly text: string }>;
  /** The readiness conditions not met now; empty when ready. */
  notReady(): readonly string[] | Promise<readonly string[]>;
}

/** Address of the metrics endpoints unless `--metrics-host` says otherwise. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** Most connections the endpoints hold at once; scrapers and probes need a handful. */
const MAX_CONNECTIONS = 32;
/** Longest a request may take to arrive, headers included, in ms. */
const REQUEST_TIMEOUT_MS = 5000;

export interface MetricsServerOptions {
  readonly port: number;
  /** @defaultValue 127.0.0.1 */
  readonly host?: string;
}

/** A running metrics server. */
export interface MetricsServer {
  readonly port: number;
  /** `http://host:port/metrics` (IPv6 hosts in brackets). */
  readonly url: string;
  close(): Promise<void>;
}

const PATHS = new Set(['/metrics', '/healthz', '/readyz']);

/** Starts the endpoints of `metrics`; rejects if the port cannot be bound. */
export async function startMetricsServer(
  metrics: MetricsSource,
  options: MetricsServerOptions,
): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_METRICS_HOST;
  const server = createServer(
    { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS, maxHeaderSize: 8192 },
    (request, response) => {
      handle(metrics, request, response).catch(() => {
        if (!response.headersSent) reply(response, 500, 'error\n');
        else response.destroy();
      });
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.keepAliveTimeout = REQUEST_TIMEOUT_MS;
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${shown}:${port}/metrics`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(
  metrics: MetricsSource,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  // A body is never read: the connection is not reused after one.
  if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'])
    response.shouldKeepAlive = false;
  if (!PATHS.has(path)) return reply(response, 404, 'not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return reply(response, 405, 'method not allowed\n');
  }
  const head = request.method === 'HEAD';
  if (path === '/healthz') return reply(response, 200, 'ok\n', head);
  if (path === '/readyz') {
    const failing = await metrics.notReady();
    if (failing.length === 0) return reply(response, 200, 'ready\n', head);
    return reply(response, 503, `not ready: ${failing.join('; ')}\n`, head);
  }
  const { contentType, text } = await metrics.render();
  response.setHeader('Content-Type', contentType);
  reply(response, 200, text, head);
}

function reply(response: ServerResponse, status: number, body: string, head = false): void {
  response.statusCode = status;
  if (!response.hasHeader('Content-Type'))
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.setHeader('Cache-Control', 'no-store');
  response.end(head ? undefined : body);
}
