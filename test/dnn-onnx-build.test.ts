import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool,
  batchnorm,
  buildSegment,
  concat,
  conv,
  dropout,
  fc,
  flatten,
  getModel,
  getModelProfile,
  listModels,
  loadSpecModel,
  loadZooModel,
  lrn,
  MODEL_DIR_ENV,
  ModelShapeError,
  type ModelSpec,
  maxpool,
  modelStoreRoot,
  openSegmentSession,
  profileModel,
  relu,
  relu6,
  residual,
  SegmentError,
  softmax,
  toNumber,
  WeightGenerator,
  ZOO_OPSET,
  zooModelKey,
} from '../dnn/index.js';
import { defined, mapGet } from '../runtime/defined.js';
import { maxAbsDiff } from './dnn-onnx-helpers.js';

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'edgesplit-models-'));
  roots.push(root);
  return root;
}
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** BN running statistics and shared scalars are buffers, not parameters. */
const isParameter = (name: string) =>
  !/\.running_(mean|var)$/.test(name) && !name.startsWith('const/');

describe('zoo models as ONNX graphs', () => {
  it.each(listModels())(
    '%s has exactly the parameters of its table, stored externally and page-aligned',
    async (name) => {
      const model = await loadZooModel(name);
      const graph = defined(model.proto.graph, `the graph of ${name}`);
      let params = 0;
      for (const tensor of graph.initializer ?? []) {
        const count = (tensor.dims ?? []).map(toNumber).reduce((a, b) => a * b, 1);
        if (isParameter(tensor.name ?? '')) params += count;
        const offset = tensor.externalData?.find((e) => e.key === 'offset')?.value;
        if (count * 4 >= 1024) expect(Number(offset) % 4096, tensor.name ?? '').toBe(0);
        else expect(tensor.rawData?.length, tensor.name ?? '').toBe(count * 4);
      }
      expect(params).toBe(getModelProfile(name).paramCount);
      expect(toNumber(model.proto.opsetImport?.[0]?.version ?? 0)).toBe(ZOO_OPSET);
      expect(graph.input?.map((v) => v.name)).toEqual(['input']);
      expect(graph.output?.map((v) => v.name)).toEqual(['output']);
      expect((graph.node ?? []).every((node) => node.name)).toBe(true);
    },
  );

  it('builds the same bytes from the same seed, and other weights from another seed', async () => {
    const [a, b, c] = [await freshRoot(), await freshRoot(), await freshRoot()];
    const first = await loadZooModel('squeezenet1.1', { root: a });
    const again = await loadZooModel('squeezenet1.1', { root: b });
    const other = await loadZooModel('squeezenet1.1', { root: c, seed: 2 });
    // Buffer.equals: a deep toEqual over megabytes takes tens of seconds.
    const same = (x: string, y: string, file: string) =>
      readFileSync(join(x, file)).equals(readFileSync(join(y, file)));
    for (const file of ['model.onnx', 'weights.bin', 'cuts.json'])
      expect(same(first.dir, again.dir, file), file).toBe(true);
    expect(same(first.dir, other.dir, 'weights.bin')).toBe(false);

    const input = {
      dtype: 'float32' as const,
      shape: [1, 3, 224, 224],
      data: new WeightGenerator(3).uniform('x', 3 * 224 * 224, 1),
    };
    const run = async (model: typeof first) => {
      const session = await openSegmentSession(buildSegment(model, 0, model.cuts.length - 1));
      const out = await session.run(input);
      await session.close();
      return out;
    };
    const [x, y] = [await run(first), await run(other)];
    expect(y.shape).toEqual(x.shape);
    expect(maxAbsDiff(x, y)).toBeGreaterThan(1e-3);
  });

  it('builds a model once per store, even when asked for concurrently', async () => {
    const root = await freshRoot();
    const [one, two] = await Promise.all([
      loadZooModel('tiny-cnn', { root }),
      loadZooModel('tiny-cnn', { root }),
    ]);
    expect(two.dir).toBe(one.dir);
    expect(readdirSync(root)).toEqual([zooModelKey(getModel('tiny-cnn'), 1)]);
    const built = statSync(join(one.dir, 'weights.bin')).mtimeMs;
    const later = await loadZooModel('tiny-cnn', { root });
    expect(statSync(join(later.dir, 'weights.bin')).mtimeMs).toBe(built);
  });

  it('keys stored models by table, seed and graph version', () => {
    const spec = getModel('tiny-cnn');
    const edited = {
      ...spec,
      blocks: [{ name: 'conv1', layers: [conv(4, 3, { pad: 1 })] }, ...spec.blocks.slice(1)],
    };
    expect(zooModelKey(spec, 1)).toMatch(/^tiny-cnn-seed1-g\d+-[0-9a-f]{12}$/);
    expect(zooModelKey(spec, 2)).not.toBe(zooModelKey(spec, 1));
    expect(zooModelKey(edited, 1)).not.toBe(zooModelKey(spec, 1));
  });

  it('keeps the store in EDGESPLIT_MODEL_DIR, else under the user cache', () => {
    expect(modelStoreRoot({ [MODEL_DIR_ENV]: '/srv/models' })).toBe('/srv/models');
    expect(modelStoreRoot({ XDG_CACHE_HOME: '/c' })).toBe('/c/edgesplit/models');
  });
});

/** Every op of the layer vocabulary, including the ones no zoo model uses (LRN, softmax). */
const everyOp: ModelSpec = {
  name: 'every-op',
  title: 'Every op',
  reference: 'test table',
  inputShape: [1, 3, 20, 20],
  blocks: [
    { name: 'a', layers: [conv(8, 3, { pad: 1 }), batchnorm(), relu6(), lrn(3)] },
    {
      name: 'b',
      layers: [conv(8, 3, { pad: 1, groups: 8, bias: false }), relu(), maxpool(3, 2, 1, true)],
    },
    { name: 'c', layers: [concat([conv(4, 1), relu()], [conv(4, 3, { pad: 1 })], [])] },
    { name: 'd', layers: [residual([conv(16, 3, { pad: 1, bias: false }), batchnorm()]), relu()] },
    {
      name: 'e',
      layers: [residual([conv(24, 3, { stride: 2, pad: 1 })], [conv(24, 1, { stride: 2 })])],
    },
    { name: 'f', layers: [adaptiveAvgPool(3), dropout(0.1)] },
    { name: 'g', layers: [dropout(0.5)] },
    { name: 'h', layers: [flatten(), fc(10, false), softmax()] },
  ],
};

describe('a table with every op', () => {
  it('builds a graph whose cuts have the table shapes and split exactly', async () => {
    const model = await loadSpecModel(everyOp, { root: await freshRoot() });
    const table = profileModel(everyOp).cuts;
    const last = model.cuts.length - 1;
    const input = {
      dtype: 'float32' as const,
      shape: [1, 3, 20, 20],
      data: new WeightGenerator(8).uniform('x', 1200, 1),
    };
    const inner = model.cuts.slice(1, last).map((cut) => cut.tensor);
    const full = await openSegmentSession(buildSegment(model, 0, last, { alsoOutput: inner }));
    const outputs = await full.runAll(input);
    await full.close();
    for (const cut of table.slice(1))
      expect(outputs.get(cut.name)?.shape, cut.name).toEqual(cut.shape);
    const output = mapGet(outputs, 'output', 'the output of the full run');
    const probabilities = output.data;
    expect(probabilities.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 5);
    for (let p = 1; p < last; p++) {
      const head = await openSegmentSession(buildSegment(model, 0, p));
      const tail = await openSegmentSession(buildSegment(model, p, last));
      const result = await tail.run(await head.run(input));
      await Promise.all([head.close(), tail.close()]);
      expect(maxAbsDiff(result, output), model.cuts[p]?.name).toBeLessThan(1e-6);
    }
  });

  it('rejects an adaptive pool with uneven windows, which ONNX has no single op for', async () => {
    const uneven: ModelSpec = {
      ...everyOp,
      name: 'uneven',
      blocks: [{ name: 'pool', layers: [adaptiveAvgPool(7)] }],
    };
    await expect(loadSpecModel(uneven, { root: await freshRoot() })).rejects.toThrow(
      ModelShapeError,
    );
  });
});

describe('segments', () => {
  it('refuses bad cut ranges and inputs of the wrong size, and runs inputs that are views', async () => {
    const model = await loadZooModel('tiny-cnn');
    const last = model.cuts.length - 1;
    for (const [from, to] of [
      [2, 2],
      [3, 1],
      [-1, 2],
      [0, last + 1],
      [0.5, 2],
    ] as const)
      expect(() => buildSegment(model, from, to)).toThrow(SegmentError);
    const session = await openSegmentSession(buildSegment(model, 0, 2));
    const wrong = { dtype: 'float32' as const, shape: [1, 3], data: new Float32Array(3) };
    await expect(session.run(wrong)).rejects.toThrow(/expects 3072 elements at cut 0/);
    // Decoded messages hand over views into larger buffers: those run like copies.
    const data = new WeightGenerator(1).uniform('x', 3072, 1);
    const padded = new Float32Array(3072 + 16);
    padded.set(data, 8);
    const shape = [1, 3, 32, 32];
    const copy = await session.run({ dtype: 'float32', shape, data });
    const view = await session.run({ dtype: 'float32', shape, data: padded.subarray(8, 3080) });
    expect(maxAbsDiff(view, copy)).toBe(0);
    await session.close();
  });
});

describe('WeightGenerator', () => {
  it('draws the same values for the same seed and name, whatever else was drawn first', () => {
    const a = new WeightGenerator(9);
    const first = a.uniform('w', 1000, 0.5, 1);
    a.uniform('other', 77, 1);
    expect(new WeightGenerator(9).uniform('w', 1000, 0.5, 1)).toEqual(first);
    expect(new WeightGenerator(10).uniform('w', 1000, 0.5, 1)).not.toEqual(first);
    expect(Math.min(...first)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...first)).toBeLessThan(1.5);
    const mean = first.reduce((s, v) => s + v, 0) / first.length;
    expect(Math.abs(mean - 1)).toBeLessThan(0.05);
  });

  it('continues a stream across chunks exactly as one fill', () => {
    const generator = new WeightGenerator(4);
    const whole = new Float32Array(10_000);
    generator.stream('t', 1).fill(whole);
    const stream = generator.stream('t', 1);
    const parts = new Float32Array(10_000);
    stream.fill(parts.subarray(0, 3333));
    stream.fill(parts.subarray(3333));
    expect(parts).toEqual(whole);
  });
});
