/**
 * Queue and transport overhead of real tails: an infer request at a cut goes through the
 * embedded broker, the ingress, BullMQ and an ONNX edge worker; overhead = round trip minus the
 * worker's compute time, as a fraction of that compute.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../broker/index.js';
import { modelCuts, OnnxExecutor } from '../dnn/index.js';
import { startEdgeWorker } from '../edge-worker/index.js';
import {
  type Decision,
  decodeMessage,
  encodeMessage,
  type InferResult,
  type Tensor,
  ueTopic,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { medianOrNaN as median } from '../stats/quantile.js';
import { deleteKeys, startEmbeddedBroker } from '../system/index.js';

export interface OverheadRow {
  readonly model: string;
  readonly cut: number;
  readonly cutName: string;
  readonly tensorBytes: number;
  readonly computeMs: number;
  readonly roundTripMs: number;
  readonly overheadMs: number;
  /** overheadMs / computeMs (medians). */
  readonly fraction: number;
}

export async function benchOverhead(
  model: string,
  cutsToTry: readonly number[],
  runs: number,
  redisUrl: string,
  /** Tensors in files of this directory rather than in Redis (`EDGESPLIT_CLAIM_DIR`). */
  claimDir?: string,
): Promise<OverheadRow[]> {
  const topicPrefix = `bench/${randomBytes(3).toString('hex')}`;
  const redisPrefix = `bench-inf-${randomBytes(3).toString('hex')}`;
  const ue = 'bench-ue';
  const broker = await startEmbeddedBroker({
    port: 0,
    host: '127.0.0.1',
    redisUrl,
    redisPrefix,
    topicPrefix,
    logFor: () => silentLogger,
    ...(claimDir === undefined ? {} : { claimDir }),
  });
  const { mqttUrl } = broker;
  const common = { mqttUrl, redisUrl, redisPrefix, topicPrefix };
  const tails = new OnnxExecutor({ threads: 1 });
  const worker = await startEdgeWorker({
    ...common,
    id: 'bench-edge',
    units: 1,
    models: [model],
    executor: tails,
    ...(claimDir === undefined ? {} : { claimDir }),
  });
  const heads = new OnnxExecutor({ threads: 1 });
  const waiting = new Map<string, (result: InferResult) => void>();
  const client = await connectMqtt({ url: mqttUrl, clientId: `bench-ue-${redisPrefix}` }, (c) =>
    c.on('message', (_topic, payload) => {
      const decoded = decodeMessage('result', payload);
      if (decoded.ok) waiting.get(decoded.value.requestId)?.(decoded.value);
    }),
  );
  const rows: OverheadRow[] = [];
  try {
    await client.subscribeAsync(ueTopic(topicPrefix, ue, 'result'), { qos: 1 });
    const cuts = modelCuts(model);
    const shape = defined(cuts[0], `the input cut of model "${model}"`).shape;
    const input: Tensor = {
      dtype: 'float32',
      shape: [...shape],
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5),
    };
    for (const [index, cut] of cutsToTry.entries()) {
      const { name: cutName, bytes: tensorBytes } = defined(
        cuts[cut],
        `cut ${cut} of model "${model}"`,
      );
      const decision: Decision = {
        epoch: index + 1,
        cut,
        cutName,
        units: 1,
        predictedMs: 1,
        solver: 'optimal',
      };
      await client.publishAsync(ueTopic(topicPrefix, ue, 'decision'), encodeMessage(decision), {
        qos: 1,
        retain: true,
      });
      const tensor = cut === 0 ? input : await heads.run({ model, from: 0, to: cut, input });
      const trips: number[] = [];
      const computes: number[] = [];
      for (let run = 0; run <= runs; run++) {
        const requestId = `r${index}-${run}-${randomBytes(2).toString('hex')}`;
        const result = new Promise<InferResult>((resolve) => waiting.set(requestId, resolve));
        const start = performance.now();
        client.publish(
          ueTopic(topicPrefix, ue, 'infer'),
          encodeMessage({
            requestId,
            epoch: index + 1,
            model,
            cut,
            sample: 0,
            tensor,
            sentAt: Date.now(),
          }),
          { qos: 1 },
        );
        const answer = await result;
        // The first run opens the session and the queue's worker: a warm-up.
        if (run === 0) continue;
        trips.push(performance.now() - start);
        computes.push(answer.timings.computeMs);
      }
      const computeMs = median(computes);
      const roundTripMs = median(trips);
      rows.push({
        model,
        cut,
        cutName,
        tensorBytes,
        computeMs,
        roundTripMs,
        overheadMs: roundTripMs - computeMs,
        fraction: (roundTripMs - computeMs) / computeMs,
      });
    }
  } finally {
    await client.endAsync(true);
    await worker.close();
    await broker.close();
    await Promise.all([tails.close(), heads.close()]);
    await deleteKeys(redisUrl, `${redisPrefix}:*`);
  }
  return rows;
}
