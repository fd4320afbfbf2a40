/**
 * Helpers of the ingress suites: a UE connection, error collection (a valid request and a
 * decision are in `request-fixtures.ts`).
 */
import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import { decodeMessage, type ErrorReport } from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Topic prefix of the ingress suites. */
export const P = 'edgesplit/v1';
/** The token of a credential named `name`. */
export const TOKEN = (name: string) => `token-of-${name}-0123456789`;

/** An MQTT connection, logged in as `username` with its TOKEN if given, Nagle off. */
export async function connect(url: string, username?: string): Promise<MqttClient> {
  const client = await connectMqtt({
    url,
    reconnectPeriod: 0,
    ...(username === undefined ? {} : { username, password: TOKEN(username) }),
  });
  (client.stream as Partial<Socket>).setNoDelay?.(true);
  return client;
}

/** Collects the error reports `client` receives into `into`. */
export function errorCollector(client: MqttClient, into: ErrorReport[]): void {
  client.on('message', (topic, payload) => {
    if (!topic.endsWith('/error')) return;
    const decoded = decodeMessage('error', payload);
    if (decoded.ok) into.push(decoded.value);
  });
}
