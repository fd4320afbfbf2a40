import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { elementCount } from '../layer-cost.js';
import { BYTES_PER_ELEMENT } from '../profile.js';
import { OnnxImportError } from './errors.js';
import { findCutCandidates, topologicalOrder } from './graph-analysis.js';
import {
  checkInput,
  checkOutput,
  cutNames,
  type ImportedInput,
  parseModel,
} from './import-checks.js';
import {
  ensureStored,
  modelStoreRoot,
  readStoredModel,
  WEIGHTS_FILE,
  writeStoredModel,
} from './model-store.js';
import type { OnnxCut, OnnxModel } from './onnx-model.js';
import { EXTERNAL, encodeModel, type onnx } from './schema.js';
import { extractSubmodel } from './segment.js';
import { loadRuntime, runtimeOptions } from './segment-session.js';
import { WeightFile } from './weight-file.js';
import { WeightGenerator } from './weights.js';

export interface ImportOptions {
  /** Folder of the model store. @defaultValue {@link modelStoreRoot}() */
  readonly root?: string;
}

const entry = (tensor: onnx.ITensorProto, key: string): string | undefined =>
  tensor.externalData?.find((e) => e.key === key)?.value ?? undefined;

/** The file an external tensor points to; it must stay inside the model's folder. */
function externalPath(file: string, tensor: onnx.ITensorProto): string {
  const location = entry(tensor, 'location') ?? '';
  const base = dirname(resolve(file));
  const path = resolve(base, location);
  const inside = relative(base, path);
  if (location === '' || inside.startsWith('..') || isAbsolute(inside))
    throw new OnnxImportError(
      file,
      'graph',
      `initializer "${tensor.name}" points outside the model's folder ("${location}")`,
    );
  return path;
}

function readExternal(file: string, tensor: onnx.ITensorProto): Uint8Array {
  const path = externalPath(file, tensor);
  try {
    const offset = Number(entry(tensor, 'offset') ?? 0);
    const fd = openSync(path, 'r');
    try {
      const declared = entry(tensor, 'length');
      const length = declared === undefined ? fstatSync(fd).size - offset : Number(declared);
      const bytes = Buffer.alloc(length);
      const read = readSync(fd, bytes, 0, length, offset);
      if (read !== length) throw new Error(`${read} of ${length} bytes at offset ${offset}`);
      return bytes;
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OnnxImportError(
      file,
      'unreadable',
      `cannot read the external data of "${tensor.name}" (${reason})`,
      { cause: error },
    );
  }
}

/** Moves every large initializer (inline or in the source's external files) into `dir`. */
function externalize(file: string, graph: onnx.IGraphProto, dir: string): onnx.ITensorProto[] {
  const fd = openSync(join(dir, WEIGHTS_FILE), 'w');
  try {
    const weights = new WeightFile(fd, WEIGHTS_FILE);
    return (graph.initializer ?? []).map((tensor) => {
      if (tensor.dataLocation === EXTERNAL) {
        const { externalData: _where, dataLocation: _how, ...rest } = tensor;
        return weights.addBytes(rest, readExternal(file, tensor));
      }
      if (tensor.rawData && tensor.rawData.length > 0)
        return weights.addBytes(tensor, tensor.rawData);
      return tensor;
    });
  } finally {
    closeSync(fd);
  }
}

/** Store key: the file's name and a digest of its bytes and of its external files' identity. */
async function importKey(file: string, bytes: Uint8Array, graph: onnx.IGraphProto) {
  const hash = createHash('sha256').update(bytes);
  for (const tensor of graph.initializer ?? []) {
    if (tensor.dataLocation !== EXTERNAL) continue;
    const path = externalPath(file, tensor);
    const info = await stat(path).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      throw new OnnxImportError(file, 'unreadable', `cannot read external data (${reason})`);
    });
    hash.update(`${entry(tensor, 'location')}:${info.size}:${info.mtimeMs}`);
  }
  const name = modelName(file);
  return { name, key: `import-${name}-${hash.digest('hex').slice(0, 16)}` };
}

/** The file's base name as a model id: `[A-Za-z0-9._-]`, at most 64 characters. */
export function modelName(file: string): string {
  const base = basename(file).replace(/\.onnx$/i, '');
  return base.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'model';
}

/**
 * Runs the model once on a seeded input with every candidate tensor as an output: this gives
 * each one's element type and shape, and keeps the float32 ones as cuts.
 */
async function probeCuts(
  file: string,
  dir: string,
  proto: onnx.IModelProto,
  input: ImportedInput,
  candidates: readonly { tensor: string; producer: onnx.INodeProto | undefined }[],
): Promise<OnnxCut[]> {
  const outputs = candidates.slice(1).map(({ tensor }) => ({ tensor }));
  const probe = extractSubmodel(proto, input, outputs);
  const ort = await loadRuntime();
  const data = new WeightGenerator(0).uniform('probe', elementCount(input.shape), 1);
  let results: InferenceSession.ReturnType;
  try {
    const session = await ort.InferenceSession.create(encodeModel(probe), runtimeOptions(dir));
    try {
      results = await session.run({
        [input.tensor]: new ort.Tensor('float32', data, [...input.shape]),
      });
    } finally {
      await session.release();
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OnnxImportError(file, 'runtime', `ONNX Runtime cannot run it: ${reason}`, {
      cause: error,
    });
  }
  const kept = candidates.filter(
    ({ tensor }, index) => index === 0 || results[tensor]?.type === 'float32',
  );
  const last = candidates[candidates.length - 1]!;
  if (kept[kept.length - 1] !== last)
    throw new OnnxImportError(
      file,
      'outputs',
      `output "${last.tensor}" is ${results[last.tensor]?.type ?? 'missing'}; only float32 outputs can be split`,
    );
  const names = cutNames(kept.map(({ producer }) => producer));
  return kept.map(({ tensor }, index) => {
    const shape = index === 0 ? input.shape : [...results[tensor]!.dims];
    return { name: names[index]!, tensor, shape, bytes: elementCount(shape) * BYTES_PER_ELEMENT };
  });
}

/**
 * Reads an ONNX file and makes it splittable like a zoo model: finds its cuts (places in the
 * node order where exactly one activation tensor is alive), names each after the node that
 * produces its tensor, measures their shapes with one run, and keeps the graph, its weights
 * and the cut list in the model store (keyed by the file's contents). Throws
 * {@link OnnxImportError} for a file that is not ONNX or cannot be split.
 */
export async function importModel(file: string, options: ImportOptions = {}): Promise<OnnxModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OnnxImportError(file, 'unreadable', `cannot read it (${reason})`, { cause: error });
  }
  const proto = parseModel(file, bytes);
  const graph = proto.graph!;
  const input = checkInput(file, graph);
  const output = checkOutput(file, graph);
  const order = topologicalOrder(graph);
  if (typeof order === 'string') throw new OnnxImportError(file, 'graph', order);
  const candidates = findCutCandidates(graph, order);
  if (candidates[0]?.tensor !== input.tensor || candidates.length < 2)
    throw new OnnxImportError(
      file,
      'graph',
      `the output does not depend on input "${input.tensor}"`,
    );
  if (candidates[candidates.length - 1]!.tensor !== output)
    throw new OnnxImportError(file, 'outputs', `output "${output}" is not computed from the input`);

  const { name, key } = await importKey(file, bytes, graph);
  const dir = await ensureStored(options.root ?? modelStoreRoot(), key, async (tmp) => {
    const stored: onnx.IModelProto = {
      ...proto,
      graph: { ...graph, node: order, initializer: externalize(file, graph, tmp) },
    };
    const cuts = await probeCuts(file, tmp, stored, input, candidates);
    await writeStoredModel(tmp, name, stored, cuts);
  });
  return readStoredModel(dir);
}
