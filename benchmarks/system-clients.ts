/** MQTT clients of `npm run bench:system`: one connection per UE, as agents have. */
import type { MqttClient } from 'mqtt';
import { ueTopic } from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';

/** The channels a UE reads. */
export type UeInbox = 'decision' | 'result' | 'error';

/** A UE's connection; `onMessage` gets every message on its subscribed channels. */
export interface UeClient {
  readonly ue: string;
  readonly client: MqttClient;
  onMessage: (channel: UeInbox, payload: Buffer, at: number) => void;
}

const CONNECT_BATCH = 50;

/**
 * Connects one clean-session client per UE and subscribes each to its own `channels` (QoS 1).
 * Connections are opened in batches, so a few hundred do not time out on a busy machine.
 */
export async function connectUes(
  url: string,
  prefix: string,
  ues: readonly string[],
  channels: readonly UeInbox[],
  idPrefix: string,
): Promise<UeClient[]> {
  const clients: UeClient[] = [];
  try {
    for (let start = 0; start < ues.length; start += CONNECT_BATCH) {
      const batch = ues.slice(start, start + CONNECT_BATCH);
      clients.push(
        ...(await Promise.all(batch.map((ue) => connectUe(url, prefix, ue, channels, idPrefix)))),
      );
    }
  } catch (error) {
    await closeUes(clients);
    throw error;
  }
  return clients;
}

async function connectUe(
  url: string,
  prefix: string,
  ue: string,
  channels: readonly UeInbox[],
  idPrefix: string,
): Promise<UeClient> {
  const client = await connectMqtt({ url, clientId: `${idPrefix}-${ue}`, clean: true });
  const entry: UeClient = { ue, client, onMessage: () => {} };
  const byTopic = new Map(channels.map((channel) => [ueTopic(prefix, ue, channel), channel]));
  client.on('message', (topic, payload) => {
    const at = performance.now();
    const channel = byTopic.get(topic);
    if (channel !== undefined) entry.onMessage(channel, payload, at);
  });
  await client.subscribeAsync(
    Object.fromEntries([...byTopic.keys()].map((topic) => [topic, { qos: 1 }])),
  );
  return entry;
}

export async function closeUes(clients: readonly UeClient[]): Promise<void> {
  await Promise.all(clients.map((entry) => entry.client.endAsync(true)));
}
