import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildSegment,
  encodeModel,
  exportModel,
  importModel,
  listModels,
  loadZooModel,
  modelCuts,
  OnnxImportError,
  type OnnxImportProblem,
  type OnnxModel,
  onnx,
  openSegmentSession,
  WeightGenerator,
} from '../dnn/index.js';
import type { Tensor } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { runCli } from './cli-run.js';
import { maxAbsDiff } from './dnn-onnx-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'edgesplit-import-'));
const root = join(work, 'store');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function seededInput(model: OnnxModel): Tensor {
  const first = defined(model.cuts[0], `the input cut of ${model.name}`);
  const data = new WeightGenerator(5).uniform('import-input', first.bytes / 4, 1);
  return { dtype: 'float32', shape: [...first.shape], data };
}

async function runSegment(model: OnnxModel, from: number, to: number, input: Tensor) {
  const session = await openSegmentSession(buildSegment(model, from, to));
  try {
    return await session.run(input);
  } finally {
    await session.close();
  }
}

type Dim = number | string;
const info = (name: string, dims: readonly Dim[], elemType = onnx.TensorProto.DataType.FLOAT) => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

/**
 * x -> relu1 -> (neg, sigmoid) -> add -> scale (by a Constant node) -> fc (MatMul) -> y, with
 * the nodes stored out of order and a dynamic batch dimension.
 */
function branchyGraph(input = info('x', ['N', 4])): Uint8Array {
  const weights = Float32Array.from([1, -1, 0.5, 2, -0.5, 1, 0.25, -2]);
  const node = (
    name: string,
    opType: string,
    input: string[],
    output: string[],
    attribute = [],
  ) => ({
    name,
    opType,
    input,
    output,
    attribute,
  });
  return encodeModel({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'branchy',
      node: [
        node('add', 'Add', ['b1', 'b2'], ['c']),
        node('relu1', 'Relu', ['x'], ['a']),
        node('neg', 'Neg', ['a'], ['b1']),
        node('sig', 'Sigmoid', ['a'], ['b2']),
        {
          ...node('const', 'Constant', [], ['k']),
          attribute: [
            {
              name: 'value',
              type: onnx.AttributeProto.AttributeType.TENSOR,
              t: { dims: [], dataType: 1, floatData: [3] },
            },
          ],
        },
        node('scale', 'Mul', ['c', 'k'], ['d']),
        node('fc', 'MatMul', ['d', 'w'], ['y']),
      ],
      initializer: [
        { name: 'w', dims: [4, 2], dataType: 1, rawData: new Uint8Array(weights.buffer) },
      ],
      input: [input],
      output: [info('y', ['N', 2])],
    },
  });
}

function writeFixture(name: string, bytes: Uint8Array | string): string {
  const file = join(work, name);
  writeFileSync(file, bytes);
  return file;
}

describe('importModel on zoo models written to ONNX files', () => {
  it.each(listModels())(
    '%s: the cuts found include every zoo cut, with the table shape and bytes',
    async (name) => {
      const zoo = await loadZooModel(name);
      const file = join(work, `${name}.onnx`);
      await exportModel(zoo, file);
      const imported = await importModel(file, { root });
      rmSync(file);
      expect(imported.name).toBe(name);
      const found = new Map(imported.cuts.map((cut, index) => [cut.name, { cut, index }]));
      let previous = -1;
      for (const cut of modelCuts(name)) {
        const match = defined(found.get(cut.name), `${name}: cut ${cut.name}`);
        expect(match.cut.shape).toEqual(cut.shape);
        expect(match.cut.bytes).toBe(cut.bytes);
        expect(match.index).toBeGreaterThan(previous);
        previous = match.index;
      }
      // Same weights, same graph: the imported model computes what the zoo model computes.
      const input = seededInput(zoo);
      const expected = await runSegment(zoo, 0, zoo.cuts.length - 1, input);
      const last = imported.cuts.length - 1;
      const halfway = defined(zoo.cuts[Math.floor(zoo.cuts.length / 2)], 'the middle cut');
      const middle = defined(found.get(halfway.name), `${name}: cut ${halfway.name}`).index;
      const head = await runSegment(imported, 0, middle, input);
      const output = await runSegment(imported, middle, last, head);
      expect(maxAbsDiff(output, expected)).toBeLessThan(1e-4);
    },
    600_000,
  );
});

describe('importModel on a model with external data', () => {
  it('reads the weights file next to the graph, as the model store keeps them', async () => {
    const zoo = await loadZooModel('resnet18');
    const imported = await importModel(join(zoo.dir, 'model.onnx'), { root });
    const names = imported.cuts.map((cut) => cut.name);
    for (const cut of modelCuts('resnet18')) expect(names).toContain(cut.name);
    const input = seededInput(zoo);
    const last = (m: OnnxModel) => m.cuts.length - 1;
    expect(
      maxAbsDiff(
        await runSegment(imported, 0, last(imported), input),
        await runSegment(zoo, 0, last(zoo), input),
      ),
    ).toBe(0);
  });
});

describe('importModel on a graph with branches', () => {
  it('finds cuts only where one activation is alive, never inside the branch', async () => {
    const model = await importModel(writeFixture('branchy.onnx', branchyGraph()), { root });
    expect(model.name).toBe('branchy');
    expect(model.cuts.map((cut) => [cut.name, cut.tensor, cut.shape, cut.bytes])).toEqual([
      ['input', 'x', [1, 4], 16],
      ['relu1', 'a', [1, 4], 16],
      ['add', 'c', [1, 4], 16],
      ['scale', 'd', [1, 4], 16],
      ['output', 'y', [1, 2], 8],
    ]);
  });

  it('runs head then tail at every cut like the whole graph, Constant nodes included', async () => {
    const model = await importModel(writeFixture('branchy.onnx', branchyGraph()), { root });
    const input: Tensor = { dtype: 'float32', shape: [1, 4], data: Float32Array.of(-1, 0.5, 2, 0) };
    const last = model.cuts.length - 1;
    const whole = await runSegment(model, 0, last, input);
    // By hand: a = relu(x); c = -a + sigmoid(a); d = 3c; y = d · w.
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    const d = [...input.data].map((x) => 3 * (-Math.max(x, 0) + sigmoid(Math.max(x, 0))));
    const w = [1, -1, 0.5, 2, -0.5, 1, 0.25, -2];
    const y = [0, 1].map((j) =>
      d.reduce((sum, v, i) => sum + v * defined(w[2 * i + j], `weight ${2 * i + j}`), 0),
    );
    expect(
      maxAbsDiff(whole, { dtype: 'float32', shape: [1, 2], data: Float32Array.from(y) }),
    ).toBeLessThan(1e-5);
    for (let p = 1; p < last; p++) {
      const head = await runSegment(model, 0, p, input);
      expect(maxAbsDiff(await runSegment(model, p, last, head), whole)).toBe(0);
    }
  });
});

describe('importModel errors', () => {
  const cases: [string, OnnxImportProblem, () => Uint8Array | string, RegExp][] = [
    ['a file that is not ONNX', 'not-onnx', () => 'name,value\nx,1\n', /not an ONNX model/],
    ['an empty file', 'not-onnx', () => new Uint8Array(0), /not an ONNX model/],
    [
      'an int64 input',
      'non-float-input',
      () => branchyGraph(info('x', ['N', 4], onnx.TensorProto.DataType.INT64)),
      /input "x" is INT64; only float32/,
    ],
    [
      'a dynamic dimension besides the batch',
      'dynamic-dim',
      () => branchyGraph(info('x', ['N', 'features'])),
      /dynamic dimension at axis 1 \("features"\)/,
    ],
  ];

  it('rejects external data outside the model folder', async () => {
    const proto = onnx.ModelProto.decode(branchyGraph());
    const graph = defined(proto.graph, 'the graph');
    graph.initializer = [
      {
        name: 'w',
        dims: [4, 2],
        dataType: onnx.TensorProto.DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [{ key: 'location', value: '../../etc/passwd' }],
      },
    ];
    const file = writeFixture('escape.onnx', encodeModel(proto));
    await expect(importModel(file, { root })).rejects.toThrow(/points outside the model's folder/);
  });

  it.each(cases)('rejects %s', async (_label, problem, bytes, message) => {
    const file = writeFixture(`bad-${problem}.onnx`, bytes());
    const error = await importModel(file, { root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OnnxImportError);
    expect((error as OnnxImportError).problem).toBe(problem);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(file);
  });

  it.each(cases)('`edgesplit model import` exits 2 on %s', (_label, problem, bytes, message) => {
    const file = writeFixture(`cli-${problem}.onnx`, bytes());
    const { code, stderr, stdout } = runCli(['model', 'import', file], undefined, {
      ...process.env,
      EDGESPLIT_MODEL_DIR: root,
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });
});

describe('edgesplit model', () => {
  const env = { ...process.env, EDGESPLIT_MODEL_DIR: root };

  it('exports a zoo model, imports it, prints its cuts and writes head and tail files', async () => {
    const file = join(work, 'tiny.onnx');
    expect(runCli(['model', 'export', 'tiny-cnn', file], undefined, env).code).toBe(0);
    const out = join(work, 'tiny-cuts.json');
    const result = runCli(
      ['model', 'import', file, '--json', '--out', out, '--split', 'res3', '--segments-dir', work],
      undefined,
      env,
    );
    expect(result.stderr).toContain('tiny.res3.head.onnx');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { cuts: { name: string; bytes: number }[] };
    const names = printed.cuts.map((cut) => cut.name);
    for (const cut of modelCuts('tiny-cnn')) expect(names).toContain(cut.name);
    expect(printed.cuts.find((cut) => cut.name === 'res3')?.bytes).toBe(16 * 16 * 16 * 4);
    // The head and tail files are ONNX models in their own right: importing them gives the
    // model's cuts up to and from `res3`.
    const head = await importModel(join(work, 'tiny.res3.head.onnx'), { root });
    const tail = await importModel(join(work, 'tiny.res3.tail.onnx'), { root });
    expect(head.cuts.at(-1)?.shape).toEqual([1, 16, 16, 16]);
    expect(tail.cuts[0]?.shape).toEqual([1, 16, 16, 16]);
    expect(tail.cuts.at(-1)?.shape).toEqual([1, 10]);
  });

  it('rejects an unknown cut to split at and an unknown zoo model with exit code 2', () => {
    const file = join(work, 'tiny.onnx');
    const split = runCli(['model', 'import', file, '--split', 'nope'], undefined, env);
    expect(split.code).toBe(2);
    expect(split.stderr).toMatch(/"nope" is not a cut/);
    const exported = runCli(['model', 'export', 'resnet50', join(work, 'x.onnx')], undefined, env);
    expect(exported.code).toBe(2);
    expect(exported.stderr).toMatch(/unknown model "resnet50"/);
  });
});

describe('`edgesplit model import` refuses files that declare too much or reach outside', () => {
  const W = Float32Array.from([1, -1, 0.5, 2, -0.5, 1, 0.25, -2]);
  const wBytes = new Uint8Array(W.buffer);

  /** A fresh model store, and the CLI run against it. */
  function importCli(file: string, ...flags: string[]) {
    const store = mkdtempSync(join(work, 'store-'));
    const result = runCli(['model', 'import', file, ...flags], undefined, {
      ...process.env,
      EDGESPLIT_MODEL_DIR: store,
    });
    const stored = existsSync(store) ? readdirSync(store) : [];
    return { ...result, stored };
  }

  /** branchy with its weight `w` as external data (`entries` besides `location`). */
  function externalWeights(location: string, entries: Record<string, string> = {}, dims = [4, 2]) {
    const proto = onnx.ModelProto.decode(branchyGraph());
    defined(proto.graph, 'the graph').initializer = [
      {
        name: 'w',
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          ...Object.entries(entries).map(([key, value]) => ({ key, value })),
        ],
      },
    ];
    return encodeModel(proto);
  }

  /** A folder `name` under the work folder with `model.onnx` in it. */
  function modelFolder(name: string, model: Uint8Array): { dir: string; file: string } {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'model.onnx');
    writeFileSync(file, model);
    return { dir, file };
  }

  it('an input declared [1, 2^31, 2^31, 2^31]: exit 2 naming the input, its size, the limit and the flag, nothing stored', () => {
    const file = writeFixture(
      'huge-input.onnx',
      branchyGraph(info('x', ['N', 2 ** 31, 2 ** 31, 2 ** 31])),
    );
    const result = importCli(file);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      'input "x" [N, 2147483648, 2147483648, 2147483648] declares 3.96e+28 bytes',
    );
    expect(result.stderr).toContain(
      'above the tensor size limit of 64 MiB (raise it with --max-tensor-mib)',
    );
    expect(result.stderr).not.toMatch(/RangeError|\n\s+at /);
    expect(result.stored).toEqual([]);
  });

  it('a 1 GiB input in a file of a few hundred bytes: exit 2 naming its size, nothing stored', () => {
    const bytes = branchyGraph(info('x', ['N', 2 ** 28]));
    expect(bytes.length).toBeLessThan(400);
    const result = importCli(writeFixture('gib-input.onnx', bytes));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('input "x" [N, 268435456] declares 1024 MiB');
    expect(result.stderr).toContain('--max-tensor-mib');
    expect(result.stored).toEqual([]);
  });

  it('--max-tensor-mib sets the limit: the 16-byte input is refused below 16 bytes and imported at the default', () => {
    const file = writeFixture('small-input.onnx', branchyGraph());
    const refused = importCli(file, '--max-tensor-mib', '0.00001');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'input "x" [N, 4] declares 16 bytes, above the tensor size limit of 10 bytes',
    );
    expect(importCli(file).code).toBe(0);
  });

  it('an initializer declared [2^20, 2^20] with a 32-byte weights file: exit 2 on the model limit before reading it', () => {
    const { dir, file } = modelFolder(
      'huge-weight',
      externalWeights('w.bin', {}, [2 ** 20, 2 ** 20]),
    );
    writeFileSync(join(dir, 'w.bin'), wBytes);
    const result = importCli(file);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /initializers up to "w" \[1048576, 1048576\] \(4194304 MiB\) declare \d+ bytes, above the model size limit of 1024 MiB \(raise it with --max-model-mib\)/,
    );
    expect(result.stored).toEqual([]);
  });

  it('an inline initializer declared [2^20, 2^20] holding 32 bytes: exit 2 on the model limit', () => {
    const proto = onnx.ModelProto.decode(branchyGraph());
    defined(proto.graph, 'the graph').initializer = [
      { name: 'w', dims: [2 ** 20, 2 ** 20], dataType: 1, rawData: wBytes },
    ];
    const result = importCli(writeFixture('huge-inline.onnx', encodeModel(proto)));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /initializers up to "w" \[1048576, 1048576\] \(4194304 MiB\) declare \d+ bytes, above the model size limit of 1024 MiB/,
    );
    expect(result.stored).toEqual([]);
  });

  it('--max-model-mib sets the model limit: a file above it is refused', () => {
    const file = writeFixture('model-limit.onnx', branchyGraph());
    const result = importCli(file, '--max-model-mib', '0.0001');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /the file is \d+ bytes, above the model size limit of 104 bytes \(raise it with --max-model-mib\)/,
    );
  });

  it('external data whose length runs past its file, or disagrees with its dims: exit 2, nothing stored', () => {
    const past = modelFolder('past-end', externalWeights('w.bin', { offset: '16' }));
    writeFileSync(join(past.dir, 'w.bin'), wBytes);
    const pastResult = importCli(past.file);
    expect(pastResult.code).toBe(2);
    expect(pastResult.stderr).toContain(
      'external data of "w": 16 bytes where its dims [4, 2] need 32',
    );
    const long = modelFolder('too-long', externalWeights('w.bin', { length: '4096' }));
    writeFileSync(join(long.dir, 'w.bin'), wBytes);
    const longResult = importCli(long.file);
    expect(longResult.code).toBe(2);
    expect(longResult.stderr).toContain('4096 bytes at offset 0 run past the end');
    expect([...pastResult.stored, ...longResult.stored]).toEqual([]);
  });

  const secret = Float32Array.from([9, 9, 9, 9, 9, 9, 9, 9]);
  const outside = join(work, 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'secret.bin'), new Uint8Array(secret.buffer));

  it('a symbolic link in the model folder to a file outside it: exit 2 naming where it resolves, nothing stored', () => {
    const { dir, file } = modelFolder('link-file', externalWeights('w.bin'));
    symlinkSync(join(outside, 'secret.bin'), join(dir, 'w.bin'));
    const result = importCli(file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `initializer "w" points outside the model's folder ("w.bin" resolves to ${join(outside, 'secret.bin')})`,
    );
    expect(result.stored).toEqual([]);
  });

  it('a symbolic link to a folder outside, and a ".." path: exit 2, nothing stored', () => {
    const linked = modelFolder('link-dir', externalWeights('data/secret.bin'));
    symlinkSync(outside, join(linked.dir, 'data'));
    const viaDir = importCli(linked.file);
    expect(viaDir.code).toBe(2);
    expect(viaDir.stderr).toContain('"data/secret.bin" resolves to');
    const dotted = modelFolder('dot-dot', externalWeights('../outside/secret.bin'));
    const viaDots = importCli(dotted.file);
    expect(viaDots.code).toBe(2);
    expect(viaDots.stderr).toContain(
      'points outside the model\'s folder ("../outside/secret.bin")',
    );
    expect([...viaDir.stored, ...viaDots.stored]).toEqual([]);
  });

  it('a symbolic link that stays inside the model folder is followed: the model computes with those weights', async () => {
    const { dir, file } = modelFolder('link-inside', externalWeights('w.bin'));
    mkdirSync(join(dir, 'weights'));
    writeFileSync(join(dir, 'weights', 'real.bin'), wBytes);
    symlinkSync(join(dir, 'weights', 'real.bin'), join(dir, 'w.bin'));
    const result = importCli(file, '--json');
    expect(result.code).toBe(0);
    expect(result.stored).toHaveLength(1);
    const imported = await importModel(file, { root });
    const reference = await importModel(writeFixture('link-reference.onnx', branchyGraph()), {
      root,
    });
    const input: Tensor = { dtype: 'float32', shape: [1, 4], data: Float32Array.of(-1, 0.5, 2, 0) };
    const last = imported.cuts.length - 1;
    expect(
      maxAbsDiff(
        await runSegment(imported, 0, last, input),
        await runSegment(reference, 0, last, input),
      ),
    ).toBe(0);
  });
});
