import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AgentOptions,
  AgentOptionsError,
  type LinkRates,
  NoDecisionError,
  sampleInput,
  startAgent,
  type UeAgent,
} from '../agents/index.js';
import { deviceProfile, type Executor, modelCuts } from '../dnn/index.js';
import { type Decision, encodeMessage } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import {
  FakeEdge,
  slottedEdge,
  startBroker,
  type TestBroker,
  uniquePrefix,
  until,
} from './agent-harness.js';
import { WAIT_MS } from './wait-until.js';

const MODEL = 'tiny-cnn';
// A slow device, so head times are tens of milliseconds rather than fractions of one.
const DEVICE = { gflops: 0.05 };
const LINK: LinkRates = { uplinkMbps: 2, rttMs: 20, downlinkMbps: 10 };
const EDGE_MS = 20;
const cuts = modelCuts(MODEL);
const device = deviceProfile(MODEL, DEVICE);
const LAST = cuts.length - 1;
/** Cut `p` of the model; every index used here is one of its cuts. */
const cutAt = (p: number) => defined(cuts[p], `cut ${p} of ${MODEL}`);
const RESULT_BYTES = cutAt(LAST).bytes;

/** docs/model.md's T_i(p, r), with this test's edge time per sample. */
function predicted(cut: number, units: number, batch: number, link = LINK): number {
  const head = batch * defined(device[cut], `the device time of cut ${cut}`).deviceMs;
  if (cut === LAST) return head;
  return (
    head +
    (batch * cutAt(cut).bytes * 8) / (link.uplinkMbps * 1000) +
    link.rttMs +
    Math.ceil(batch / units) * EDGE_MS +
    (RESULT_BYTES * 8) / ((link.downlinkMbps ?? Number.POSITIVE_INFINITY) * 1000)
  );
}

function decision(epoch: number, cut: number, units: number, batch: number): Decision {
  return {
    epoch,
    cut,
    cutName: cutAt(cut).name,
    units,
    predictedMs: predicted(cut, units, batch),
    solver: 'optimal',
  };
}

let broker: TestBroker;
let edge: FakeEdge;
let prefix: string;
const agents: UeAgent[] = [];
let nextId = 0;

async function agent(overrides: Partial<AgentOptions> = {}): Promise<UeAgent> {
  const options = {
    id: `cam-${++nextId}`,
    model: MODEL,
    device: DEVICE,
    batch: 4,
    link: LINK,
    mqttUrl: broker.url,
    topicPrefix: prefix,
    requestTimeoutMs: 2000,
    maxRetries: 2,
    decisionWaitMs: 3000,
    ...overrides,
  } as AgentOptions;
  const started = await startAgent(options);
  agents.push(started);
  return started;
}

beforeEach(async () => {
  broker = await startBroker();
  prefix = uniquePrefix();
  edge = await FakeEdge.connect(broker.url, prefix);
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await edge.close();
  await broker.close();
});

describe('UE agent announcements', () => {
  it('publishes status, profile and link retained; the last will says offline', async () => {
    const ue = await agent();
    await until(() => edge.values(ue.id, 'link').length > 0, WAIT_MS, 'announcements');
    const retained = (kind: string) =>
      edge.messages.filter((m) => m.topic === `${prefix}/ue/${ue.id}/${kind}`);
    expect(edge.values(ue.id, 'status')[0]?.state).toBe('online');
    const profile = defined(edge.values(ue.id, 'profile')[0], `the profile of ${ue.id}`);
    expect(profile).toMatchObject({ model: MODEL, batch: 4, resultBytes: RESULT_BYTES });
    expect(profile.cuts.map((c) => c.bytes)).toEqual(cuts.map((c) => c.bytes));
    const local = defined(device[LAST], 'the device time of the last cut');
    expect(profile.cuts[LAST]?.deviceMs).toBeCloseTo(local.deviceMs, 9);
    expect(edge.values(ue.id, 'link')[0]).toMatchObject(LINK);

    // A late subscriber gets all three as retained messages.
    const late = await FakeEdge.connect(broker.url, prefix);
    await until(() => late.values(ue.id, 'link').length > 0, WAIT_MS, 'retained link');
    expect(
      late.messages
        .filter((m) => m.retain)
        .map((m) => m.kind)
        .sort(),
    ).toEqual(['link', 'profile', 'status']);
    await late.close();
    expect(retained('status').length).toBe(1);

    // The socket dies without DISCONNECT: the broker publishes the will, then the agent is back.
    (ue.client.stream as Socket).destroy();
    await until(() => edge.values(ue.id, 'status').some((s) => s.state === 'offline'));
    await until(() => edge.values(ue.id, 'status').at(-1)?.state === 'online', WAIT_MS, 'rebirth');
    expect(edge.values(ue.id, 'profile').length).toBeGreaterThanOrEqual(2);

    ue.setLink({ uplinkMbps: 5, rttMs: 10 });
    await until(() => edge.values(ue.id, 'link').at(-1)?.uplinkMbps === 5, WAIT_MS, 'new link');
    expect(edge.values(ue.id, 'link').at(-1)).not.toHaveProperty('downlinkMbps');
    await ue.stop();
    await until(() => edge.values(ue.id, 'status').at(-1)?.state === 'offline', WAIT_MS, 'offline');
  });

  it('publishes what it measured on ue/{id}/stats, not retained, every statsIntervalMs', async () => {
    const ue = await agent({ beforeDecision: 'local', statsIntervalMs: 100 });
    await until(() => edge.values(ue.id, 'stats').length > 0, WAIT_MS, 'a first stats message');
    expect(edge.values(ue.id, 'stats')[0]).toMatchObject({ tasks: 0, p50Ms: null, lastMs: null });
    const task = await ue.runTask();
    await until(
      () => (edge.values(ue.id, 'stats').at(-1)?.totalTasks ?? 0) >= 1,
      WAIT_MS,
      'stats after a task',
    );
    const stats = defined(edge.values(ue.id, 'stats').at(-1), 'the stats after a task');
    expect(stats).toMatchObject({ tasks: 1, failed: 0, windowMs: 30_000, totalTasks: 1 });
    expect(stats.lastMs).toBeCloseTo(task.measuredMs, 6);
    expect(stats.p50Ms).toBe(stats.lastMs);
    expect(stats.predictedMs).toBe(task.predictedMs);
    expect(edge.messages.filter((m) => m.kind === 'stats').every((m) => !m.retain)).toBe(true);
    await expect(agent({ statsWindowMs: 0 })).rejects.toThrow(/^statsWindowMs: /);
  });

  it('rejects bad options with the option named', async () => {
    await expect(agent({ model: 'lenet' })).rejects.toThrow(/^model: unknown model/);
    await expect(agent({ batch: 0 })).rejects.toThrow(AgentOptionsError);
    await expect(agent({ id: 'a/b' })).rejects.toThrow(/^id: /);
    await expect(agent({ link: { uplinkMbps: 0, rttMs: 1 } })).rejects.toThrow(/uplinkMbps/);
  });
});

describe('UE agent tasks', () => {
  it('runs a task under the decision: B infer messages, measured no shorter than predicted', async () => {
    edge.policy = slottedEdge(2, EDGE_MS);
    const ue = await agent();
    const cut = 2;
    const d = decision(7, cut, 2, 4);
    await edge.publishDecision(ue.id, d);
    await until(() => ue.decision?.epoch === 7, WAIT_MS, 'decision');

    const task = await ue.runTask();
    expect(task).toMatchObject({ epoch: 7, cut, units: 2, ok: true, retries: 0, failures: [] });
    const infers = edge.infers.filter((i) => i.ue === ue.id);
    expect(infers).toHaveLength(4);
    expect(infers.map((i) => i.request.sample).sort()).toEqual([0, 1, 2, 3]);
    for (const { request } of infers) {
      expect(request).toMatchObject({ epoch: 7, cut, model: MODEL });
      expect(request.tensor.shape).toEqual([...cutAt(cut).shape]);
      expect(request.tensor.data.length).toBe(cutAt(cut).bytes / 4);
    }
    expect(new Set(infers.map((i) => i.request.requestId)).size).toBe(4);
    expect(task.outputs).toHaveLength(4);
    expect(task.outputs[0]?.shape).toEqual([...cutAt(LAST).shape]);
    expect(task.predictedMs).toBe(d.predictedMs);
    // The emulated link and edge wait out docs/model.md's latency: a task cannot beat it (how much
    // overhead comes on top depends on the machine, a benchmark's figure).
    expect(task.measuredMs).toBeGreaterThan(task.predictedMs - 2);

    const stats = ue.stats();
    expect(stats).toMatchObject({ tasks: 1, requests: 4, ok: 4, failed: 0, retried: 0 });
    expect(stats.latencies[0]).toMatchObject({ epoch: 7, cut, predictedMs: d.predictedMs });

    // Inputs are a function of UE id and sample index only.
    const second = await ue.runTask();
    expect(second.ok).toBe(true);
    const again = edge.infers.filter((i) => i.ue === ue.id).slice(4);
    const bySample = (s: number, list: typeof infers) =>
      defined(
        list.find((i) => i.request.sample === s),
        `the request of sample ${s}`,
      ).request.tensor.data;
    expect(bySample(1, again)).toEqual(bySample(1, infers));
  });

  it('runs everything on the device when the decision is the last cut, no shorter than predicted', async () => {
    const ue = await agent();
    await edge.publishDecision(ue.id, decision(1, LAST, 0, 4));
    const task = await ue.runTask();
    expect(task).toMatchObject({ cut: LAST, units: 0, ok: true });
    expect(edge.infers).toHaveLength(0);
    expect(task.outputs.map((o) => o?.shape)).toEqual(Array(4).fill([...cutAt(LAST).shape]));
    expect(task.measuredMs).toBeGreaterThan(task.predictedMs - 2);
  });

  it('uploads the raw input at cut 0', async () => {
    const ue = await agent({ batch: 1 });
    await edge.publishDecision(ue.id, decision(1, 0, 1, 1));
    const task = await ue.runTask();
    expect(task.ok).toBe(true);
    expect(edge.infers[0]?.request.tensor.data).toEqual(sampleInput(ue.id, 0, cutAt(0).shape).data);
  });

  it('waits for the first decision, or fails after decisionWaitMs, or runs locally', async () => {
    const waiting = await agent({ decisionWaitMs: 3000 });
    const task = waiting.runTask();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await edge.publishDecision(waiting.id, decision(3, 4, 1, 4));
    expect(await task).toMatchObject({ epoch: 3, cut: 4, ok: true });

    const impatient = await agent({ decisionWaitMs: 50 });
    await expect(impatient.runTask()).rejects.toThrow(NoDecisionError);

    const local = await agent({ beforeDecision: 'local' });
    expect(await local.runTask()).toMatchObject({ epoch: null, cut: LAST, units: 0, ok: true });
  });

  it('drops duplicate and unknown results', async () => {
    edge.policy = () => ({ kind: 'answer', copies: 2 });
    const ue = await agent();
    let accepted = 0;
    ue.on('result', () => accepted++);
    await edge.publishDecision(ue.id, decision(1, 2, 2, 4));
    const task = await ue.runTask();
    expect(task.ok).toBe(true);
    await until(() => ue.stats().duplicatesDropped === 4, WAIT_MS, 'duplicates');
    await edge.publishResult(ue.id, {
      requestId: 'never-sent',
      epoch: 1,
      cut: 2,
      sample: 0,
      worker: 'w',
      tensor: { dtype: 'float32', shape: [1], data: new Float32Array(1) },
      timings: { queueMs: 0, computeMs: 0 },
    });
    await until(() => ue.stats().unknownDropped === 1, WAIT_MS, 'unknown');
    expect(accepted).toBe(4);
    expect(ue.stats()).toMatchObject({ ok: 4, duplicatesDropped: 4, unknownDropped: 1 });
  });

  it('retries a request whose result was lost, with the same requestId', async () => {
    // The first copy of sample 1 is lost; its re-publication is answered.
    edge.policy = (infer, seen) =>
      infer.request.sample === 1 && seen === 1 ? { kind: 'drop' } : { kind: 'answer' };
    const ue = await agent({ requestTimeoutMs: 300 });
    await edge.publishDecision(ue.id, decision(1, 2, 2, 4));
    const task = await ue.runTask();
    expect(task).toMatchObject({ ok: true, retries: 1 });
    const sample1 = edge.infers.filter((i) => i.request.sample === 1);
    expect(sample1).toHaveLength(2);
    const first = defined(sample1[0], 'the first request of sample 1');
    expect(sample1[1]?.request.requestId).toBe(first.request.requestId);
    expect(ue.stats()).toMatchObject({ requests: 4, ok: 4, retried: 1, failed: 0 });
  });

  it('fails a request after maxRetries and still resolves the task', async () => {
    edge.policy = (infer) => (infer.request.sample === 0 ? { kind: 'drop' } : { kind: 'answer' });
    const ue = await agent({ requestTimeoutMs: 100, maxRetries: 1 });
    await edge.publishDecision(ue.id, decision(1, 2, 2, 4));
    const task = await ue.runTask();
    expect(task.ok).toBe(false);
    expect(task.failures).toMatchObject([{ sample: 0, reason: 'timeout' }]);
    expect(task.outputs[0]).toBeNull();
    expect(task.outputs.filter((o) => o !== null)).toHaveLength(3);
    expect(edge.infers.filter((i) => i.request.sample === 0)).toHaveLength(2);
    expect(ue.stats()).toMatchObject({ ok: 3, failed: 1, retried: 1, tasksFailed: 1 });
  });

  it('fails a request named on ue/{ue}/error at once', async () => {
    edge.policy = (infer) => (infer.request.sample === 0 ? { kind: 'drop' } : { kind: 'answer' });
    const ue = await agent({ batch: 2, requestTimeoutMs: 5000 });
    const reports: string[] = [];
    ue.on('error', (report) => reports.push(report.code));
    await edge.publishDecision(ue.id, decision(1, 2, 2, 2));
    const task = ue.runTask();
    await until(() => edge.infers.length === 2, WAIT_MS, 'infers');
    const { requestId } = defined(
      edge.infers.find((i) => i.request.sample === 0),
      'the request of sample 0',
    ).request;
    await edge.client.publishAsync(
      `${prefix}/ue/${ue.id}/error`,
      encodeMessage({ code: 'INVALID_PAYLOAD', message: 'bad tensor', requestId, issues: [] }),
      { qos: 1 },
    );
    expect((await task).failures).toMatchObject([{ sample: 0, reason: 'rejected' }]);
    expect(reports).toEqual(['INVALID_PAYLOAD']);
  });

  it('applies a new decision at the next task; requests in flight keep their cut', async () => {
    edge.policy = () => ({ kind: 'hold' });
    const ue = await agent({ batch: 2 });
    const seen: number[] = [];
    ue.on('decision', (d) => seen.push(d.epoch));
    await edge.publishDecision(ue.id, decision(1, 2, 1, 2));
    const first = ue.runTask();
    await until(() => edge.infers.length === 2, WAIT_MS, 'first infers');
    await edge.publishDecision(ue.id, decision(2, 5, 2, 2));
    await until(() => ue.decision?.epoch === 2, WAIT_MS, 'second decision');
    edge.release();
    expect(await first).toMatchObject({ epoch: 1, cut: 2, units: 1, ok: true });
    expect(edge.infers.map((i) => [i.request.epoch, i.request.cut])).toEqual([
      [1, 2],
      [1, 2],
    ]);

    edge.policy = () => ({ kind: 'answer' });
    const second = await ue.runTask();
    expect(second).toMatchObject({ epoch: 2, cut: 5, units: 2, ok: true });
    const later = edge.infers.slice(2);
    expect(later.map((i) => [i.request.epoch, i.request.cut])).toEqual([
      [2, 5],
      [2, 5],
    ]);
    expect(later[0]?.request.tensor.data.length).toBe(cutAt(5).bytes / 4);
    expect(seen).toEqual([1, 2]);
    expect(ue.stats().epochs).toEqual([1, 2]);
  });

  it('prepares the head of a new cut when the decision arrives, before any task', async () => {
    const warmed: string[] = [];
    const executor: Executor = {
      kind: 'onnx',
      run: () => Promise.reject(new Error('no task runs in this test')),
      warm: async (model, from, to) => {
        warmed.push(`${model} ${from}-${to}`);
      },
      close: async () => {},
    };
    const ue = await agent({ executor });
    await edge.publishDecision(ue.id, decision(1, 3, 1, 4));
    await until(() => ue.decision?.epoch === 1, WAIT_MS, 'first decision');
    await edge.publishDecision(ue.id, decision(2, 0, 1, 4));
    await edge.publishDecision(ue.id, decision(3, 5, 1, 4));
    await until(() => ue.decision?.epoch === 3, WAIT_MS, 'third decision');
    // Cut 0 has no head to prepare.
    expect(warmed).toEqual([`${MODEL} 0-3`, `${MODEL} 0-5`]);
  });
});

describe('UE agent and a broker restart', () => {
  it('reconnects, announces itself again, and its task completes', async () => {
    edge.policy = () => ({ kind: 'drop' });
    const ue = await agent({ requestTimeoutMs: 1000, maxRetries: 5 });
    await edge.publishDecision(ue.id, decision(1, 2, 2, 4));
    await until(() => ue.decision !== undefined, WAIT_MS, 'decision');
    const task = ue.runTask();
    await until(() => edge.infers.length >= 4, WAIT_MS, 'infers before the restart');

    const port = broker.port;
    await edge.close();
    await broker.close();
    broker = await startBroker(port);
    edge = await FakeEdge.connect(broker.url, prefix);
    // The new broker knows nothing: the agent must announce itself again.
    await until(() => edge.values(ue.id, 'profile').length > 0, WAIT_MS, 're-announcement');
    expect(edge.values(ue.id, 'status').at(-1)?.state).toBe('online');
    expect(edge.values(ue.id, 'link')).toHaveLength(1);

    const result = await task;
    expect(result).toMatchObject({ epoch: 1, ok: true });
    expect(result.retries).toBeGreaterThanOrEqual(1);
    const ids = new Set(edge.infers.map((i) => i.request.requestId));
    expect(ids.size).toBe(4);
  });
});
