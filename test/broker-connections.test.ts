import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type Broker,
  type BrokerOptions,
  createBroker,
  type TokenRecord,
} from '../broker/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { recordingLogger } from './recording-logger.js';
import { selfSignedCert } from './self-signed-cert.js';

const P = 'edgesplit/v1';
const TOKEN = 'token-of-sched-0123456789';
const tokens: TokenRecord[] = [{ username: 'sched', role: 'scheduler', token: TOKEN }];
/** A second loopback address, for the legitimate client when 127.0.0.1 floods. */
const OTHER_LOCAL = '127.0.0.2';

const dir = mkdtempSync(join(tmpdir(), 'edgesplit-broker-connections-'));
let cert: Buffer;
let key: Buffer;
const brokers: Broker[] = [];
const sockets: Socket[] = [];
const clients: MqttClient[] = [];

beforeAll(() => {
  const { keyFile, certFile } = selfSignedCert(dir, ['127.0.0.1', '127.0.0.2']);
  key = readFileSync(keyFile);
  cert = readFileSync(certFile);
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const client of clients) client.end(true);
  await Promise.all(brokers.map((broker) => broker.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function startBroker(options: Partial<BrokerOptions>) {
  const { lines, logger } = recordingLogger();
  const broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    auth: { tokens },
    logger,
    ...options,
  });
  brokers.push(broker);
  return { broker, lines };
}

/** A raw TCP socket to `port`, resolved once connected; `closedAt` is set when it closes. */
function rawSocket(
  port: number,
  localAddress = '127.0.0.1',
): Promise<{ socket: Socket; openedAt: number; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    // Taken before connecting: the broker accepts (and starts its deadline) only after this.
    const openedAt = Date.now();
    const socket = connectTcp({ port, host: '127.0.0.1', localAddress });
    sockets.push(socket);
    socket.on('error', () => undefined);
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now())));
    socket.once('connect', () => resolve({ socket, openedAt, closed }));
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The first six bytes of a TLS ClientHello record: handshake, TLS 1.0 record, 200 bytes. */
const CLIENT_HELLO_START = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]);

async function mqttsLogin(port: number, localAddress?: string): Promise<MqttClient> {
  const client = await connectMqtt({
    url: `mqtts://127.0.0.1:${port}`,
    username: 'sched',
    password: TOKEN,
    ca: cert,
    reconnectPeriod: 0,
    ...(localAddress === undefined ? {} : { localAddress }),
  });
  clients.push(client);
  return client;
}

/** A packet of `type` (high nibble incl. flags) whose header claims `length` body bytes. */
function header(firstByte: number, length: number): Buffer {
  const varint: number[] = [];
  let rest = length;
  do {
    const digit = rest % 128;
    rest = Math.floor(rest / 128);
    varint.push(rest > 0 ? digit | 0x80 : digit);
  } while (rest > 0);
  return Buffer.from([firstByte, ...varint]);
}

describe('login deadline', () => {
  it('closes TLS and WSS sockets that never finish the handshake once the login timeout passes, then an MQTTS login works', async () => {
    const timeoutMs = 500;
    const { broker, lines } = await startBroker({
      tls: { key, cert },
      wsPort: 0,
      connectTimeoutMs: timeoutMs,
    });
    const wsPort = broker.wsPort ?? 0;
    const silent = await Promise.all(Array.from({ length: 5 }, () => rawSocket(broker.port)));
    const hello = await Promise.all(Array.from({ length: 5 }, () => rawSocket(broker.port)));
    for (const { socket } of hello) socket.write(CLIENT_HELLO_START);
    const wss = await Promise.all(Array.from({ length: 5 }, () => rawSocket(wsPort)));
    for (const { socket } of wss.slice(0, 2)) socket.write(CLIENT_HELLO_START);
    const all = [...silent, ...hello, ...wss];
    // Every socket is closed by the broker, so each was accepted (on a busy machine the first may
    // already be closed before the last is accepted: no moment need have all of them pending).
    const lifetimes = await Promise.all(all.map(async (s) => (await s.closed) - s.openedAt));
    // Closed by the broker's deadline, not earlier (Node's own TLS handshake timeout is 120 s).
    for (const lifetime of lifetimes) expect(lifetime).toBeGreaterThanOrEqual(timeoutMs - 20);
    expect(broker.stats().pendingLogins).toBe(0);
    // The broker logs each refusal as it closes the socket, which a busy machine may write after
    // the client saw the close: wait for the lines, then count them.
    const refusals = () => lines.filter((l) => l.includes(`no login within ${timeoutMs} ms`));
    await until(() => refusals().length >= all.length).catch(() => undefined);
    expect(refusals()).toHaveLength(all.length);
    const client = await mqttsLogin(broker.port);
    expect(client.connected).toBe(true);
    // A logged-in client is past the deadline: still connected well after it.
    await new Promise((resolve) => setTimeout(resolve, timeoutMs * 3));
    expect(client.connected).toBe(true);
  });

  it('keeps the TLS port usable for another address while one address floods it beyond the per-address cap', async () => {
    const cap = 20;
    const { broker, lines } = await startBroker({
      tls: { key, cert },
      maxPendingPerAddress: cap,
    });
    const flood = await Promise.allSettled(
      Array.from({ length: 200 }, () => rawSocket(broker.port)),
    );
    const opened = flood.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    for (const { socket } of opened) socket.write(CLIENT_HELLO_START);
    // Everything beyond the cap is closed at once; the rest waits for its deadline (10 s).
    const stillOpen = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return opened.filter(({ socket }) => !socket.destroyed && socket.readyState === 'open');
    };
    let open = await stillOpen();
    for (let i = 0; i < 20 && opened.length - open.length < 200 - cap - 1; i++)
      open = await stillOpen();
    expect(open.length).toBeLessThanOrEqual(cap);
    expect(open.length).toBeGreaterThan(0);
    expect(broker.stats().pendingLogins).toBeLessThanOrEqual(cap);
    expect(broker.stats().refused.connect).toBeGreaterThanOrEqual(200 - cap);
    expect(lines.some((l) => l.includes(`already ${cap} connections of this address`))).toBe(true);
    // A cap refusal is logged at most once a second, with a count of the others.
    expect(lines.filter((l) => l.includes('connections of this address')).length).toBeLessThan(20);

    const client = await mqttsLogin(broker.port, OTHER_LOCAL);
    expect(client.connected).toBe(true);
    expect(await client.subscribeAsync(`${P}/ue/+/link`, { qos: 1 })).toHaveLength(1);
    // The flood is still there while the other address logged in.
    expect(open.filter(({ socket }) => !socket.destroyed).length).toBeGreaterThan(0);
  });
});

describe('before authentication', () => {
  it('over WSS, closes a connection that sends more than the pre-authentication limit before login, and keeps a logged-in one past the deadline', async () => {
    const timeoutMs = 1000;
    const { broker, lines } = await startBroker({
      tls: { key, cert },
      wsPort: 0,
      connectTimeoutMs: timeoutMs,
      maxConnectBytes: 4096,
    });
    const url = `wss://127.0.0.1:${broker.wsPort}/mqtt`;
    const ws = new WebSocket(url, 'mqtt', { ca: cert });
    ws.on('error', () => undefined);
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    // One WebSocket message of 64 KiB: the WebSocket layer would buffer it whole.
    ws.send(Buffer.concat([header(0x10, 65_536 - 4), Buffer.alloc(65_536 - 4, 1)]));
    await closed;
    // Closed for its bytes, not by the login deadline.
    expect(lines.some((l) => l.includes('more than 5120 bytes before login'))).toBe(true);
    expect(lines.some((l) => l.includes('no login within'))).toBe(false);

    const client = await connectMqtt({
      url,
      username: 'sched',
      password: TOKEN,
      ca: cert,
      reconnectPeriod: 0,
    });
    clients.push(client);
    await new Promise((resolve) => setTimeout(resolve, timeoutMs * 2));
    expect(client.connected).toBe(true);
    expect(broker.stats().pendingLogins).toBe(0);
  });

  it('closes a CONNECT that claims 16 MiB after reading at most the pre-authentication limit, with bounded memory', async () => {
    const { broker, lines } = await startBroker({});
    const claimed = 16 * 1024 * 1024;
    const body = Buffer.alloc(claimed, 0x41);
    const attackers = 24;
    const before = process.memoryUsage().rss;
    const attacks = await Promise.all(
      Array.from({ length: attackers }, () => rawSocket(broker.port)),
    );
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    for (const { socket } of attacks) {
      socket.write(header(0x10, claimed));
      socket.write(body);
    }
    await Promise.all(attacks.map((a) => a.closed));
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    // Without the limit, aedes buffers each CONNECT whole: 24 x 16 MiB = 384 MiB.
    expect(peak - before).toBeLessThan((attackers * claimed) / 4);
    const refused = lines.filter((l) =>
      l.includes(`packet of ${claimed} bytes before authentication exceeds the limit of 65536`),
    );
    expect(refused).toHaveLength(attackers);
    expect(broker.stats().refused.connect).toBe(attackers);
    // Logins still work.
    const client = await connectMqtt({
      url: `mqtt://127.0.0.1:${broker.port}`,
      username: 'sched',
      password: TOKEN,
      reconnectPeriod: 0,
    });
    clients.push(client);
    expect(client.connected).toBe(true);
  });

  it('refuses a last will beyond the pre-authentication limit and accepts one within it', async () => {
    const { broker, lines } = await startBroker({ maxConnectBytes: 4096 });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const withWill = (bytes: number) =>
      connectMqtt({
        url,
        username: 'sched',
        password: TOKEN,
        reconnectPeriod: 0,
        will: {
          topic: `${P}/scheduler/status`,
          payload: Buffer.alloc(bytes, 1),
          qos: 1,
          retain: false,
        },
      });
    const small = await withWill(1000);
    clients.push(small);
    expect(small.connected).toBe(true);
    await expect(withWill(5000)).rejects.toThrow(/closed before the CONNACK/);
    expect(lines.some((l) => /before authentication exceeds the limit of 4096/.test(l))).toBe(true);
  });
});

describe('protocol checks', () => {
  it('refuses protocol name MQIsdp at level 4 and accepts it at level 3', async () => {
    const { broker, lines } = await startBroker({});
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const login = (protocolVersion: 3 | 4) =>
      connectMqtt({
        url,
        username: 'sched',
        password: TOKEN,
        reconnectPeriod: 0,
        protocolId: 'MQIsdp',
        protocolVersion,
      });
    await expect(login(4)).rejects.toThrow(/closed before the CONNACK/);
    expect(
      lines.some((l) => l.includes('protocol name MQIsdp does not go with protocol level 4')),
    ).toBe(true);
    const v31 = await login(3);
    clients.push(v31);
    expect(v31.connected).toBe(true);
  });
});

describe('packet timeout', () => {
  it('closes a keepalive-0 connection whose PUBLISH stops half-way once the packet timeout passes, and not an idle one', async () => {
    const timeoutMs = 500;
    const { broker, lines } = await startBroker({ packetTimeoutMs: timeoutMs });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const login = async () => {
      const client = await connectMqtt({
        url,
        username: 'sched',
        password: TOKEN,
        reconnectPeriod: 0,
        keepalive: 0,
      });
      clients.push(client);
      return client;
    };
    const idle = await login();
    const stalled = await login();
    const closed = new Promise<number>((resolve) =>
      stalled.once('close', () => resolve(Date.now())),
    );
    // A QoS 0 PUBLISH announcing 100 bytes, of which only the topic arrives.
    const topic = Buffer.from(`${P}/ue/ue-9/decision`);
    const partial = Buffer.concat([header(0x30, 100), Buffer.from([0, topic.length]), topic]);
    const sentAt = Date.now();
    stalled.stream.write(partial);
    const closedAt = await closed;
    expect(closedAt - sentAt).toBeGreaterThanOrEqual(timeoutMs - 20);
    expect(lines.some((l) => l.includes(`packet incomplete after ${timeoutMs} ms`))).toBe(true);
    // Idle without a packet started is allowed with keepalive 0.
    expect(idle.connected).toBe(true);
    // A publish that spans several reads completes within it and is delivered.
    await idle.subscribeAsync(`${P}/ue/ue-9/decision`, { qos: 1 });
    const got = new Promise<number>((resolve) =>
      idle.once('message', (_t, p) => resolve(p.length)),
    );
    await idle.publishAsync(`${P}/ue/ue-9/decision`, Buffer.alloc(2 * 1024 * 1024, 3), { qos: 1 });
    expect(await got).toBe(2 * 1024 * 1024);
    expect(idle.connected).toBe(true);
  });
});
