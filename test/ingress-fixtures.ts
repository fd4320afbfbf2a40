/** Helpers of the ingress suites: a UE connection, a valid request, error collection. */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import {
  type Decision,
  decodeMessage,
  type ErrorReport,
  type InferRequest,
} from '../proto/index.js';
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

/** A valid request with a fresh id. */
export function request(overrides: Partial<InferRequest> = {}): InferRequest {
  return {
    requestId: `r-${randomBytes(4).toString('hex')}`,
    epoch: 3,
    model: 'mobilenet-v2',
    cut: 2,
    sample: 1,
    tensor: { dtype: 'float32', shape: [1, 2, 2], data: new Float32Array([0.5, -1, 2, 3.25]) },
    sentAt: Date.now(),
    ...overrides,
  };
}

/** A decision of epoch 3 (the epoch `request` uses) giving `units` edge units. */
export function decision(units: number, epoch = 3): Decision {
  return {
    epoch,
    cut: units > 0 ? 2 : 5,
    cutName: units > 0 ? 'features.2' : 'output',
    units,
    predictedMs: 10,
    solver: 'optimal',
  };
}
