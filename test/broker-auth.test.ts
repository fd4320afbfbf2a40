import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Broker,
  BrokerListenError,
  createBroker,
  hashPassword,
  type TokenRecord,
} from '../broker/index.js';
import { connectMqtt, type MqttConnectOptions } from '../runtime/mqtt-connect.js';
import { recordingLogger } from './recording-logger.js';
import { selfSignedCert } from './self-signed-cert.js';
import { WAIT_MS } from './wait-until.js';

const P = 'edgesplit/v1';
const MAX_PAYLOAD = 64 * 1024;
const TOKEN = (name: string) => `token-of-${name}-0123456789`;
const tokens: TokenRecord[] = [
  { username: 'ue-2', role: 'ue', ue: 'ue-2', token: TOKEN('ue-2') },
  { username: 'sched', role: 'scheduler', token: TOKEN('sched') },
  { username: 'worker-1', role: 'edge', token: TOKEN('worker-1') },
  { username: 'ingress', role: 'ingress', token: TOKEN('ingress') },
  { username: 'watcher', role: 'observer', token: TOKEN('watcher') },
];

const dir = mkdtempSync(join(tmpdir(), 'edgesplit-broker-auth-'));
const { lines, logger } = recordingLogger();
let broker: Broker;
let url: string;

beforeAll(async () => {
  // ue-1 lives in a credentials file (a cheap scrypt cost keeps the test fast).
  const passwordHash = await hashPassword('ue-1-password', { N: 1024, r: 8, p: 1 });
  const file = join(dir, 'credentials.json');
  const users = [{ username: 'ue-1', role: 'ue', ue: 'ue-1', passwordHash }];
  writeFileSync(file, JSON.stringify({ users }));
  broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    wsPort: 0,
    auth: { credentialsFile: file, tokens },
    maxPayloadBytes: MAX_PAYLOAD,
    logger,
  });
  url = `mqtt://127.0.0.1:${broker.port}`;
});

afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

const open: MqttClient[] = [];
afterAll(() => {
  for (const client of open) client.end(true);
});

function passwordOf(username: string): string {
  return username === 'ue-1' ? 'ue-1-password' : TOKEN(username);
}

async function connect(username: string, extra: Partial<MqttConnectOptions> = {}) {
  const client = await connectMqtt({
    url,
    username,
    password: passwordOf(username),
    reconnectPeriod: 0,
    protocolVersion: 4,
    ...extra,
  });
  open.push(client);
  return client;
}

/** Publishes at QoS 1 on a fresh connection: true if acknowledged, false if the broker hung up. */
async function publishes(
  username: string,
  topic: string,
  payload: Buffer | string = 'x',
  retain = false,
) {
  const client = await connect(username);
  const acked = await new Promise<boolean>((resolve) => {
    client.once('close', () => resolve(false));
    client.publish(topic, payload, { qos: 1, retain }, (error) => resolve(!error));
  });
  client.end(true);
  return acked;
}

/** Whether the broker grants a subscription (mqtt.js fails the call on a 0x80 SUBACK). */
function subscribes(client: MqttClient, filter: string): Promise<boolean> {
  return new Promise((resolve) => {
    client.subscribe(filter, { qos: 1 }, (error, granted) => {
      resolve(!error && granted?.[0] !== undefined && granted[0].qos !== 128);
    });
  });
}

function received(client: MqttClient): string[] {
  const topics: string[] = [];
  client.on('message', (topic, payload) => topics.push(`${topic} ${payload.toString()}`));
  return topics;
}

function nextEvent(client: MqttClient, event: 'close' | 'message'): Promise<void> {
  return new Promise((resolve) => client.once(event, () => resolve()));
}

async function until(check: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('authentication', () => {
  it('accepts the right password and refuses a wrong one or an unknown user, counting both', async () => {
    const client = await connect('ue-1');
    expect(client.connected).toBe(true);
    const before = broker.stats().refused.connect;
    await expect(connect('ue-1', { password: 'wrong' })).rejects.toThrow(
      /bad username or password/i,
    );
    await expect(connect('nobody', { password: 'whatever' })).rejects.toThrow(/bad username/i);
    await expect(connect('sched', { password: 'not-the-token-at-all' })).rejects.toThrow(
      /bad username/i,
    );
    expect(broker.stats().refused.connect).toBe(before + 3);
    const refused = lines.filter((l) => l.startsWith('refused connect'));
    expect(
      refused.some((l) => l.includes('username="nobody"') && l.includes('remote=127.0.0.1:')),
    ).toBe(true);
  });

  it("lets a UE pick any client id but never take over another user's session", async () => {
    const first = await connect('ue-1', { clientId: 'device', clean: false });
    const second = await connect('ue-2', { clientId: 'device', clean: false });
    const closed = nextEvent(first, 'close').then(() => true);
    const stillOpen = new Promise((resolve) => setTimeout(() => resolve(false), 300));
    expect(await Promise.race([closed, stillOpen])).toBe(false);
    expect(second.connected).toBe(true);
  });
});

describe('UE ACL', () => {
  it("cannot publish another UE's link; the scheduler only sees the UE's own", async () => {
    const scheduler = await connect('sched');
    expect(await subscribes(scheduler, `${P}/ue/+/link`)).toBe(true);
    const seen = received(scheduler);
    const refusedBefore = broker.stats().refused.publish;
    expect(await publishes('ue-1', `${P}/ue/ue-2/link`, 'forged')).toBe(false);
    expect(await publishes('ue-1', `${P}/ue/ue-1/link`, 'mine')).toBe(true);
    await until(() => seen.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([`${P}/ue/ue-1/link mine`]);
    expect(broker.stats().refused.publish).toBe(refusedBefore + 1);
    const line = lines.find((l) => l.includes('refused publish') && l.includes('ue/ue-2/link'));
    expect(line).toMatch(/client="ue-1:[^"]*" username="ue-1" topic=".*ue-2\/link"/);
  });

  it('may publish only status, profile, link, infer and stats under its own id', async () => {
    for (const channel of ['status', 'profile', 'link', 'infer', 'stats'])
      expect(await publishes('ue-1', `${P}/ue/ue-1/${channel}`)).toBe(true);
    expect(await publishes('ue-1', `${P}/ue/ue-2/stats`)).toBe(false);
    // Stats are never retained: a late observer must not take an old summary for a current one.
    expect(await publishes('ue-1', `${P}/ue/ue-1/stats`, 'x', true)).toBe(false);
    for (const topic of ['decision', 'result', 'error'].map((c) => `${P}/ue/ue-1/${c}`))
      expect(await publishes('ue-1', topic)).toBe(false);
    expect(await publishes('ue-1', `${P}/edge/ue-1/status`)).toBe(false);
    expect(await publishes('ue-1', 'elsewhere')).toBe(false);
    expect(await publishes('ue-1', '$SYS/x')).toBe(false);
    // Infer requests are never retained (they would be replayed to every new ingress).
    expect(await publishes('ue-1', `${P}/ue/ue-1/infer`, 'x', true)).toBe(false);
    expect(await publishes('ue-1', `${P}/ue/ue-1/status`, 'x', true)).toBe(true);
  });

  it("cannot subscribe to another UE's result, to wildcards, or to its own subtree", async () => {
    const ue = await connect('ue-1');
    const before = broker.stats().refused.subscribe;
    const refused = [
      `${P}/ue/ue-2/result`,
      `${P}/ue/+/result`,
      '#',
      `${P}/#`,
      `${P}/ue/ue-1/#`, // would match its own infer and status, which it may not read
      `${P}/ue/ue-1/+`,
      `${P}/ue/+/+`,
    ];
    for (const filter of refused) expect(await subscribes(ue, filter), filter).toBe(false);
    expect(broker.stats().refused.subscribe).toBe(before + refused.length);
    for (const channel of ['decision', 'result', 'error'])
      expect(await subscribes(ue, `${P}/ue/ue-1/${channel}`)).toBe(true);
    const seen = received(ue);
    const edge = await connect('worker-1');
    await edge.publishAsync(`${P}/ue/ue-2/result`, 'theirs', { qos: 1 });
    await edge.publishAsync(`${P}/ue/ue-1/result`, 'ours', { qos: 1 });
    await until(() => seen.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([`${P}/ue/ue-1/result ours`]);
    expect(ue.connected).toBe(true);
  });

  it("refuses a connection whose last will is another UE's topic, and publishes its own", async () => {
    const will = (ue: string) => ({
      topic: `${P}/ue/${ue}/status`,
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
    });
    await expect(connect('ue-1', { will: will('ue-2') })).rejects.toThrow(/not authorized/i);
    expect(lines.some((l) => l.includes('refused connect') && l.includes('last will'))).toBe(true);
    const observer = await connect('watcher');
    expect(await subscribes(observer, `${P}/ue/ue-1/status`)).toBe(true);
    const seen = received(observer);
    const ue = await connect('ue-1', { will: will('ue-1') });
    (ue.stream as unknown as { destroy(): void }).destroy();
    await until(() => seen.includes(`${P}/ue/ue-1/status offline`));
  });
});

describe('service roles', () => {
  it('scheduler reads UE state and edge status, publishes decisions, errors and its status', async () => {
    const scheduler = await connect('sched');
    for (const c of ['status', 'profile', 'link', 'decision'])
      expect(await subscribes(scheduler, `${P}/ue/+/${c}`)).toBe(true);
    expect(await subscribes(scheduler, `${P}/edge/+/status`)).toBe(true);
    expect(await subscribes(scheduler, `${P}/scheduler/status`)).toBe(true);
    for (const c of ['infer', 'result', 'error'])
      expect(await subscribes(scheduler, `${P}/ue/+/${c}`)).toBe(false);
    expect(await subscribes(scheduler, `${P}/#`)).toBe(false);
    expect(await publishes('sched', `${P}/ue/ue-9/decision`, 'd', true)).toBe(true);
    expect(await publishes('sched', `${P}/ue/ue-9/error`)).toBe(true);
    expect(await publishes('sched', `${P}/scheduler/status`, 's', true)).toBe(true);
    expect(await publishes('sched', `${P}/ue/ue-9/link`)).toBe(false);
    expect(await publishes('sched', `${P}/ue/ue-9/result`)).toBe(false);
    expect(await publishes('sched', `${P}/ue/bad id/decision`)).toBe(false);
  });

  it('edge reads decisions and edge status, publishes its own status, results and errors', async () => {
    const edge = await connect('worker-1');
    expect(await subscribes(edge, `${P}/ue/+/decision`)).toBe(true);
    expect(await subscribes(edge, `${P}/edge/+/status`)).toBe(true);
    expect(await subscribes(edge, `${P}/ue/+/infer`)).toBe(false);
    expect(await subscribes(edge, `${P}/ue/+/link`)).toBe(false);
    expect(await publishes('worker-1', `${P}/edge/worker-1/status`, 'online', true)).toBe(true);
    expect(await publishes('worker-1', `${P}/edge/worker-2/status`, 'online', true)).toBe(false);
    expect(await publishes('worker-1', `${P}/ue/ue-9/result`)).toBe(true);
    expect(await publishes('worker-1', `${P}/ue/ue-9/error`)).toBe(true);
    expect(await publishes('worker-1', `${P}/ue/ue-9/decision`)).toBe(false);
  });

  it('ingress reads infer and decisions, and publishes errors and kept answers only', async () => {
    const ingress = await connect('ingress');
    expect(await subscribes(ingress, `${P}/ue/+/infer`)).toBe(true);
    expect(await subscribes(ingress, `${P}/ue/+/decision`)).toBe(true);
    expect(await subscribes(ingress, `${P}/ue/+/link`)).toBe(false);
    expect(await publishes('ingress', `${P}/ue/ue-9/error`)).toBe(true);
    expect(await publishes('ingress', `${P}/ue/ue-9/result`)).toBe(true);
    expect(await publishes('ingress', `${P}/ue/ue-9/decision`)).toBe(false);
  });

  it('observer reads everything and publishes nothing', async () => {
    const observer = await connect('watcher');
    expect(await subscribes(observer, '#')).toBe(true);
    const seen = received(observer);
    expect(await publishes('ue-2', `${P}/ue/ue-2/profile`, 'p')).toBe(true);
    await until(() => seen.includes(`${P}/ue/ue-2/profile p`));
    expect(await publishes('watcher', `${P}/ue/ue-2/decision`)).toBe(false);
    expect(await publishes('watcher', `${P}/scheduler/status`)).toBe(false);
  });
});

describe('limits', () => {
  it('refuses a payload over the limit and delivers one at the limit', async () => {
    const observer = await connect('watcher');
    expect(await subscribes(observer, `${P}/ue/+/infer`)).toBe(true);
    const sizes: number[] = [];
    observer.on('message', (_topic, payload) => sizes.push(payload.length));
    const before = broker.stats().refused.publish;
    expect(await publishes('ue-2', `${P}/ue/ue-2/infer`, Buffer.alloc(MAX_PAYLOAD + 1))).toBe(
      false,
    );
    expect(lines.some((l) => l.includes(`exceeds the limit of ${MAX_PAYLOAD}`))).toBe(true);
    // Far over the limit: cut at the packet header, before the broker buffers the body.
    expect(await publishes('ue-2', `${P}/ue/ue-2/infer`, Buffer.alloc(2 * 1024 * 1024))).toBe(
      false,
    );
    expect(lines.some((l) => l.includes('packet of') && l.includes('username="ue-2"'))).toBe(true);
    expect(await publishes('ue-2', `${P}/ue/ue-2/infer`, Buffer.alloc(MAX_PAYLOAD))).toBe(true);
    await until(() => sizes.length > 0);
    expect(sizes).toEqual([MAX_PAYLOAD]);
    expect(broker.stats().refused.publish).toBe(before + 2);
  });

  it('answers small QoS 1 round trips one after another, each reply to its own publish', async () => {
    const ue = await connect('ue-2');
    const scheduler = await connect('sched');
    await subscribes(scheduler, `${P}/ue/+/link`);
    await subscribes(ue, `${P}/ue/ue-2/decision`);
    scheduler.on('message', (_t, payload) => {
      scheduler.publish(`${P}/ue/ue-2/decision`, payload, { qos: 1 });
    });
    const rounds = 20;
    const replies: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const reply = new Promise<string>((resolve) =>
        ue.once('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)),
      );
      ue.publish(`${P}/ue/ue-2/link`, String(i), { qos: 1 });
      replies.push(await reply);
    }
    // (With Nagle on, each round would wait out a delayed ACK; the round-trip time is
    // bench:system's reaction figure, never a test bound.)
    expect(replies).toEqual(Array.from({ length: rounds }, (_, i) => `${P}/ue/ue-2/decision ${i}`));
  });
});

describe('transports', () => {
  it('serves MQTT over WebSocket', async () => {
    const ws = await connect('ue-2', { url: `ws://127.0.0.1:${broker.wsPort}/mqtt` });
    const observer = await connect('watcher');
    await subscribes(observer, `${P}/ue/ue-2/status`);
    const seen = received(observer);
    await ws.publishAsync(`${P}/ue/ue-2/status`, 'via-ws', { qos: 1 });
    await until(() => seen.includes(`${P}/ue/ue-2/status via-ws`));
    expect(await subscribes(ws, '#')).toBe(false);
  });

  it('serves MQTT over TLS with a self-signed certificate', async () => {
    const { keyFile: key, certFile: cert } = selfSignedCert(dir);
    const tlsBroker = await createBroker({
      port: 0,
      host: '127.0.0.1',
      tls: { key: readFileSync(key), cert: readFileSync(cert) },
      auth: { tokens },
      logger,
    });
    try {
      const client = await connectMqtt({
        url: `mqtts://127.0.0.1:${tlsBroker.port}`,
        username: 'sched',
        password: TOKEN('sched'),
        ca: readFileSync(cert),
        reconnectPeriod: 0,
      });
      expect(client.connected).toBe(true);
      expect(await subscribes(client, `${P}/ue/+/link`)).toBe(true);
      client.end(true);
      // A plain MQTT client gets nowhere on the TLS port.
      const plain = mqtt.connect(`mqtt://127.0.0.1:${tlsBroker.port}`, {
        username: 'sched',
        password: TOKEN('sched'),
        reconnectPeriod: 0,
        connectTimeout: 1000,
      });
      let connected = false;
      plain.on('connect', () => {
        connected = true;
      });
      plain.on('error', () => undefined);
      await nextEvent(plain, 'close');
      expect(connected).toBe(false);
      plain.end(true);
    } finally {
      await tlsBroker.close();
    }
  });

  it('names the port when it is taken, and warns loudly when auth is off', async () => {
    const attempt = createBroker({ port: broker.port, host: '127.0.0.1', auth: 'off', logger });
    await expect(attempt).rejects.toThrow(BrokerListenError);
    await expect(attempt).rejects.toThrow(`port ${broker.port} is already in use`);
    const open = await createBroker({ port: 0, host: '127.0.0.1', auth: 'off', logger });
    await open.close();
    expect(lines.some((l) => l.startsWith('AUTHENTICATION IS OFF'))).toBe(true);
  });
});
