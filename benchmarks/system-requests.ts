/**
 * Request overhead with zero compute: `ue/{id}/infer` published to `ue/{id}/result` received,
 * through broker, ingress, Redis (claim check + BullMQ) and edge workers running with speed
 * factor 0. A fake scheduler publishes the decisions and sets each queue's concurrency.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { modelCuts } from '../dnn/index.js';
import {
  type Decision,
  decodeMessage,
  encodeMessage,
  type InferRequest,
  ueQueueName,
  ueTopic,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import type { ServiceEnv } from './system-children.js';
import { closeUes, connectUes, type UeClient } from './system-clients.js';
import type { CommandCount } from './system-cpu.js';
import { type LatencySummary, summarize } from './system-stats.js';

/** Requests run resnet18's tail: after layer4.0 the zoo's tensor nearest 100 KiB (98 KiB). */
export const REQUEST_MODEL = 'resnet18';
export const REQUEST_CUT = 9;
/** After avgpool: 2 KiB, to tell the per-request cost from the per-byte cost. */
export const SMALL_REQUEST_CUT = 11;

/** A run with no result for this long has stalled. */
const STALL_MS = 30_000;

export interface RequestPlan {
  /** UEs sending (the first of the field's), each keeping `depth` requests in flight. */
  readonly ues: number;
  readonly depth: number;
  /** Requests answered before the clock starts. */
  readonly warmup: number;
  /** Requests answered while the clock runs. */
  readonly measured: number;
  /** The cut the requests carry (its tensor size). @defaultValue REQUEST_CUT */
  readonly cut?: number;
}

export interface RequestResult {
  readonly ues: number;
  readonly inFlight: number;
  readonly tensorBytes: number;
  readonly latency: LatencySummary;
  /** Results per second over the measured requests. */
  readonly perSecond: number;
  readonly errors: number;
  /**
   * CPU time per request, warm-up included: of the service processes outside the benchmark
   * process (null when there is none) and of the benchmark process itself.
   */
  readonly cpu?: {
    readonly servicesMs: number | null;
    readonly benchMs: number;
    /** The Redis server's, whoever else used it meanwhile. */
    readonly redisMs: number | null;
  };
  /**
   * Redis commands per request, warm-up included (INFO commandstats; whoever else used that
   * Redis meanwhile counts too): calls, and the server's µs on them.
   */
  readonly redisCommands?: Readonly<Record<string, CommandCount>>;
}

/** A running request load: UE connections with their decisions in place. */
export interface RequestField {
  readonly ueIds: readonly string[];
  run(plan: RequestPlan): Promise<RequestResult>;
  close(): Promise<void>;
}

export function ueIdsFor(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `ue-${String(i + 1).padStart(4, '0')}`);
}

/**
 * What the scheduler would do for `ueIds`: queue concurrency first, then the retained decision
 * (cut REQUEST_CUT, `units`), so that edge workers open a BullMQ Worker per UE.
 */
async function decide(env: ServiceEnv, ueIds: readonly string[], units: number): Promise<void> {
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 3 });
  const clientId = `bench-decider-${env.redisPrefix}`;
  const client = await connectMqtt({ url: env.mqttUrl, clientId, clean: true });
  try {
    const cutName = defined(
      modelCuts(REQUEST_MODEL)[REQUEST_CUT],
      `cut ${REQUEST_CUT} of model "${REQUEST_MODEL}"`,
    ).name;
    for (const ue of ueIds) {
      const queue = new Queue(ueQueueName(ue), { connection: redis, prefix: env.redisPrefix });
      await queue.setGlobalConcurrency(units);
      await queue.close();
      const decision: Decision = {
        epoch: 1,
        cut: REQUEST_CUT,
        cutName,
        units,
        predictedMs: 1,
        solver: 'bench',
      };
      await client.publishAsync(ueTopic(env.topicPrefix, ue, 'decision'), encodeMessage(decision), {
        qos: 1,
        retain: true,
      });
    }
  } finally {
    await client.endAsync();
    await redis.quit();
  }
}

/**
 * Connects the UEs of the request scenario. `bare`: for the bare path (system-bare.ts), which
 * reads no decision, so none is published and no queue is set up.
 */
export async function openRequestField(
  env: ServiceEnv,
  ueCount: number,
  unitsEach: number,
  bare = false,
): Promise<RequestField> {
  const ueIds = ueIdsFor(ueCount);
  if (!bare) await decide(env, ueIds, unitsEach);
  const clients = await connectUes(
    env.mqttUrl,
    env.topicPrefix,
    ueIds,
    ['result', 'error'],
    // Each field its own client ids: two fields on one broker would take each other's sessions.
    `${bare ? 'bench-bare-req' : 'bench-req'}-${createHash('sha1').update(env.topicPrefix).digest('hex').slice(0, 6)}`,
  );
  return {
    ueIds,
    run: (plan) => runLoad(clients.slice(0, plan.ues), env.topicPrefix, plan),
    close: () => closeUes(clients),
  };
}

/** Closed loop: each UE keeps `depth` requests in flight until enough results arrived. */
async function runLoad(
  clients: readonly UeClient[],
  prefix: string,
  plan: RequestPlan,
): Promise<RequestResult> {
  const cut = plan.cut ?? REQUEST_CUT;
  const input = defined(modelCuts(REQUEST_MODEL)[cut], `cut ${cut} of model "${REQUEST_MODEL}"`);
  const data = new Float32Array(input.bytes / 4).map((_, k) => (k % 97) / 97);
  const tensor = { dtype: 'float32' as const, shape: [...input.shape], data };
  const total = plan.warmup + plan.measured;
  const runId = randomBytes(3).toString('hex');
  const samples: number[] = [];
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let clockStart = performance.now();
  let clockEnd = 0;

  return new Promise<RequestResult>((resolve, fail) => {
    let lastAnswer = performance.now();
    const watchdog = setInterval(() => {
      if (performance.now() - lastAnswer > STALL_MS)
        reject(new Error(`no result for ${STALL_MS} ms (${answered} of ${total} answered)`));
    }, 1000);
    const stopListening = () => {
      clearInterval(watchdog);
      for (const entry of clients) entry.onMessage = () => {};
    };
    const reject = (error: Error) => {
      stopListening();
      fail(error);
    };
    const finish = () => {
      stopListening();
      resolve({
        ues: clients.length,
        inFlight: clients.length * plan.depth,
        tensorBytes: input.bytes,
        latency: summarize(samples),
        perSecond: (plan.measured / (clockEnd - clockStart)) * 1000,
        errors,
      });
    };
    for (const entry of clients) {
      const pending = new Map<string, number>();
      const topic = ueTopic(prefix, entry.ue, 'infer');
      const send = () => {
        if (sent >= total) return;
        const requestId = `${runId}-${sent++}`;
        const request: InferRequest = {
          requestId,
          epoch: 1,
          model: REQUEST_MODEL,
          cut,
          sample: 0,
          tensor,
          sentAt: Date.now(),
        };
        const payload = encodeMessage(request);
        pending.set(requestId, performance.now());
        entry.client.publish(topic, payload, { qos: 1 }, (error) => {
          if (error) reject(error);
        });
      };
      entry.onMessage = (channel, payload, at) => {
        if (channel === 'error') {
          errors++;
          const report = decodeMessage('error', payload);
          reject(new Error(`error from ${entry.ue}: ${report.ok ? report.value.message : '?'}`));
          return;
        }
        const decoded = decodeMessage('result', payload);
        if (!decoded.ok) return reject(decoded.error);
        const started = pending.get(decoded.value.requestId);
        if (started === undefined) return;
        pending.delete(decoded.value.requestId);
        answered++;
        lastAnswer = at;
        if (answered === plan.warmup) clockStart = at;
        if (answered > plan.warmup) samples.push(at - started);
        if (answered === total) {
          clockEnd = at;
          finish();
          return;
        }
        send();
      };
      for (let k = 0; k < plan.depth; k++) send();
    }
  });
}
