import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { edgeProfile, modelCuts } from '../dnn/index.js';
import {
  type EdgeWorker,
  type EdgeWorkerOptions,
  emulatedEdgeExecutor,
  type PackingReport,
  startEdgeWorker,
} from '../edge-worker/index.js';
import {
  ANSWER_TTL_SECONDS,
  answerKey,
  encodeMessage,
  type InferResult,
  keptAnswer,
  readKeptAnswer,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { EdgeTestBed, REDIS_URL, startBroker } from './edge-harness.js';
import { waitUntil } from './wait-until.js';

let broker: Awaited<ReturnType<typeof startBroker>>;
let bed: EdgeTestBed;
const workers: EdgeWorker[] = [];

/** A speed factor that makes a tiny-cnn tail from `cut` take about `ms`. */
function speedFor(ms: number, cut = 2): number {
  return ms / defined(edgeProfile('tiny-cnn')[cut], `the edge time of tiny-cnn's cut ${cut}`);
}

async function start(options: Partial<EdgeWorkerOptions> & { id: string }): Promise<EdgeWorker> {
  const worker = await startEdgeWorker({
    units: 2,
    models: ['tiny-cnn'],
    mqttUrl: broker.url,
    redisUrl: REDIS_URL,
    redisPrefix: bed.redisPrefix,
    topicPrefix: bed.topicPrefix,
    drainCheckMs: 100,
    drainGraceMs: 300,
    onError: () => {},
    ...options,
  });
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.close();
});

beforeEach(async () => {
  bed = await EdgeTestBed.create(broker.url);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  await bed.close();
});

describe('edge worker', () => {
  it('declares its units and models, retained, and goes offline on close', async () => {
    const worker = await start({ id: 'edge-s', units: 3, speedFactor: 2 });
    await waitUntil('online status', () => bed.statusOf('edge-s')?.state === 'online');
    const status = defined(bed.statusOf('edge-s'), 'the status of edge-s');
    expect(status.units).toBe(3);
    expect(status.models).toEqual([
      { model: 'tiny-cnn', edgeMs: edgeProfile('tiny-cnn').map((ms) => ms * 2) },
    ]);
    await worker.close();
    await waitUntil('offline status', () => bed.statusOf('edge-s')?.state === 'offline');
  });

  it('with --calibrate, declares again what its tails really take when they drift', async () => {
    // It claims half of what its (emulated) tails really take.
    const speed = speedFor(20);
    const claimed = edgeProfile('tiny-cnn').map((ms) => (ms * speed) / 2);
    await start({
      id: 'edge-c',
      speedFactor: speed,
      edgeProfiles: { 'tiny-cnn': claimed },
      calibrate: { minSamples: 8, minIntervalMs: 0 },
    });
    await waitUntil('online status', () => bed.statusOf('edge-c')?.state === 'online');
    expect(bed.statusOf('edge-c')?.models[0]?.edgeMs).toEqual(claimed);
    await bed.decide('u1', 2);
    for (let k = 0; k < 12; k++) await bed.enqueue({ ue: 'u1', requestId: `c${k}` });
    await waitUntil(
      'a calibrated status',
      () => (bed.statusOf('edge-c')?.models[0]?.edgeMs[2] ?? 0) > 15,
    );
    const edgeMs = defined(bed.statusOf('edge-c')?.models[0], "edge-c's model").edgeMs;
    // At least the 20 ms really taken from cut 2 (plus what a job spends outside the
    // computation, which depends on the machine), not the 10 ms claimed.
    expect(edgeMs[2]).toBeGreaterThan(18);
    expect(edgeMs.at(-1)).toBe(0);
    for (const [cut, ms] of edgeMs.entries())
      if (cut > 0) expect(ms).toBeLessThanOrEqual(defined(edgeMs[cut - 1], `cut ${cut - 1}`));
  });

  it('opens the tail of each UE it serves once, ahead of the first job', async () => {
    const warmed: string[] = [];
    const executor = Object.assign(emulatedEdgeExecutor(0), {
      warm: async (model: string, from: number, to: number) => {
        warmed.push(`${model} ${from}-${to}`);
      },
    });
    await start({ id: 'edge-w', units: 8, executor });
    const last = modelCuts('tiny-cnn').length - 1;
    await bed.decide('ue-1', 1, 2, 'tiny-cnn');
    await bed.decide('ue-2', 1, 2, 'tiny-cnn'); // the same tail: opened already
    await bed.decide('ue-3', 1, 4, 'tiny-cnn');
    await bed.decide('ue-4', 0, last, 'tiny-cnn'); // local: no tail
    await bed.decide('ue-5', 0, 1, 'tiny-cnn'); // no units: nobody serves it
    await bed.decide('ue-6', 1, 2, 'resnet18'); // a model this worker does not serve
    await bed.decide('ue-7', 1, 5); // a decision of an older scheduler, without its model
    // Decisions arrive in order: once this one's tail is opened, all of the above have arrived.
    await bed.decide('ue-8', 1, 3, 'tiny-cnn');
    await waitUntil('warm-ups', () => warmed.includes(`tiny-cnn 3-${last}`));
    expect(warmed.sort()).toEqual([2, 3, 4].map((cut) => `tiny-cnn ${cut}-${last}`));
  });

  it('answers each request on ue/{id}/result with its tensor and timings, keeps that answer for a minute, and drops the claim', async () => {
    const worker = await start({ id: 'edge-1', speedFactor: speedFor(20) });
    await bed.decide('u1', 2);
    const ids = ['r0', 'r1', 'r2', 'r3'];
    for (const requestId of ids) await bed.enqueue({ ue: 'u1', requestId });
    await waitUntil('4 results', () => bed.results.length === 4);
    const output = defined(modelCuts('tiny-cnn').at(-1), "tiny-cnn's output cut");
    for (const { ue, result } of bed.results) {
      expect(ue).toBe('u1');
      expect(ids).toContain(result.requestId);
      expect(result).toMatchObject({ cut: 2, sample: 0, worker: 'edge-1', epoch: 1 });
      expect(result.tensor.shape).toEqual([...output.shape]);
      expect(result.tensor.data).toHaveLength(output.bytes / 4);
      expect(result.timings.computeMs).toBeGreaterThanOrEqual(15);
      expect(result.timings.queueMs).toBeGreaterThanOrEqual(0);
    }
    for (const requestId of ids) {
      await waitUntil('claim deleted', async () => !(await bed.claimExists('u1', requestId)));
      expect(await bed.jobState('u1', requestId)).toBe('completed');
      // What a resend gets from the ingress: the result as published, for ANSWER_TTL_SECONDS.
      const key = answerKey(bed.redisPrefix, 'u1', requestId);
      const kept = readKeptAnswer(await bed.redis.getBuffer(key));
      expect(kept?.channel).toBe('result');
      const published = defined(
        bed.results.find((r) => r.result.requestId === requestId),
        `the result of ${requestId}`,
      );
      expect(kept?.payload).toEqual(Buffer.from(encodeMessage(published.result)));
      // Its time to live, less the whole seconds since the worker finished it (a busy machine
      // may take several before this reads it), and one for rounding.
      const ttl = await bed.redis.ttl(key);
      const finishedAt = defined(published.result.finishedAt, 'finishedAt');
      const since = Math.ceil((Date.now() - finishedAt) / 1000);
      expect(ttl).toBeGreaterThanOrEqual(ANSWER_TTL_SECONDS - since - 1);
      expect(ttl).toBeLessThanOrEqual(ANSWER_TTL_SECONDS);
    }
    const stats = worker.stats();
    expect(stats).toMatchObject({ completed: 4, failed: 0, running: 0 });
    expect(stats.perQueue.u1).toMatchObject({ share: 2, concurrency: 2, mode: 'serving' });
  });

  it('tells the UE when a tensor is gone or a job cannot run, and fails the job once', async () => {
    await start({ id: 'edge-1' });
    await bed.decide('u1', 1);
    await bed.enqueue({ ue: 'u1', requestId: 'gone' }, false);
    const last = modelCuts('tiny-cnn').length - 1;
    await bed.enqueue({ ue: 'u1', requestId: 'at-output', cut: last });
    await waitUntil('2 errors', () => bed.errors.length === 2);
    const byRequest = new Map(bed.errors.map((entry) => [entry.report.requestId, entry]));
    expect(byRequest.get('gone')?.report).toMatchObject({
      code: 'TENSOR_MISSING',
      topic: `${bed.topicPrefix}/ue/u1/infer`,
    });
    expect(byRequest.get('gone')?.report.message).toContain('gone');
    expect(byRequest.get('at-output')?.ue).toBe('u1');
    await waitUntil('failed', async () => (await bed.jobState('u1', 'gone')) === 'failed');
    await waitUntil('failed', async () => (await bed.jobState('u1', 'at-output')) === 'failed');
    expect((await bed.queue('u1').getJob('u1.gone'))?.attemptsMade).toBe(1);
    await waitUntil('claim deleted', async () => !(await bed.claimExists('u1', 'at-output')));
    expect(bed.results).toHaveLength(0);
  });

  it('answers a job that ran before (its tensor gone with its kept result) with that result again', async () => {
    await start({ id: 'edge-1' });
    await bed.decide('u1', 1);
    // What a first run left when its lock was lost before the job completed: the kept result,
    // and no tensor.
    const kept: InferResult = {
      requestId: 'again',
      epoch: 1,
      cut: 2,
      sample: 0,
      worker: 'edge-0',
      tensor: { dtype: 'float32', shape: [1, 2], data: new Float32Array([0.25, 0.5]) },
      timings: { queueMs: 1, computeMs: 2 },
      finishedAt: Date.now(),
    };
    await bed.redis.set(
      answerKey(bed.redisPrefix, 'u1', 'again'),
      keptAnswer('result', encodeMessage(kept)),
      'EX',
      60,
    );
    await bed.enqueue({ ue: 'u1', requestId: 'again' }, false);
    await waitUntil('completed', async () => (await bed.jobState('u1', 'again')) === 'completed');
    await waitUntil('result', () => bed.results.length === 1);
    expect(bed.results[0]?.result).toMatchObject({ requestId: 'again', worker: 'edge-0' });
    expect(bed.errors).toHaveLength(0);
  });

  it('never runs more jobs at once than its units, across all its queues', async () => {
    let running = 0;
    let peak = 0;
    const worker = await start({
      id: 'edge-1',
      units: 2,
      speedFactor: speedFor(120),
      onJobStart: () => {
        running++;
        peak = Math.max(peak, running);
      },
      onJobEnd: () => {
        running--;
      },
    });
    const ues = ['ua', 'ub', 'uc'];
    for (const ue of ues) await bed.decide(ue, 2);
    await waitUntil('shares', () => worker.stats().perQueue.ua?.share === 2);
    for (let k = 0; k < 4; k++)
      for (const ue of ues) await bed.enqueue({ ue, requestId: `${ue}-${k}` });
    let waitingSeen = 0;
    await waitUntil(
      '12 results',
      () => {
        waitingSeen = Math.max(waitingSeen, worker.stats().waitingForSlot);
        return bed.results.length === 12;
      },
      15_000,
    );
    expect(peak).toBe(2);
    expect(worker.stats().maxRunning).toBe(2);
    // R = 2 covers ua only; ub and uc are nobody's share, so they drain at concurrency 1
    // each, inside the same cap: their Workers had jobs waiting for a unit.
    expect(waitingSeen).toBeGreaterThan(0);
    expect(new Set(bed.results.map((entry) => entry.ue))).toEqual(new Set(ues));
  });

  it('stops the Worker of a UE whose units are taken away, once its queue has drained', async () => {
    const worker = await start({ id: 'edge-1', units: 2, speedFactor: speedFor(150) });
    await bed.decide('u1', 2);
    await waitUntil('share', () => worker.stats().perQueue.u1?.mode === 'serving');
    for (let k = 0; k < 6; k++) await bed.enqueue({ ue: 'u1', requestId: `r${k}` });
    await waitUntil('first result', () => bed.results.length >= 1);
    await bed.decide('u1', 0);
    await waitUntil('draining', () => worker.stats().perQueue.u1?.mode === 'draining');
    expect(worker.stats().perQueue.u1).toMatchObject({ share: 0, concurrency: 1 });
    await waitUntil('6 results', () => bed.results.length === 6);
    await waitUntil('closed', () => worker.stats().perQueue.u1?.mode === 'closed');
    expect(await bed.queue('u1').getJobCounts('wait', 'active')).toEqual({ wait: 0, active: 0 });
    // A UE given units again gets a Worker again.
    await bed.decide('u1', 1);
    await waitUntil('serving again', () => worker.stats().perQueue.u1?.mode === 'serving');
    await bed.enqueue({ ue: 'u1', requestId: 'r-again' });
    await waitUntil('result', () => bed.resultsFor('r-again').length === 1);
  });

  it('keeps the Worker of a UE whose units were taken away for the grace period, serving a request that comes during it, then stops it', async () => {
    const graceMs = 4_000;
    const worker = await start({ id: 'edge-1', units: 2, drainGraceMs: graceMs });
    const modes: (string | undefined)[] = [];
    const watch = setInterval(() => modes.push(worker.stats().perQueue.u1?.mode), 20);
    try {
      await bed.decide('u1', 2);
      await waitUntil('serving', () => worker.stats().perQueue.u1?.mode === 'serving');
      const lostAt = Date.now();
      await bed.decide('u1', 0);
      await waitUntil('draining', () => worker.stats().perQueue.u1?.mode === 'draining');
      const drainingFrom = modes.length;
      // The queue is empty; without the grace the Worker would close at the next check (100 ms).
      await new Promise((resolve) => setTimeout(resolve, 500));
      // A request the UE sent before it learnt of the change.
      await bed.enqueue({ ue: 'u1', requestId: 'late' });
      await waitUntil('its result', () => bed.resultsFor('late').length === 1);
      expect(modes.slice(drainingFrom)).not.toContain('closed');
      await waitUntil('closed', () => worker.stats().perQueue.u1?.mode === 'closed', 30_000);
      expect(Date.now() - lostAt).toBeGreaterThanOrEqual(graceMs);
    } finally {
      clearInterval(watch);
    }
  });

  it('leaves a UE to the worker that the packing gives it to', async () => {
    const a = await start({ id: 'edge-a', units: 1 });
    const b = await start({ id: 'edge-b', units: 1 });
    await bed.decide('u1', 1);
    await bed.decide('u2', 1);
    await waitUntil('packing', () => {
      const [sa, sb] = [a.stats().perQueue, b.stats().perQueue];
      return sa.u1?.share === 1 && sb.u2?.share === 1 && sa.u2 === undefined && sb.u1 === undefined;
    });
    await bed.enqueue({ ue: 'u1', requestId: 'x' });
    await bed.enqueue({ ue: 'u2', requestId: 'y' });
    await waitUntil('2 results', () => bed.results.length === 2);
    expect(bed.resultsFor('x')[0]?.worker).toBe('edge-a');
    expect(bed.resultsFor('y')[0]?.worker).toBe('edge-b');
    // edge-a leaves: edge-b now serves both within its one unit.
    await a.close();
    await waitUntil('takeover', () => b.stats().perQueue.u1?.share === 1);
    expect(b.stats().perQueue.u2?.share ?? 0).toBe(0);
  });

  it('a live worker taken for offline by the others (a stale last will) is back in their packing at its next announcement', async () => {
    const reports: PackingReport[] = [];
    await start({ id: 'edge-a', units: 1, onPacking: (report) => reports.push(report) });
    await start({ id: 'edge-b', units: 1 });
    await bed.decide('u1', 1);
    await bed.decide('u2', 1);
    const last = () => reports.at(-1);
    await waitUntil('edge-a to pack both UEs on 2 workers', () => last()?.ues === 2);
    expect(last()?.workers).toBe(2);

    await bed.publishStatus('edge-b', { state: 'offline', units: 1, models: [], at: Date.now() });
    await waitUntil('edge-a to take edge-b for offline', () => last()?.workers === 1);
    expect(last()?.ues).toBe(1);
    await waitUntil('edge-b online again', () => bed.statusOf('edge-b')?.state === 'online');
    await waitUntil('edge-a to pack both UEs on 2 workers again', () => last()?.workers === 2);
    expect(last()?.ues).toBe(2);
  });

  it('forgets a worker whose retained online status is never announced again, serving the UE the packing had given it, keeps one that announces, and takes it back at its announcement', async () => {
    const reports: PackingReport[] = [];
    const expired: string[][] = [];
    const a = await start({
      id: 'edge-a',
      units: 1,
      edgeStatusExpiryMs: 1500,
      announceMs: 200,
      onPacking: (report) => reports.push(report),
      onExpired: ({ workers }) => expired.push([...workers]),
    });
    const b = await start({ id: 'edge-b', units: 1, announceMs: 200 });
    // What a broker that keeps retained messages replays of a worker that died while it was down.
    const ghost = { state: 'online' as const, units: 1, models: [], at: Date.now() };
    await bed.publishStatus('edge-ghost', ghost);
    for (const ue of ['u1', 'u2', 'u3']) await bed.decide(ue, 1);
    const last = () => reports.at(-1);
    await waitUntil('edge-a to pack 3 UEs on 3 workers', () => last()?.workers === 3);
    const served = () =>
      [a, b].flatMap((worker) =>
        Object.entries(worker.stats().perQueue)
          .filter(([, queue]) => queue.share > 0)
          .map(([ue]) => ue),
      );
    await waitUntil('edge-a and edge-b to serve a UE each', () => served().length === 2);
    const orphan = defined(
      ['u1', 'u2', 'u3'].find((ue) => !served().includes(ue)),
      'the UE packed on the silent worker',
    );
    await bed.enqueue({ ue: orphan, requestId: 'orphaned' });
    await waitUntil('edge-a to forget the silent worker', () => last()?.workers === 2);
    expect(expired).toEqual([['edge-ghost']]);
    await waitUntil(
      'the request of its UE answered',
      () => bed.resultsFor('orphaned').length === 1,
    );
    // An announcement brings it back.
    await bed.publishStatus('edge-ghost', { ...ghost, at: Date.now() });
    await waitUntil('edge-a to pack on 3 workers again', () => last()?.workers === 3);
    expect(expired).toEqual([['edge-ghost']]);
    await bed.publishStatus('edge-ghost', { ...ghost, state: 'offline', at: Date.now() });
  });
});
