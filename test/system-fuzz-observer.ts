/**
 * What the system tests watch on the broker: every decision, error, result and scheduler
 * status as it is published, and snapshots of the retained messages.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { MqttClient } from 'mqtt';
import {
  type Decision,
  decodeMessage,
  type ErrorReport,
  type InferResult,
  schedulerStatusTopic,
  tryParseTopic,
} from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';

/** MQTT credentials. */
export interface Login {
  readonly username: string;
  readonly password: string;
}

/** Connects once (no reconnect, so a connection the broker closes stays closed). */
export function connectAs(url: string, login: Login, name: string): Promise<MqttClient> {
  return connectMqtt({
    url,
    ...login,
    clientId: `${name}-${randomBytes(4).toString('hex')}`,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
}

/** Records the system's outputs: decisions, errors, results, scheduler status. */
export class Observer {
  readonly decisions: { ue: string; decision: Decision | null }[] = [];
  readonly errors: { ue: string; report: ErrorReport }[] = [];
  readonly results: { ue: string; result: InferResult }[] = [];
  /** Outputs that failed their own schema (the system must never publish one). */
  readonly malformed: string[] = [];
  schedulerEpoch: number | undefined;

  private constructor(
    readonly client: MqttClient,
    private readonly prefix: string,
  ) {}

  static async open(url: string, prefix: string, login: Login): Promise<Observer> {
    const client = await connectAs(url, login, 'observer');
    const observer = new Observer(client, prefix);
    client.on('message', (topic, payload) => observer.record(topic, payload));
    await client.subscribeAsync({
      [`${prefix}/ue/+/decision`]: { qos: 1 },
      [`${prefix}/ue/+/error`]: { qos: 1 },
      [`${prefix}/ue/+/result`]: { qos: 1 },
      [schedulerStatusTopic(prefix)]: { qos: 1 },
    });
    return observer;
  }

  /** The latest decision seen for `ue`. */
  decisionOf(ue: string): Decision | null | undefined {
    return this.decisions.findLast((entry) => entry.ue === ue)?.decision;
  }

  errorsOf(ue: string): ErrorReport[] {
    return this.errors.filter((entry) => entry.ue === ue).map((entry) => entry.report);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }

  private record(topic: string, payload: Buffer): void {
    const parsed = tryParseTopic(this.prefix, topic);
    if (!parsed.ok) return;
    const where = parsed.value;
    if (where.kind === 'scheduler') {
      const status = decodeMessage('schedulerStatus', payload);
      if (status.ok) this.schedulerEpoch = status.value.epoch;
      else this.malformed.push(`${topic}: ${status.error.message}`);
      return;
    }
    if (where.kind !== 'ue') return;
    const { ue, channel } = where;
    if (channel === 'decision') {
      if (payload.length === 0) this.decisions.push({ ue, decision: null });
      else {
        const decoded = decodeMessage('decision', payload);
        if (decoded.ok) this.decisions.push({ ue, decision: decoded.value });
        else this.malformed.push(`${topic}: ${decoded.error.message}`);
      }
    } else if (channel === 'error') {
      const decoded = decodeMessage('error', payload);
      if (decoded.ok) this.errors.push({ ue, report: decoded.value });
      else this.malformed.push(`${topic}: ${decoded.error.message}`);
    } else if (channel === 'result') {
      const decoded = decodeMessage('result', payload);
      if (decoded.ok) this.results.push({ ue, result: decoded.value });
      else this.malformed.push(`${topic}: ${decoded.error.message}`);
    }
  }
}

/**
 * Every retained message under `prefix`, read by a fresh subscription: topic to payload bytes.
 * Retained messages follow the SUBACK at once; the snapshot ends after `quietMs` of silence.
 */
export async function retainedSnapshot(
  url: string,
  prefix: string,
  login: Login,
  // Generous: on a busy machine the retained messages can trail the SUBACK by far more than
  // the few ms they take on a quiet one, and a snapshot taken too early misses them.
  quietMs = 2000,
): Promise<Map<string, Buffer>> {
  const client = await connectAs(url, login, 'snapshot');
  const retained = new Map<string, Buffer>();
  let last = performance.now();
  client.on('message', (topic, payload, packet) => {
    if (!packet.retain) return;
    last = performance.now();
    retained.set(topic, Buffer.from(payload));
  });
  try {
    await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
    last = performance.now();
    while (performance.now() - last < quietMs)
      await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    await client.endAsync(true);
  }
  return new Map([...retained].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
