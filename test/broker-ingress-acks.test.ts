/**
 * The client ingress's acknowledgements (broker/ingress-acks.ts): a connection's requests are
 * stored at once, each acknowledged once stored and in the order they came, and the bounds stop
 * reading.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, silentLogger } from '../broker/index.js';
import { ACK_DEFERRED, IngressAcks } from '../broker/ingress-acks.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { waitUntil } from './wait-until.js';

interface Held {
  readonly topic: string;
  readonly bytes: number;
  release(): void;
}

/** A `take` whose calls wait until the test releases them. */
function heldTakes() {
  const held: Held[] = [];
  const take = (topic: string, payload: Buffer) =>
    new Promise<void>((resolve) => {
      held.push({ topic, bytes: payload.length, release: resolve });
    });
  return { held, take };
}

/** A stand-in for mqtt.js's client: what IngressAcks uses of it, and the PUBACKs it sent. */
function fakeClient() {
  const acked: number[] = [];
  const client = {
    stream: {},
    handleMessage: (_packet: unknown, _callback: (error?: Error) => void) => undefined,
    _sendPacket: (packet: { cmd: string; messageId: number }) => {
      if (packet.cmd === 'puback') acked.push(packet.messageId);
    },
  };
  return { client: client as unknown as MqttClient, acked };
}

const publish = (messageId: number, bytes = 10) =>
  ({
    cmd: 'publish',
    topic: `t/${messageId}`,
    payload: Buffer.alloc(bytes),
    qos: 1,
    messageId,
    dup: false,
    retain: false,
  }) as const;

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('IngressAcks', () => {
  it('reads on at once, and acknowledges each message once stored, in the order they came', async () => {
    const acks = new IngressAcks();
    const { client, acked } = fakeClient();
    const { held, take } = heldTakes();
    const pending = acks.attach(client, take);
    const callbacks: unknown[] = [];
    for (const id of [1, 2, 3]) client.handleMessage(publish(id), (error) => callbacks.push(error));
    expect(callbacks).toEqual([ACK_DEFERRED, ACK_DEFERRED, ACK_DEFERRED]);
    expect(held.map((h) => h.topic)).toEqual(['t/1', 't/2', 't/3']);
    expect(pending()).toBe(3);
    held[1]?.release();
    await settle();
    expect(acked).toEqual([]); // 2 is stored, but 1 is not yet
    held[0]?.release();
    await settle();
    expect(acked).toEqual([1, 2]);
    held[2]?.release();
    await settle();
    expect(acked).toEqual([1, 2, 3]);
    expect(pending()).toBe(0);
    expect(acks.inFlight).toBe(0);
  });

  it('stops reading a connection at its bound, and every connection at the total bounds', async () => {
    const acks = new IngressAcks({ perConnection: 2, total: 3, totalBytes: 1000 });
    const first = fakeClient();
    const second = fakeClient();
    const { held, take } = heldTakes();
    acks.attach(first.client, take);
    acks.attach(second.client, take);
    const read: string[] = [];
    const message = (client: MqttClient, name: string, id: number, bytes = 10) =>
      client.handleMessage(publish(id, bytes), () => read.push(name));
    message(first.client, 'a1', 1);
    message(first.client, 'a2', 2); // a's second: its bound, not read on
    message(second.client, 'b1', 1); // three in all: the total bound, not read on
    expect(read).toEqual(['a1']);
    expect(held).toHaveLength(3); // held connections' messages are being stored all the same
    held[0]?.release();
    await settle();
    expect(read).toEqual(['a1', 'a2', 'b1']);
    expect(first.acked).toEqual([1]);
    held[1]?.release();
    held[2]?.release();
    await settle();
    expect(first.acked).toEqual([1, 2]);
    expect(second.acked).toEqual([1]);
    // One message past the byte bound on its own: taken, but its connection not read on.
    message(second.client, 'b2', 2, 2000);
    expect(read).toEqual(['a1', 'a2', 'b1']);
    held[3]?.release();
    await settle();
    expect(read).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(second.acked).toEqual([1, 2]);
  });

  it('sends no PUBACK on a new connection for a message that came on one since lost', async () => {
    const acks = new IngressAcks();
    const { client, acked } = fakeClient();
    const { held, take } = heldTakes();
    acks.attach(client, take);
    client.handleMessage(publish(1), () => undefined);
    (client as { stream: unknown }).stream = {}; // reconnected
    client.handleMessage(publish(2), () => undefined);
    held[0]?.release();
    held[1]?.release();
    await settle();
    expect(acked).toEqual([2]);
  });

  it('leaves a QoS 2 message to mqtt.js, calling back once it is stored', async () => {
    const acks = new IngressAcks();
    const { client, acked } = fakeClient();
    const { held, take } = heldTakes();
    acks.attach(client, take);
    const calls: unknown[] = [];
    client.handleMessage({ ...publish(1), qos: 2 }, (error) => calls.push(error));
    expect(calls).toEqual([]);
    held[0]?.release();
    await settle();
    expect(calls).toEqual([undefined]);
    expect(acked).toEqual([]);
    expect(acks.inFlight).toBe(0);
  });

  it('takes nothing once closing, and resolves close once the messages taken are acknowledged', async () => {
    const acks = new IngressAcks();
    const { client, acked } = fakeClient();
    const { held, take } = heldTakes();
    acks.attach(client, take);
    client.handleMessage(publish(1), () => undefined);
    let closed = false;
    const closing = acks.close().then(() => {
      closed = true;
    });
    client.handleMessage(publish(2), () => undefined);
    expect(held).toHaveLength(1);
    await settle();
    expect(closed).toBe(false);
    held[0]?.release();
    await closing;
    expect(acked).toEqual([1]);
  });
});

describe('IngressAcks on a real mqtt.js connection', () => {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of opened.splice(0)) await item.close();
  });

  it('gets the messages sent before any is acknowledged, and mqtt.js sends only the PUBACKs it is given', async () => {
    const broker = await createBroker({
      port: 0,
      host: '127.0.0.1',
      auth: 'off',
      logger: silentLogger,
    });
    opened.push(broker);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const acks = new IngressAcks();
    const { held, take } = heldTakes();
    const sentAcks: number[] = [];
    const subscriber = await connectMqtt({ url, clientId: 'acks-sub', clean: true }, (client) => {
      const internal = client as unknown as { _sendPacket: (packet: never, cb?: never) => void };
      const send = internal._sendPacket.bind(client);
      internal._sendPacket = (packet, cb) => {
        const sent = packet as { cmd: string; messageId: number };
        if (sent.cmd === 'puback') sentAcks.push(sent.messageId);
        send(packet, cb);
      };
      acks.attach(client, take);
    });
    opened.push({ close: () => subscriber.endAsync() });
    await subscriber.subscribeAsync('acks/#', { qos: 1 });
    const publisher = await connectMqtt({ url, clientId: 'acks-pub', clean: true });
    opened.push({ close: () => publisher.endAsync() });
    for (const k of [1, 2, 3]) await publisher.publishAsync(`acks/${k}`, 'x', { qos: 1 });
    await waitUntil('three messages taken', () => held.length === 3);
    expect(sentAcks).toEqual([]);
    for (const h of [...held].reverse()) h.release();
    await waitUntil('three PUBACKs', () => sentAcks.length === 3);
    expect(held.map((h) => h.topic)).toEqual(['acks/1', 'acks/2', 'acks/3']);
    // In the order the messages came, though stored last to first.
    expect([...sentAcks].sort((a, b) => a - b)).toEqual(sentAcks);
    await acks.close();
  });
});
