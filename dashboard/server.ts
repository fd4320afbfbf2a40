/**
 * The dashboard's server (docs/dashboard.md): reads the fleet from the broker as an MQTT client
 * with the `observer` role, serves the page's bundle and pushes an update to every open page
 * twice a second (server-sent events). The page never talks to the broker and never holds
 * credentials; with credentials given, the page asks for them too (HTTP Basic).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  edgeStatusFilter,
  MESSAGE_QOS,
  schedulerStatusTopic,
  ueChannelFilter,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { onCurrentMessage } from '../runtime/retained-replay.js';
import { FleetView } from './fleet-view.js';
import type { WhatIf } from './snapshot.js';
import { whatIf } from './what-if.js';

/** Where `npm run build` puts the page's bundle, next to this file once compiled. */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('./public/', import.meta.url));

/** Pages open at once at most; more get 503. */
export const MAX_CLIENTS = 64;
/** A page whose unsent updates exceed this is skipped until it catches up. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Largest file served from the bundle. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface DashboardOptions {
  readonly mqttUrl: string;
  readonly topicPrefix: string;
  /** Observer credentials (docs/security.md); the page then asks for the same ones. */
  readonly username?: string;
  readonly password?: string;
  readonly host: string;
  /** 0: a free port. */
  readonly port: number;
  readonly bundleDir?: string;
  /** How often a plot row is taken and pages are updated. @defaultValue 500 */
  readonly updateMs?: number;
  /** The what-if panel is solved at most this often, and only after a change. @defaultValue 2000 */
  readonly whatIfMs?: number;
  readonly mqttOptions?: IClientOptions;
  readonly onWarning?: (error: Error) => void;
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  /** Whether its observer connection to the broker is up. */
  connected(): boolean;
  close(): Promise<void>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
}

/**
 * The bundle's files, read once: a request can only ever name one of these (by its exact
 * name, one level, no path), so nothing outside the bundle directory is reachable.
 */
function readBundle(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return files;
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type === undefined || !/^[A-Za-z0-9._-]+$/.test(name)) continue;
    const path = join(dir, name);
    const stat = statSync(path);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) continue;
    files.set(name, { body: readFileSync(path), type });
  }
  return files;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether the request carries the observer's credentials as HTTP Basic. */
function authorised(req: IncomingMessage, username: string, password: string): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Basic ') || header.length > 4096)
    return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const okUser = sameSecret(decoded.slice(0, colon), username);
  const okPassword = sameSecret(decoded.slice(colon + 1), password);
  return okUser && okPassword;
}

interface Client {
  readonly res: ServerResponse;
  lastSeq: number;
}

/** Starts the server; resolves once it listens and the broker accepted the observer. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const warn = options.onWarning ?? (() => {});
  const prefix = options.topicPrefix;
  const view = new FleetView(prefix);
  const files = readBundle(options.bundleDir ?? DEFAULT_BUNDLE_DIR);
  const clients = new Set<Client>();
  const credentials =
    options.username !== undefined && options.password !== undefined
      ? { username: options.username, password: options.password }
      : undefined;
  let latestWhatIf: WhatIf | null = null;
  let solvedVersion = -1;

  const client: MqttClient = await connectMqtt(
    {
      url: options.mqttUrl,
      clientId: `dashboard-${randomBytes(6).toString('hex')}`,
      clean: true,
      ...(credentials ?? {}),
      ...options.mqttOptions,
    },
    (created) => {
      // A replay that a live message overtook is stale (a worker's `online` after its last will).
      onCurrentMessage(created, (topic, payload) => {
        try {
          view.receive(topic, payload);
        } catch (error) {
          warn(asError(error));
        }
      });
      created.on('error', (error) => warn(error));
    },
  );
  const filters = [
    ...(['status', 'profile', 'link', 'decision', 'stats'] as const).map((channel) =>
      ueChannelFilter(prefix, channel),
    ),
    edgeStatusFilter(prefix),
    schedulerStatusTopic(prefix),
  ];
  const refusal = (what: string) =>
    new Error(`the broker refused ${what}: the dashboard needs observer credentials`);
  try {
    const granted = await client.subscribeAsync(filters, { qos: MESSAGE_QOS }).catch((error) => {
      throw refusal(`its subscriptions (${asError(error).message})`);
    });
    const refused = granted.filter((grant) => grant.qos === 0x80).map((grant) => grant.topic);
    if (refused.length > 0) throw refusal(`the subscriptions ${refused.join(', ')}`);
  } catch (error) {
    await client.endAsync(true);
    throw error;
  }

  const send = (target: Client) => {
    if (target.res.writableLength > MAX_BUFFERED_BYTES) return;
    const snapshot = view.snapshot(target.lastSeq, client.connected, latestWhatIf);
    target.lastSeq = view.lastSeq;
    target.res.write(`data: ${JSON.stringify(snapshot)}\n\n`);
  };

  const tick = setInterval(() => {
    try {
      view.sample();
      for (const target of clients) send(target);
    } catch (error) {
      warn(asError(error));
    }
  }, options.updateMs ?? 500);
  const solver = setInterval(() => {
    if (view.version === solvedVersion) return;
    solvedVersion = view.version;
    try {
      latestWhatIf = whatIf(view.state, Date.now());
    } catch (error) {
      warn(asError(error));
    }
  }, options.whatIfMs ?? 2000);
  view.sample();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (credentials !== undefined && !authorised(req, credentials.username, credentials.password)) {
      res
        .writeHead(401, {
          'www-authenticate': 'Basic realm="edgesplit dashboard", charset="UTF-8"',
        })
        .end('observer credentials required\n');
      return;
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    if (path === '/events') {
      if (clients.size >= MAX_CLIENTS) {
        res.writeHead(503, { 'retry-after': '5' }).end('too many open pages\n');
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        connection: 'keep-alive',
      });
      res.write('retry: 1000\n\n');
      const target: Client = { res, lastSeq: 0 };
      clients.add(target);
      res.on('close', () => clients.delete(target));
      send(target);
      return;
    }
    if (path === '/snapshot.json') {
      const body = JSON.stringify(view.snapshot(0, client.connected, latestWhatIf));
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    const name = path === '/' ? 'index.html' : path.slice(1);
    const file = files.get(name);
    if (file === undefined) {
      if (name === 'index.html')
        res
          .writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
          .end('the dashboard page is not built: run `npm run build`\n');
      else res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };

  const server = createServer(handle);
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    clearInterval(tick);
    clearInterval(solver);
    await client.endAsync(true);
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/`,
    port,
    connected: () => client.connected,
    close: () => {
      closing ??= (async () => {
        clearInterval(tick);
        clearInterval(solver);
        for (const target of clients) target.res.end();
        clients.clear();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await client.endAsync();
      })();
      return closing;
    },
  };
}
