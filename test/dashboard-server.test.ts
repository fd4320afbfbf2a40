import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker, type TokenRecord } from '../broker/index.js';
import { type Dashboard, startDashboard } from '../dashboard/server.js';
import type { Snapshot } from '../dashboard/snapshot.js';
import { DEFAULT_TOPIC_PREFIX, encodeMessage, type Message, ueTopic } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { recordingLogger } from './recording-logger.js';
import { waitUntil } from './wait-until.js';

const P = DEFAULT_TOPIC_PREFIX;
const TOKEN = (name: string) => `token-of-${name}-0123456789`;
const tokens: TokenRecord[] = [
  { username: 'cam-1', role: 'ue', ue: 'cam-1', token: TOKEN('cam-1') },
  { username: 'watcher', role: 'observer', token: TOKEN('watcher') },
];
const OBSERVER = { username: 'watcher', password: TOKEN('watcher') };

const dir = mkdtempSync(join(tmpdir(), 'edgesplit-dashboard-'));
const bundle = join(dir, 'public');
let broker: Broker;
let mqttUrl: string;
let dashboard: Dashboard;
let ue: MqttClient;

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One raw HTTP request: the path is sent exactly as given, never normalised. */
function get(path: string, auth?: string, method = 'GET'): Promise<Reply> {
  const url = new URL(dashboard.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method,
        headers: auth === undefined ? {} : { authorization: auth },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AUTH = basic(OBSERVER.username, OBSERVER.password);

async function snapshot(): Promise<Snapshot> {
  return JSON.parse((await get('/snapshot.json', AUTH)).body) as Snapshot;
}

function publish(topic: string, payload: Buffer | Message, retain = true): Promise<unknown> {
  const bytes = Buffer.isBuffer(payload) ? payload : encodeMessage(payload);
  return ue.publishAsync(topic, bytes, { qos: 1, retain });
}

beforeAll(async () => {
  mkdirSync(bundle);
  writeFileSync(join(bundle, 'index.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(bundle, 'main.js'), 'console.log(1);');
  writeFileSync(join(dir, 'secret.txt'), 'outside the bundle');
  broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    auth: { tokens },
    logger: recordingLogger().logger,
  });
  mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
  dashboard = await startDashboard({
    mqttUrl,
    topicPrefix: P,
    ...OBSERVER,
    host: '127.0.0.1',
    port: 0,
    bundleDir: bundle,
    updateMs: 50,
    whatIfMs: 50,
  });
  ue = await connectMqtt({ url: mqttUrl, username: 'cam-1', password: TOKEN('cam-1') });
});

afterAll(async () => {
  await ue?.endAsync();
  await dashboard?.close();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard server', () => {
  it('binds to 127.0.0.1 by default and serves the bundle with a strict policy', async () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get('/', AUTH);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>page</title>');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect((await get('/main.js', AUTH)).headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('asks for the observer credentials when it has them (HTTP Basic)', async () => {
    const none = await get('/');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    expect((await get('/', basic('watcher', 'wrong-token-0123456789'))).status).toBe(401);
    expect((await get('/', basic('cam-1', TOKEN('cam-1')))).status).toBe(401);
    expect((await get('/events')).status).toBe(401);
    expect((await get('/snapshot.json', 'Basic !!!')).status).toBe(401);
  });

  it('serves nothing outside its bundle, however the path is spelt', async () => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/..%2fsecret.txt',
      '/public/../secret.txt',
      '//etc/passwd',
      '/index.html/..',
      '/./index.html',
      '/main.js%00.html',
      `/${'a'.repeat(5000)}`,
    ]) {
      const reply = await get(path, AUTH);
      expect(reply.status, path).toBe(404);
      expect(reply.body).not.toContain('outside the bundle');
    }
    expect((await get('/', AUTH, 'POST')).status).toBe(405);
    expect((await get('/', AUTH, 'DELETE')).status).toBe(405);
  });

  it('shows what UEs publish and refuses every invalid payload without changing anything', async () => {
    const at = Date.now();
    await publish(ueTopic(P, 'cam-1', 'status'), {
      state: 'online',
      agentVersion: 'test',
      at,
      protocol: 1,
    });
    await publish(ueTopic(P, 'cam-1', 'profile'), {
      model: 'tiny-cnn',
      batch: 1,
      resultBytes: 40,
      cuts: [
        { name: 'input', deviceMs: 0, bytes: 12288 },
        { name: 'output', deviceMs: 4, bytes: 40 },
      ],
    });
    await publish(ueTopic(P, 'cam-1', 'link'), { uplinkMbps: 12, rttMs: 3, measuredAt: at });
    await publish(
      ueTopic(P, 'cam-1', 'stats'),
      {
        at,
        windowMs: 30_000,
        tasks: 4,
        failed: 0,
        p50Ms: 21,
        p99Ms: 35,
        lastMs: 20,
        predictedMs: 19,
        totalTasks: 4,
      },
      false,
    );
    await waitUntil('cam-1 with its link and stats', async () => {
      const row = (await snapshot()).ues.find((u) => u.ue === 'cam-1');
      return row?.link?.uplinkMbps === 12 && row.measured?.p99Ms === 35 && row.online;
    });
    const before = await snapshot();
    // Hostile payloads on every topic the dashboard reads (retained ones the broker refuses
    // itself; the others reach the dashboard and must be refused there).
    const bad = [
      Buffer.from('not msgpack at all'),
      encodeMessage({ uplinkMbps: -1, rttMs: 'x', measuredAt: 0 } as unknown as Message),
      Buffer.from([0xc1]),
      Buffer.alloc(0),
    ];
    for (const payload of bad) {
      await publish(ueTopic(P, 'cam-1', 'stats'), payload, false);
      await publish(
        ueTopic(P, 'cam-1', 'stats'),
        encodeMessage({ at, windowMs: -5, p50Ms: 'fast' } as unknown as Message),
        false,
      );
      await publish(ueTopic(P, 'cam-1', 'link'), payload, false);
      await publish(ueTopic(P, 'cam-1', 'profile'), payload, false);
    }
    await waitUntil('the invalid payloads counted', async () => (await snapshot()).rejected >= 10);
    const after = await snapshot();
    expect(after.ues).toEqual(before.ues);
    // The what-if panel solves the fleet it shows: no edge worker, so cam-1 is local-only.
    await waitUntil('the what-if panel', async () => (await snapshot()).whatIf?.forcedLocal === 1);
    expect((await snapshot()).whatIf?.note).toBe('no UE to solve yet');
  });

  it('pushes updates to an open page as server-sent events', async () => {
    const url = new URL(dashboard.url);
    const first = await new Promise<Snapshot>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/events',
          headers: { authorization: AUTH },
        },
        (res) => {
          expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            const match = /^data: (.*)$/m.exec(buffer);
            if (match !== null) {
              req.destroy();
              resolve(JSON.parse(defined(match[1], 'the data of the event')) as Snapshot);
            }
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(first.connected).toBe(true);
    expect(first.ues.map((u) => u.ue)).toContain('cam-1');
    expect(first.rows.length).toBeGreaterThan(0);
  });

  it('refuses to start with credentials that are not an observer', async () => {
    await expect(
      startDashboard({
        mqttUrl,
        topicPrefix: P,
        username: 'cam-1',
        password: TOKEN('cam-1'),
        host: '127.0.0.1',
        port: 0,
        bundleDir: bundle,
      }),
    ).rejects.toThrow(/observer credentials/);
  });
});
