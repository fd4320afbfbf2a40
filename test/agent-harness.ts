/**
 * Test doubles for the agent tests (with `startBroker` of bare-broker.ts, which can be restarted
 * on the same port): a fake scheduler + edge (a plain MQTT client publishing decisions and answering
 * `infer` with `result` through the real codec).
 */
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { modelCuts } from '../dnn/index.js';
import {
  type Decision,
  decodeMessage,
  encodeMessage,
  type InferRequest,
  type InferResult,
  type LinkEstimate,
  type MessageKind,
  type MessageMap,
  type Profile,
  parseTopic,
  probeTopicUe,
  ueTopic,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { WAIT_MS } from './wait-until.js';

export { startBroker, type TestBroker } from './bare-broker.js';

/** A unique topic prefix, so tests never see each other's retained messages. */
export function uniquePrefix(): string {
  return `test/${randomBytes(4).toString('hex')}`;
}

/** What the fake edge does with one received `infer` message. */
export type EdgeAnswer =
  | { readonly kind: 'answer'; readonly delayMs?: number; readonly copies?: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'hold' };

export interface ReceivedInfer {
  readonly ue: string;
  readonly request: InferRequest;
  /** performance.now() at arrival. */
  readonly at: number;
}

/**
 * A fake scheduler and edge: publishes decisions, records every message it sees, and answers
 * each `infer` according to `policy` (by default at once). Held requests are answered by
 * `release()`.
 */
export class FakeEdge {
  readonly infers: ReceivedInfer[] = [];
  readonly messages: { topic: string; kind: MessageKind; retain: boolean; value: unknown }[] = [];
  policy: (infer: ReceivedInfer, seen: number) => EdgeAnswer = () => ({ kind: 'answer' });
  /** Called for every decoded message (a fake scheduler reacts to profiles here). */
  onReceive: (ue: string, kind: MessageKind, value: unknown) => void = () => {};
  private readonly held: ReceivedInfer[] = [];
  private readonly seen = new Map<string, number>();

  private constructor(
    readonly client: MqttClient,
    readonly prefix: string,
  ) {}

  static async connect(url: string, prefix: string): Promise<FakeEdge> {
    const client = await connectMqtt({
      url,
      clientId: `fake-${randomBytes(4).toString('hex')}`,
      reconnectPeriod: 200,
    });
    const edge = new FakeEdge(client, prefix);
    client.on('message', (topic, payload, packet) => edge.receive(topic, payload, packet.retain));
    await client.subscribeAsync([`${prefix}/ue/+/+`], { qos: 1 });
    return edge;
  }

  /** Values seen for one UE channel, in arrival order. */
  values<K extends MessageKind>(ue: string, kind: K): MessageMap[K][] {
    const topic = `${this.prefix}/ue/${ue}/${kind}`;
    return this.messages
      .filter((message) => message.topic === topic && message.kind === kind)
      .map((message) => message.value as MessageMap[K]);
  }

  async publishDecision(ue: string, decision: Decision): Promise<void> {
    await this.client.publishAsync(ueTopic(this.prefix, ue, 'decision'), encodeMessage(decision), {
      qos: 1,
      retain: true,
    });
  }

  async publishResult(ue: string, result: InferResult): Promise<void> {
    await this.client.publishAsync(ueTopic(this.prefix, ue, 'result'), encodeMessage(result), {
      qos: 1,
    });
  }

  /** Answers every held request now. */
  release(): void {
    for (const infer of this.held.splice(0)) void this.answer(infer, 0, 1);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private receive(topic: string, payload: Buffer, retain: boolean): void {
    // A plain broker delivers a measuring agent's link probes to `ue/+/+`: raw bytes, ignored.
    if (probeTopicUe(this.prefix, topic) !== undefined) return;
    const parsed = parseTopic(this.prefix, topic);
    if (parsed.kind !== 'ue' || payload.length === 0) return;
    const decoded = decodeMessage(parsed.channel, payload);
    if (!decoded.ok) throw decoded.error;
    this.messages.push({ topic, kind: parsed.channel, retain, value: decoded.value });
    this.onReceive(parsed.ue, parsed.channel, decoded.value);
    if (parsed.channel !== 'infer') return;
    const infer = { ue: parsed.ue, request: decoded.value as InferRequest, at: performance.now() };
    this.infers.push(infer);
    const seen = (this.seen.get(infer.request.requestId) ?? 0) + 1;
    this.seen.set(infer.request.requestId, seen);
    const answer = this.policy(infer, seen);
    if (answer.kind === 'hold') this.held.push(infer);
    else if (answer.kind === 'answer')
      void this.answer(infer, answer.delayMs ?? 0, answer.copies ?? 1);
  }

  private async answer(infer: ReceivedInfer, delayMs: number, copies: number): Promise<void> {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const { requestId, epoch, cut, sample, model } = infer.request;
    const output = defined(modelCuts(model).at(-1), `the output cut of ${model}`);
    const result: InferResult = {
      requestId,
      epoch,
      cut,
      sample,
      worker: 'fake-edge',
      tensor: {
        dtype: 'float32',
        shape: [...output.shape],
        data: new Float32Array(output.bytes / 4),
      },
      timings: { queueMs: 0, computeMs: delayMs },
    };
    for (let copy = 0; copy < copies; copy++) await this.publishResult(infer.ue, result);
  }
}

/**
 * Answers like an edge with `units` slots per UE and `edgeMs` per sample: each request starts
 * when a slot is free, so B simultaneous requests end ceil(B/units)·edgeMs after they arrive.
 */
export function slottedEdge(units: number, edgeMs: number): (infer: ReceivedInfer) => EdgeAnswer {
  const free = new Map<string, number[]>();
  return (infer) => {
    const slots = free.get(infer.ue) ?? Array.from({ length: units }, () => 0);
    free.set(infer.ue, slots);
    const earliest = Math.min(...slots);
    const best = slots.indexOf(earliest); // the first free slot
    if (best < 0) throw new RangeError('slottedEdge needs at least one unit');
    const start = Math.max(infer.at, earliest);
    slots[best] = start + edgeMs;
    return { kind: 'answer', delayMs: start + edgeMs - infer.at };
  };
}

/** Waits until `predicate` holds, polling every 10 ms; fails after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = WAIT_MS, what = 'condition') {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A fake scheduler on `edge`'s client: whenever a UE's profile or link arrives it publishes a
 * decision at `cut` (clamped to the model) with `units`, predicting docs/model.md's latency with
 * `edgeMs` per sample; every decision gets the next epoch.
 */
export function fakeScheduler(
  edge: FakeEdge,
  options: { cut: number; units: number; edgeMs: number },
): { readonly decisions: Decision[] } {
  const profiles = new Map<string, Profile>();
  const links = new Map<string, LinkEstimate>();
  const decisions: Decision[] = [];
  let epoch = 0;
  edge.onReceive = (ue, kind, value) => {
    if (kind === 'profile') profiles.set(ue, value as Profile);
    else if (kind === 'link') links.set(ue, value as LinkEstimate);
    else return;
    const profile = profiles.get(ue);
    const link = links.get(ue);
    if (profile === undefined || link === undefined) return;
    const cut = Math.min(options.cut, profile.cuts.length - 2);
    const at = defined(profile.cuts[cut], `cut ${cut} of ${ue}'s profile`);
    const predictedMs =
      profile.batch * at.deviceMs +
      (profile.batch * at.bytes * 8) / (link.uplinkMbps * 1000) +
      link.rttMs +
      Math.ceil(profile.batch / options.units) * options.edgeMs +
      (link.downlinkMbps === undefined
        ? 0
        : (profile.resultBytes * 8) / (link.downlinkMbps * 1000));
    const decision: Decision = {
      epoch: ++epoch,
      cut,
      cutName: at.name,
      units: options.units,
      predictedMs,
      solver: 'fake',
    };
    decisions.push(decision);
    void edge.publishDecision(ue, decision);
  };
  return { decisions };
}
