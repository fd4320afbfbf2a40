import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker, type TokenRecord } from '../broker/index.js';
import { decodeMessage, MAX_PROBE_BYTES } from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { recordingLogger } from './recording-logger.js';

const P = 'edgesplit/v1';
const TOKEN = (name: string) => `token-of-${name}-0123456789`;
const tokens: TokenRecord[] = [
  { username: 'ue-1', role: 'ue', ue: 'ue-1', token: TOKEN('ue-1') },
  { username: 'ue-2', role: 'ue', ue: 'ue-2', token: TOKEN('ue-2') },
  { username: 'watcher', role: 'observer', token: TOKEN('watcher') },
];

let broker: Broker;
let url: string;
const open: MqttClient[] = [];

beforeAll(async () => {
  broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    auth: { tokens },
    logger: recordingLogger().logger,
  });
  url = `mqtt://127.0.0.1:${broker.port}`;
});

afterAll(async () => {
  for (const client of open) client.end(true);
  await broker?.close();
});

async function connect(username: string): Promise<MqttClient> {
  const client = await connectMqtt({
    url,
    username,
    password: TOKEN(username),
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  open.push(client);
  return client;
}

/** Publishes at QoS 1: true once acknowledged, false if the broker hung up. */
function publish(client: MqttClient, topic: string, payload: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    client.once('close', () => resolve(false));
    client.publish(topic, payload, { qos: 1 }, (error) => resolve(!error));
  });
}

function messages(client: MqttClient): { topic: string; payload: Buffer }[] {
  const seen: { topic: string; payload: Buffer }[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload }));
  return seen;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('link probes at the embedded broker', () => {
  it('acknowledges a probe on the UE\'s own topic and delivers it to nobody, not even an observer of "#"', async () => {
    const watcher = await connect('watcher');
    const seen = messages(watcher);
    await watcher.subscribeAsync('#', { qos: 1 });
    const ue = await connect('ue-1');
    expect(await publish(ue, `${P}/ue/ue-1/probe`, Buffer.alloc(64 * 1024))).toBe(true);
    expect(await publish(ue, `${P}/ue/ue-1/status`, Buffer.from('x'))).toBe(true);
    await until(() => seen.some((m) => m.topic.endsWith('/status')));
    expect(seen.filter((m) => m.topic.endsWith('/probe'))).toEqual([]);
  });

  it("refuses a probe on another UE's topic (ACL: own probe topic only)", async () => {
    const ue = await connect('ue-1');
    expect(await publish(ue, `${P}/ue/ue-2/probe`, Buffer.alloc(1024))).toBe(false);
  });

  it('tells a UE over its probe budget, or over 1 MiB, with an error and affects nothing else', async () => {
    const greedy = await connect('ue-2');
    const errors = messages(greedy);
    await greedy.subscribeAsync(`${P}/ue/ue-2/error`, { qos: 1 });
    const reports = () =>
      errors.map((m) => decodeMessage('error', m.payload)).flatMap((d) => (d.ok ? [d.value] : []));

    expect(await publish(greedy, `${P}/ue/ue-2/probe`, Buffer.alloc(MAX_PROBE_BYTES + 1))).toBe(
      true,
    );
    await until(() => reports().some((r) => r.code === 'PAYLOAD_TOO_LARGE'));
    // The budget holds 4 MiB: the fifth 1 MiB probe in a row is over it.
    for (let k = 0; k < 5; k++)
      expect(await publish(greedy, `${P}/ue/ue-2/probe`, Buffer.alloc(MAX_PROBE_BYTES))).toBe(true);
    await until(() => reports().some((r) => r.code === 'PROBE_RATE_LIMITED'));
    expect(reports().find((r) => r.code === 'PROBE_RATE_LIMITED')?.topic).toBe(
      `${P}/ue/ue-2/probe`,
    );
    // Still connected, still served; another UE's probes are its own business.
    expect(greedy.connected).toBe(true);
    expect(await publish(greedy, `${P}/ue/ue-2/link`, Buffer.from('x'))).toBe(true);
    const other = await connect('ue-1');
    const otherErrors = messages(other);
    await other.subscribeAsync(`${P}/ue/ue-1/error`, { qos: 1 });
    expect(await publish(other, `${P}/ue/ue-1/probe`, Buffer.alloc(MAX_PROBE_BYTES))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(otherErrors).toEqual([]);
  });
});
