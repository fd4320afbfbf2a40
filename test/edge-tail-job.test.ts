import { describe, expect, it } from 'vitest';
import { modelCuts } from '../dnn/index.js';
import {
  emulatedEdgeExecutor,
  FleetView,
  packingDigest,
  parseTailJobData,
  runTailJob,
  Semaphore,
  servedUes,
  type TailContext,
  TailJobError,
  tensorFromBytes,
} from '../edge-worker/index.js';
import { claimKey, type Decision, type EdgeStatus, encodeMessage } from '../proto/index.js';
import { defined, mapGet } from '../runtime/defined.js';

const prefix = 'edgesplit/test';

function decision(units: number, epoch = 1): Buffer {
  const value: Decision = { epoch, cut: 1, cutName: 'c1', units, predictedMs: 10, solver: 'iao' };
  return encodeMessage(value);
}

function status(state: EdgeStatus['state'], units: number): Buffer {
  return encodeMessage({ state, units, models: [], at: Date.now() });
}

function job(overrides: Record<string, unknown> = {}) {
  const cut = 2;
  const input = defined(modelCuts('tiny-cnn')[cut], `tiny-cnn's cut ${cut}`);
  return {
    ue: 'u1',
    requestId: 'r1',
    epoch: 3,
    model: 'tiny-cnn',
    cut,
    sample: 0,
    claimKey: claimKey('pfx', 'u1', 'r1'),
    dtype: 'float32',
    shape: [...input.shape],
    sentAt: 1000,
    enqueuedAt: 2000,
    ...overrides,
  };
}

function context(bytes: Uint8Array | null, models = ['tiny-cnn']): TailContext {
  return {
    workerId: 'edge-1',
    redisPrefix: 'pfx',
    executor: emulatedEdgeExecutor(0),
    models: new Set(models),
    loadTensor: async () => bytes,
  };
}

function inputBytes(cut: number, offset = 0): Buffer {
  const length = defined(modelCuts('tiny-cnn')[cut], `tiny-cnn's cut ${cut}`).bytes;
  const host = Buffer.alloc(length + offset);
  const floats = new Float32Array(length / 4).map((_, k) => k / 7);
  host.set(new Uint8Array(floats.buffer), offset);
  return host.subarray(offset);
}

describe('FleetView', () => {
  it('packs decisions onto the online workers, itself included', () => {
    const view = new FleetView(prefix, { id: 'edge-b', units: 2 });
    expect(view.apply(`${prefix}/ue/u1/decision`, decision(3)).changed).toBe(true);
    expect(view.apply(`${prefix}/edge/edge-a/status`, status('online', 1)).changed).toBe(true);
    const packing = view.packing();
    expect(Object.fromEntries(mapGet(packing, 'edge-a', "edge-a's shares"))).toEqual({ u1: 1 });
    expect(Object.fromEntries(mapGet(packing, 'edge-b', "edge-b's shares"))).toEqual({ u1: 2 });
  });

  it('forgets cleared decisions and offline workers, and ignores its own status', () => {
    const view = new FleetView(prefix, { id: 'edge-b', units: 2 });
    view.apply(`${prefix}/ue/u1/decision`, decision(1));
    view.apply(`${prefix}/edge/edge-a/status`, status('online', 1));
    expect(view.apply(`${prefix}/edge/edge-b/status`, status('offline', 2)).changed).toBe(false);
    expect(view.apply(`${prefix}/edge/edge-a/status`, status('offline', 1)).changed).toBe(true);
    expect(view.onlineWorkers()).toEqual([{ id: 'edge-b', units: 2 }]);
    expect(view.apply(`${prefix}/ue/u1/decision`, Buffer.alloc(0)).changed).toBe(true);
    expect(view.ues()).toEqual([]);
  });

  it('keeps the newer epoch and reports invalid payloads without changing state', () => {
    const view = new FleetView(prefix, { id: 'w', units: 1 });
    view.apply(`${prefix}/ue/u1/decision`, decision(2, 5));
    expect(view.apply(`${prefix}/ue/u1/decision`, decision(1, 4)).changed).toBe(false);
    expect(view.unitsOf('u1')).toBe(2);
    const bad = view.apply(`${prefix}/ue/u1/decision`, Buffer.from([0x01]));
    expect(bad.changed).toBe(false);
    expect(bad.problem?.code).toBe('INVALID_PAYLOAD');
    expect(view.apply('other/ue/u1/decision', decision(9, 9)).changed).toBe(false);
  });
});

describe('FleetView and the recorded decisions', () => {
  const recorded = (epoch: number, entries: Array<[string, number, number]>) => ({
    epoch,
    decisions: new Map(
      entries.map(([ue, units, e]) => [
        ue,
        { epoch: e, cut: 1, cutName: 'c1', units, predictedMs: 10, solver: 'iao' as const },
      ]),
    ),
    invalid: [],
  });

  it('two views that saw different messages end with the same packing once both take the record', () => {
    // a saw everything over MQTT; b restarted after a broker lost its retained messages and saw
    // only the last change (u3) and no clear of u9.
    const a = new FleetView(prefix, { id: 'w1', units: 2 });
    a.apply(`${prefix}/edge/w2/status`, status('online', 2));
    a.apply(`${prefix}/ue/u1/decision`, decision(1, 1));
    a.apply(`${prefix}/ue/u2/decision`, decision(2, 2));
    a.apply(`${prefix}/ue/u3/decision`, decision(1, 4));
    const b = new FleetView(prefix, { id: 'w2', units: 2 });
    b.apply(`${prefix}/edge/w1/status`, status('online', 2));
    b.apply(`${prefix}/ue/u9/decision`, decision(3, 1));
    b.apply(`${prefix}/ue/u3/decision`, decision(1, 4));
    expect(packingDigest(a.packing())).not.toBe(packingDigest(b.packing()));

    const record = recorded(4, [
      ['u1', 1, 1],
      ['u2', 2, 2],
      ['u3', 1, 4],
    ]);
    expect(a.applySnapshot(record).changed).toBe(false);
    expect(b.applySnapshot(record).changed).toBe(true);
    expect(b.ues().sort()).toEqual(['u1', 'u2', 'u3']);
    expect(packingDigest(a.packing())).toBe(packingDigest(b.packing()));
    expect(servedUes(b.packing())).toEqual(new Set(['u1', 'u2', 'u3']));
  });

  it('after the last reconnect, forgets the workers that did not announce themselves again, once', () => {
    const view = new FleetView(prefix, { id: 'w1', units: 2 });
    view.apply(`${prefix}/edge/w2/status`, status('online', 2));
    view.apply(`${prefix}/edge/w3/status`, status('online', 2));
    expect(view.dropUnconfirmed(0)).toBeUndefined();
    const first = view.reconnected();
    const second = view.reconnected();
    view.apply(`${prefix}/edge/w2/status`, status('online', 2));
    // The first reconnect's grace period ending forgets nothing: the second one decides.
    expect(view.dropUnconfirmed(first)).toBeUndefined();
    expect(view.dropUnconfirmed(second)).toEqual({ changed: true, dropped: ['w3'], kept: ['w2'] });
    expect(view.dropUnconfirmed(second)).toBeUndefined();
    expect(
      view
        .onlineWorkers()
        .map((w) => w.id)
        .sort(),
    ).toEqual(['w1', 'w2']);
  });

  it('keeps decisions newer than the record and drops older ones it lacks', () => {
    const view = new FleetView(prefix, { id: 'w1', units: 4 });
    view.apply(`${prefix}/ue/u1/decision`, decision(3, 7));
    view.apply(`${prefix}/ue/u2/decision`, decision(1, 6));
    view.apply(`${prefix}/ue/u3/decision`, decision(2, 2));
    const record = recorded(6, [
      ['u1', 1, 5],
      ['u3', 1, 4],
    ]);
    view.applySnapshot(record);
    // u1's epoch 7 arrived after the record (epoch 6): kept. u2 (epoch 6) is not in it: cleared.
    expect(view.unitsOf('u1')).toBe(3);
    expect(view.ues().sort()).toEqual(['u1', 'u3']);
    expect(view.unitsOf('u3')).toBe(1);
  });
});

describe('Semaphore', () => {
  it('hands slots out in FIFO order and never above its capacity', async () => {
    const slots = new Semaphore(2);
    const first = await slots.acquire();
    await slots.acquire();
    const order: number[] = [];
    const third = slots.acquire().then((release) => {
      order.push(3);
      return release;
    });
    const fourth = slots.acquire().then(() => order.push(4));
    expect(slots.inUse).toBe(2);
    expect(slots.pending).toBe(2);
    first();
    first();
    (await third)();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(slots.inUse).toBe(2);
  });
});

describe('tail jobs', () => {
  it('validates job data from Redis', () => {
    expect(parseTailJobData(job()).ok).toBe(true);
    const bad = parseTailJobData(job({ cut: -1, requestId: 'no spaces' }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.issues.join('\n')).toContain('job.data.cut');
  });

  it('reads float32 bytes at any offset, copying only when misaligned', () => {
    for (const offset of [0, 1, 2, 3, 4]) {
      const bytes = inputBytes(2, offset);
      const tensor = tensorFromBytes(bytes, defined(modelCuts('tiny-cnn')[2], 'cut 2').shape);
      expect(tensor.data[7]).toBeCloseTo(1, 6);
      expect(tensor.data.buffer === bytes.buffer).toBe(bytes.byteOffset % 4 === 0);
    }
    expect(() => tensorFromBytes(Buffer.alloc(6), [2])).toThrow(TailJobError);
  });

  it('runs the tail to the output and times it', async () => {
    const data = parseTailJobData(job());
    if (!data.ok) throw data.error;
    const result = await runTailJob(data.value, context(inputBytes(2)), 2500);
    expect(result).toMatchObject({
      requestId: 'r1',
      epoch: 3,
      cut: 2,
      sample: 0,
      worker: 'edge-1',
    });
    expect(result.tensor.shape).toEqual([1, 10]);
    expect(result.tensor.data).toHaveLength(10);
    expect(result.timings.queueMs).toBe(500);
  });

  it('refuses a missing tensor, an unserved model and a cut at the output', async () => {
    const parse = (overrides: Record<string, unknown> = {}) => {
      const data = parseTailJobData(job(overrides));
      if (!data.ok) throw data.error;
      return data.value;
    };
    await expect(runTailJob(parse(), context(null), 0)).rejects.toMatchObject({
      failure: 'tensorMissing',
      code: 'TENSOR_MISSING',
    });
    await expect(runTailJob(parse(), context(inputBytes(2), ['alexnet']), 0)).rejects.toMatchObject(
      { failure: 'modelNotServed' },
    );
    const last = modelCuts('tiny-cnn').length - 1;
    const { shape } = defined(modelCuts('tiny-cnn')[last], "tiny-cnn's output cut");
    const output = parse({ cut: last, shape: [...shape] });
    await expect(runTailJob(output, context(inputBytes(last)), 0)).rejects.toMatchObject({
      failure: 'segment',
    });
  });
});
